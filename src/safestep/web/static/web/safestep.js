/* SafeStep's own script. Every page works without it; it only makes pages smoother:
   focus follows what changed after htmx swaps part of a page, failures are said out loud,
   and the "Print a summary" button appears. No inline script anywhere (strict CSP). */
(function () {
  "use strict";

  function focusMarked(root) {
    var target = (root || document).querySelector("[data-focus]");
    if (!target) {
      return;
    }
    target.removeAttribute("data-focus");
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: false });
  }

  function say(message) {
    var live = document.getElementById("live");
    if (!live || !message) {
      return;
    }
    var line = document.createElement("p");
    line.className = "message message-error";
    line.textContent = message;
    live.replaceChildren(line);
    live.scrollIntoView({ block: "nearest" });
  }

  function setUpPrint(root) {
    (root || document).querySelectorAll("[data-print]").forEach(function (button) {
      if (button.hasAttribute("data-ready")) {
        return;
      }
      button.setAttribute("data-ready", "");
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  // The concern form offers several student fieldsets; without JavaScript they all show.
  // With it, the empty ones wait behind "Add another student", which shows one at a time.
  function setUpMoreStudents(root) {
    var button = (root || document).querySelector("[data-add-student]");
    if (!button || button.hasAttribute("data-ready")) {
      return;
    }
    button.setAttribute("data-ready", "");
    var waiting = function () {
      return document.querySelectorAll("[data-extra-student][hidden]");
    };
    document.querySelectorAll("[data-extra-student][data-empty]").forEach(function (set) {
      set.hidden = true;
    });
    button.hidden = waiting().length === 0;
    button.addEventListener("click", function () {
      var next = waiting()[0];
      if (!next) {
        return;
      }
      next.hidden = false;
      var first = next.querySelector("input");
      if (first) {
        first.focus();
      }
      button.hidden = waiting().length === 0;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpPrint(document);
    setUpMoreStudents(document);
    focusMarked(document);
  });

  document.addEventListener("htmx:afterSettle", function () {
    setUpPrint(document);
    focusMarked(document);
  });

  document.addEventListener("htmx:responseError", function () {
    say(document.body.getAttribute("data-failed") || "");
  });

  document.addEventListener("htmx:sendError", function () {
    say(document.body.getAttribute("data-offline") || "");
  });
})();
