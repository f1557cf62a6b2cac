/* Folding on small screens: the main navigation behind "Menu", the case page's list of
   steps behind its own button. Each button says what it controls (aria-controls) and
   whether it is open (aria-expanded); the stylesheet folds what it controls only on small
   screens and only when scripts run, so without this file everything stays in view.
   Listeners sit on the document, so parts of a page swapped in by htmx work too. */
(function () {
  "use strict";

  function controlled(button) {
    return document.getElementById(button.getAttribute("aria-controls") || "");
  }

  function setOpen(button, open) {
    var target = controlled(button);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (target) {
      target.toggleAttribute("data-open", open);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fold-button]");
    if (button) {
      setOpen(button, button.getAttribute("aria-expanded") !== "true");
      return;
    }
    // Following a link to a place on the same page (a step) folds the list again.
    var link = event.target.closest("[data-fold] a[href^='#']");
    if (link) {
      var fold = link.closest("[data-fold]");
      var owner = document.querySelector("[data-fold-button][aria-controls='" + fold.id + "']");
      if (owner) {
        setOpen(owner, false);
      }
    }
  });

  // Escape folds an open list and gives the focus back to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var fold = event.target.closest ? event.target.closest("[data-fold][data-open]") : null;
    var button = fold
      ? document.querySelector("[data-fold-button][aria-controls='" + fold.id + "']")
      : event.target.closest && event.target.closest("[data-fold-button][aria-expanded='true']");
    if (button) {
      setOpen(button, false);
      button.focus();
    }
  });
})();
