/* The idle warning: a dialog before the session's idle timeout ends it, with "Stay signed
   in". Pages work without it: the server alone decides when a session ends, and a form sent
   after that is kept as a draft on the server and shown again after signing in.

   - The numbers come from this script's own tag (web/includes/session.html): how long the
     session has left, how long before the end to warn, and where to ask.
   - Before warning, the script asks the server how long is really left (GET, which is not
     activity): work in another window keeps the session alive, and then nothing shows.
   - "Stay signed in" (or Escape) POSTs with the CSRF token, which refreshes the session.
     Any request that reaches the server (an htmx form, a page) starts the count again.
   - When the session has ended: a page with nothing typed in its forms goes to the
     sign-in page (so a case does not stay on an unattended screen); otherwise the dialog
     says so, and the page stays, so that sending the form keeps what was typed.
   Nothing is kept in the browser's storage. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    return;
  }
  var config = script.dataset;
  var warnSeconds = Number(config.warnSeconds) || 120;
  var freshSeconds = Number(config.freshSeconds) || 60;
  var RETRY_MS = 15000;

  var deadline = 0; // when the session ends (ms since the epoch) unless something happens
  var checkTimer = null;
  var ticker = null;
  var dialog = null;
  var returnFocus = null;
  var typedIn = new Set(); // forms someone typed into since they were shown

  function formatLeft(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    var rest = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function signinAddress() {
    var query = new URLSearchParams({
      next: window.location.pathname + window.location.search,
      reason: "idle"
    });
    return config.signinUrl + "?" + query.toString();
  }

  function hasTyping() {
    var found = false;
    typedIn.forEach(function (form) {
      if (document.contains(form)) {
        found = true;
      }
    });
    return found;
  }

  // --- the dialog ---------------------------------------------------------------------

  function buildDialog() {
    var template = document.getElementById("session-dialog");
    if (!template) {
      return null;
    }
    var made = template.content.firstElementChild.cloneNode(true);
    document.body.appendChild(made);
    made.querySelector("[data-session-stay]").addEventListener("click", stay);
    made.querySelector("[data-session-close]").addEventListener("click", closeDialog);
    made.addEventListener("cancel", function (event) {
      // Escape: someone is at the keyboard. While warning, that is staying signed in.
      if (stateOf(made) === "warning") {
        event.preventDefault();
        stay();
      }
    });
    return made;
  }

  function stateOf(element) {
    var shown = element.querySelector("[data-session-state]:not([hidden])");
    return shown ? shown.getAttribute("data-session-state") : "";
  }

  function show(state) {
    dialog = dialog || buildDialog();
    if (!dialog) {
      return;
    }
    dialog.querySelectorAll("[data-session-state]").forEach(function (part) {
      part.hidden = part.getAttribute("data-session-state") !== state;
    });
    dialog.setAttribute("aria-labelledby", "session-" + state + "-heading");
    dialog.setAttribute("aria-describedby", "session-" + state + "-text");
    if (!dialog.open) {
      returnFocus = document.activeElement;
      dialog.showModal();
    }
    var button = dialog.querySelector(
      state === "warning" ? "[data-session-stay]" : "[data-session-close]"
    );
    if (button) {
      button.focus();
    }
  }

  function closeDialog() {
    clearInterval(ticker);
    if (dialog && dialog.open) {
      dialog.close();
      if (returnFocus && document.contains(returnFocus) && returnFocus.focus) {
        returnFocus.focus();
      }
    }
  }

  function tick() {
    var countdown = dialog && dialog.querySelector("[data-session-countdown]");
    if (countdown) {
      countdown.textContent = formatLeft(deadline - Date.now());
    }
  }

  // --- the timer ----------------------------------------------------------------------

  function schedule(secondsLeft) {
    deadline = Date.now() + secondsLeft * 1000;
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, Math.max(0, secondsLeft - warnSeconds) * 1000);
  }

  function ask(method) {
    var headers = { Accept: "application/json" };
    if (method === "POST") {
      headers["X-CSRFToken"] = config.csrfToken;
    }
    return fetch(config.sessionUrl, {
      method: method,
      headers: headers,
      credentials: "same-origin"
    }).then(function (response) {
      if (response.status === 401) {
        return null; // the session has ended
      }
      if (!response.ok) {
        throw new Error("session check: " + response.status);
      }
      return response.json();
    });
  }

  function check() {
    ask("GET")
      .then(function (answer) {
        if (answer === null || answer.seconds_left <= 0) {
          ended();
        } else if (answer.seconds_left > warnSeconds + 5) {
          // Someone used SafeStep in another window: the session has time left.
          closeDialog();
          schedule(answer.seconds_left);
        } else {
          warn(answer.seconds_left);
        }
      })
      .catch(function () {
        clearTimeout(checkTimer);
        checkTimer = setTimeout(check, RETRY_MS);
      });
  }

  function warn(secondsLeft) {
    deadline = Date.now() + secondsLeft * 1000;
    show("warning");
    tick();
    clearInterval(ticker);
    ticker = setInterval(tick, 1000);
    clearTimeout(checkTimer);
    // Past the end, ask again: it has ended, or another window kept it alive.
    checkTimer = setTimeout(check, secondsLeft * 1000 + 1000);
  }

  function stay() {
    ask("POST")
      .then(function (answer) {
        if (answer === null) {
          ended();
          return;
        }
        closeDialog();
        schedule(answer.seconds_left);
      })
      .catch(function () {
        clearTimeout(checkTimer);
        checkTimer = setTimeout(check, RETRY_MS);
      });
  }

  function ended() {
    clearTimeout(checkTimer);
    clearInterval(ticker);
    if (!hasTyping()) {
      window.location.assign(signinAddress());
      return;
    }
    show("ended");
  }

  function restart() {
    if (dialog && dialog.open && stateOf(dialog) === "ended") {
      return;
    }
    closeDialog();
    schedule(freshSeconds);
  }

  // --- what counts as activity ------------------------------------------------------------

  document.addEventListener("input", function (event) {
    var form = event.target && event.target.form;
    if (form && String(form.method).toLowerCase() === "post") {
      typedIn.add(form);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail && event.detail.xhr;
    // Any answer but 401 means the request reached a live session and refreshed it.
    if (xhr && xhr.status && xhr.status !== 401) {
      restart();
    }
  });

  document.addEventListener("visibilitychange", function () {
    // A laptop that slept runs its timers late: ask at once when the page is seen again.
    if (document.visibilityState === "visible" && Date.now() >= deadline - warnSeconds * 1000) {
      clearTimeout(checkTimer);
      check();
    }
  });

  schedule(Number(config.secondsLeft) || freshSeconds);
})();
