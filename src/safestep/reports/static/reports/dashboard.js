/* Draws the dashboard's charts from the JSON data block (not executed, so it passes a
   Content-Security-Policy without inline scripts). Each chart keeps its table: hidden from
   sight once the chart is drawn, still read by screen readers, and shown again on request. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") {
    return; // without the chart library the tables stay in view
  }
  var data = JSON.parse(source.textContent);
  var palette = ["#0b5cad", "#c25400", "#1d6b2f", "#6a3d9a", "#a4000f", "#555555"];

  function styled(datasets, kind) {
    return datasets.map(function (dataset, index) {
      var colour = palette[index % palette.length];
      return Object.assign({}, dataset, {
        backgroundColor: colour,
        borderColor: colour,
        fill: false,
        tension: 0
      });
    });
  }

  // The button's words come from the page, in the language the page is in.
  var words = document.getElementById("dashboard-words");
  var showWords = (words && words.dataset.show) || "Show the numbers";
  var hideWords = (words && words.dataset.hide) || "Hide the numbers";

  function addToggle(table) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "table-toggle";
    button.textContent = showWords;
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", function () {
      var shown = table.classList.toggle("visually-hidden") === false;
      button.textContent = shown ? hideWords : showWords;
      button.setAttribute("aria-expanded", shown ? "true" : "false");
    });
    table.parentNode.insertBefore(button, table);
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var name = canvas.getAttribute("data-chart");
    var kind = canvas.getAttribute("data-kind");
    var chartData = data[name];
    if (!chartData) {
      return;
    }
    var stacked = kind === "stacked";
    new window.Chart(canvas, {
      type: kind === "line" ? "line" : "bar",
      data: { labels: chartData.labels, datasets: styled(chartData.datasets, kind) },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: chartData.datasets.length > 1 } },
        scales: {
          x: { stacked: stacked },
          y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } }
        }
      }
    });
    var table = document.querySelector('table[data-table-for="' + name + '"]');
    if (table) {
      table.classList.add("visually-hidden");
      addToggle(table);
    }
  });
})();
