/* Focus follows what changed (WCAG 2.4.3, 3.3.1, 4.1.3).
 *
 * After a page load or an HTMX swap, the keyboard and screen-reader user is taken to what they need to read:
 * the error summary of a failed form first; else the first invalid field; else an element marked data-focus
 * or a status message (role=status); else, when the swap removed the focused element (focus fell to <body>),
 * the swapped region itself. Elements that are not focusable get tabindex=-1.
 */
(function () {
  "use strict";

  var TARGETS = ["[data-error-summary]", "[aria-invalid=true]", "[data-focus]", "[role=status]"];

  function focusIn(root, lostFocus) {
    for (var i = 0; i < TARGETS.length; i++) {
      var el = root.matches && root.matches(TARGETS[i]) ? root : root.querySelector(TARGETS[i]);
      // A status message only takes focus when the swap lost it: it is announced anyway (live region).
      if (el && (i < 3 || lostFocus)) return focus(el);
    }
    if (lostFocus && root !== document.body) focus(root);
  }

  function focus(el) {
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) el.setAttribute("tabindex", "-1");
    el.focus();
  }

  // What had focus when the request left: a swap only takes focus back if it took it from someone (a page
  // loading its help panel, with nothing focused yet, must not pull the reader there).
  var focusedAtRequest = null;
  document.addEventListener("htmx:beforeRequest", function () { focusedAtRequest = document.activeElement; });

  function focusLost() {
    var active = document.activeElement;
    var had = focusedAtRequest && focusedAtRequest !== document.body;
    return had && (!active || active === document.body || !document.body.contains(active));
  }

  // The event fires on each swapped-in element; should that one have left the page already, the request's
  // target id finds what replaced it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    var root = event.target;
    if (!root || !root.querySelector || !document.body.contains(root)) {
      var id = detail.target && detail.target.id;
      root = (id && document.getElementById(id)) || null;
    }
    if (!root || root === document.body) return;
    // A swap the person did not ask for (hx-trigger="load": help panels, previews) keeps focus where it is.
    var trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
    if (trigger && trigger.type === "load") return;
    if (root.closest && root.closest("[aria-live]") && !root.querySelector("[data-error-summary], [aria-invalid=true]")) return;
    focusIn(root, focusLost());
  });

  // Contextual help beside a page folds away on narrow screens, where it would push the page down; it stays
  // open (as the HTML says) on wide ones and without script.
  var narrow = window.matchMedia("(max-width: 50rem)");
  function foldHelp(root) {
    if (!narrow.matches || !root.querySelectorAll) return;
    root.querySelectorAll("details[data-fold-narrow]").forEach(function (d) { d.removeAttribute("open"); });
  }
  document.addEventListener("htmx:afterSwap", function (event) { foldHelp(event.target); });
  document.addEventListener("DOMContentLoaded", function () { foldHelp(document); });

  // A form posted without script comes back with its error summary: read it first (or the message marked
  // data-focus: a refused import, an error page).
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector("[data-error-summary]") || document.querySelector("main [data-focus]");
    if (first) focus(first);
  });
})();
