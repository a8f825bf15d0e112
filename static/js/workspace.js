/* The questionnaire workspace: autosave that never loses an answer.
 *
 * Every question is a <form class="item"> the server can also take without this script. Here each change is
 * kept in the browser (localStorage) until the server has it, sent in order, and its state is shown next to
 * the question and announced to screen readers. A network failure retries with back-off; an ended session
 * opens a sign-in dialog and sends the waiting answers once signed in; a save refused because someone else
 * changed the same question shows both answers and lets the person choose. Sections are shown one at a time,
 * follow-up questions appear and disappear in place, and leaving with unsaved answers warns.
 */
(function () {
  "use strict";

  var root = document.getElementById("workspace");
  if (!root || root.dataset.editable !== "true") return;

  var texts = JSON.parse(document.getElementById("workspace-texts").textContent);
  var responseId = root.dataset.responseId;
  var storagePrefix = "convergence:draft:" + root.dataset.userId + ":" + responseId + ":";
  var announcer = document.getElementById("workspace-announcer");
  var pageVersion = Number(root.dataset.version);
  var csrfToken = readCsrf();
  var TEXT_PAUSE_MS = 800;
  var MAX_BACKOFF_MS = 30000;

  var items = new Map();  // item id -> state
  var queue = [];         // item ids waiting to be sent, oldest first
  var sending = false;
  var signedOut = false;
  var backoffMs = 0;
  var retryTimer = null;
  var flushWaiters = [];

  // ------------------------------------------------------------------------------------------ the items

  root.querySelectorAll("form.item").forEach(function (form) {
    var id = form.dataset.itemId;
    var item = {id: id, form: form, type: form.dataset.type, base: pageVersion, dirty: false, conflict: null,
                textTimer: null, status: form.querySelector(".save-status"), sent: null};
    items.set(id, item);
    form.addEventListener("change", function () { edited(item, true); });
    form.addEventListener("input", function (event) {
      if (event.target.matches("textarea, input[type=text]")) edited(item, false);
    });
    form.addEventListener("submit", function (event) {  // Enter in a field: save now, stay on the page
      event.preventDefault();
      edited(item, true);
    });
  });

  function fields(form) {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "_csrf" && name !== "version" && name !== "item_id") out.push([name, String(value)]);
    });
    return out;
  }

  function sameFields(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  function edited(item, now) {
    item.dirty = true;
    remember(item);
    clearTimeout(item.textTimer);
    if (item.conflict) return;  // the person chooses first; the latest value is kept for that choice
    setStatus(item, "pending", texts.unsaved);
    if (now) enqueue(item);
    else item.textTimer = setTimeout(function () { enqueue(item); }, TEXT_PAUSE_MS);
  }

  // ------------------------------------------------------------------------ browser storage (reloads)

  function remember(item) {
    try {
      localStorage.setItem(storagePrefix + item.id, JSON.stringify({fields: fields(item.form), base: item.base}));
    } catch (e) { /* storage full or disabled: the page still holds the value */ }
  }

  function forget(item) {
    try { localStorage.removeItem(storagePrefix + item.id); } catch (e) { /* nothing kept */ }
  }

  function restoreDrafts() {
    items.forEach(function (item) {
      var raw = null;
      try { raw = localStorage.getItem(storagePrefix + item.id); } catch (e) { return; }
      if (!raw) return;
      var draft;
      try { draft = JSON.parse(raw); } catch (e) { forget(item); return; }
      if (sameFields(draft.fields, fields(item.form))) { forget(item); return; }
      applyFields(item.form, draft.fields);
      item.base = Number(draft.base) || 0;
      item.dirty = true;
      setStatus(item, "pending", texts.restored);
      enqueue(item);
    });
  }

  function applyFields(form, pairs) {
    var values = {};
    pairs.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
    form.querySelectorAll("input, textarea, select").forEach(function (control) {
      var name = control.name;
      if (name === "_csrf" || name === "version" || name === "item_id" || control.type === "hidden") return;
      var wanted = values[name] || [];
      if (control.type === "radio" || control.type === "checkbox") control.checked = wanted.indexOf(control.value) >= 0;
      else control.value = wanted.length ? wanted[0] : "";
    });
  }

  function applyValue(item, value, planned) {
    var pairs = [];
    var list = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
    list.forEach(function (v) { pairs.push(["value", typeof v === "boolean" ? String(v) : String(v)]); });
    if (planned) pairs.push(["planned", planned]);
    applyFields(item.form, pairs);
  }

  // ------------------------------------------------------------------------------------ sending, in order

  function enqueue(item) {
    if (queue.indexOf(item.id) < 0) queue.push(item.id);
    pump();
  }

  function pump() {
    if (sending || signedOut || retryTimer || !queue.length) {
      if (!sending && !queue.length) settleFlush();
      return;
    }
    var item = items.get(queue.shift());
    if (!item.dirty || item.conflict) { pump(); return; }
    send(item);
  }

  function send(item) {
    sending = true;
    var snapshot = fields(item.form);
    var body = new URLSearchParams();
    body.append("item_id", item.id);
    body.append("version", String(item.base));
    body.append("since", String(pageVersion));
    snapshot.forEach(function (pair) { body.append(pair[0], pair[1]); });
    if (!snapshot.some(function (pair) { return pair[0] === "value"; })) body.append("value", "");
    setStatus(item, "saving", texts.saving);
    fetch("/responses/" + responseId + "/answer", {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": csrfToken},
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        sending = false;
        handle(item, snapshot, response.status, data);
      });
    }, function () {
      sending = false;
      retryLater(item);
    });
  }

  function handle(item, snapshot, status, data) {
    if (status === 200) return saved(item, snapshot, data);
    if (status === 401) return needSignIn(item);
    if (status === 403 && data.code === "csrf_failed") return refreshToken(item);
    if (status === 409 && data.code === "stale_version" && data.items && data.items.length) {
      return showConflict(item, data.items[0]);
    }
    if (status === 429 || status >= 500 || !status) return retryLater(item);
    // 403, 404, 409 (not editable), 422: the person must act; the value stays on the page and in storage.
    setStatus(item, "error", texts.notSaved + " " + (data.detail || ""));
    item.form.classList.add("invalid");
    backoffMs = 0;
    pump();
  }

  function saved(item, snapshot, data) {
    backoffMs = 0;
    item.form.classList.remove("invalid");
    if (sameFields(snapshot, fields(item.form))) {
      item.dirty = false;
      forget(item);
      setStatus(item, "saved", data.saved_label);
    } else {
      enqueue(item);  // typed more while saving
    }
    (data.changes || []).forEach(function (change) { applyChange(change, data.version); });
    // Every question not waiting to be saved now shows the server's answer as of this version.
    items.forEach(function (other) { if (!other.dirty && !other.conflict) other.base = data.version; });
    item.base = data.version;
    pageVersion = Math.max(pageVersion, data.version);
    root.dataset.version = String(pageVersion);
    refreshPage(item, data);
    pump();
  }

  function applyChange(change, version) {
    var item = items.get(String(change.item_id));
    if (!item) return;
    if (item.dirty || item.conflict) return;  // their save will meet this one and ask the person
    applyValue(item, change.value, change.planned);
    item.base = version;
    setStatus(item, "changed", change.label);
  }

  function retryLater(item) {
    if (queue.indexOf(item.id) < 0) queue.unshift(item.id);
    backoffMs = backoffMs ? Math.min(backoffMs * 2, MAX_BACKOFF_MS) : 1000;
    setStatus(item, "offline", texts.offline.replace("{seconds}", String(Math.round(backoffMs / 1000))));
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { retryTimer = null; pump(); }, backoffMs);
    settleFlush();
  }

  window.addEventListener("online", function () {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; pump(); }
  });

  // ------------------------------------------------------------------------------------- signed out

  var dialog = document.getElementById("signin-dialog");
  var signinForm = document.getElementById("signin-form");
  var signinError = document.getElementById("signin-error");

  function needSignIn(item) {
    signedOut = true;
    if (queue.indexOf(item.id) < 0) queue.unshift(item.id);
    items.forEach(function (other) { if (other.dirty) setStatus(other, "signed-out", texts.signedOut); });
    if (!dialog.open) {
      signinError.textContent = "";
      dialog.showModal();
      document.getElementById(dialog.querySelector("#signin-email").value ? "signin-password" : "signin-email").focus();
    }
    settleFlush();
  }

  function signedIn(token) {
    csrfToken = token;
    writeCsrf(token);
    signedOut = false;
    if (dialog.open) dialog.close();
    pump();
  }

  signinForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = new URLSearchParams(new FormData(signinForm));
    body.append("_csrf", csrfToken);
    body.append("next", location.pathname);
    signinError.textContent = "";
    fetch("/login", {method: "POST", body: body, credentials: "same-origin",
                     headers: {"Accept": "application/json", "X-CSRF-Token": csrfToken}})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok && data.csrf_token) {
            signinForm.querySelector("#signin-password").value = "";
            signedIn(data.csrf_token);
          } else if (response.status === 403 && data.code === "csrf_failed") {
            fetchToken().then(function (state) {
              csrfToken = state.csrf_token;
              if (state.signed_in) signedIn(state.csrf_token);
              else signinError.textContent = data.detail || "";
            });
          } else {
            signinError.textContent = data.detail || "";
            signinForm.querySelector("#signin-password").focus();
          }
        });
      }, function () { signinError.textContent = texts.offline.replace("{seconds}", "…"); });
  });

  document.getElementById("signin-retry").addEventListener("click", function () {
    fetchToken().then(function (state) {
      csrfToken = state.csrf_token;
      if (state.signed_in) signedIn(state.csrf_token);
    });
  });

  function fetchToken() {
    return fetch("/session/csrf", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); });
  }

  function refreshToken(item) {
    // Signed in again in another tab: the CSRF token rotated. Take the new one and send again.
    fetchToken().then(function (state) {
      if (!state.signed_in) return needSignIn(item);
      if (state.csrf_token === csrfToken) {
        setStatus(item, "error", texts.notSaved);
        return;
      }
      signedIn(state.csrf_token);
      enqueue(item);
    }, function () { retryLater(item); });
  }

  function readCsrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
  }

  function writeCsrf(token) {
    document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRF-Token": token}));
    document.querySelectorAll("input[name=_csrf]").forEach(function (input) { input.value = token; });
  }

  // ---------------------------------------------------------------------------------------- conflicts

  function showConflict(item, theirs) {
    item.conflict = theirs;
    var panel = document.getElementById("conflict-template").content.firstElementChild.cloneNode(true);
    panel.querySelector("[data-slot=who]").textContent = theirs.label || "";
    panel.querySelector("[data-slot=theirs]").textContent = theirs.text || texts.empty;
    panel.querySelector("[data-slot=mine]").textContent = describe(item) || texts.empty;
    panel.querySelector("[data-choice=mine]").addEventListener("click", function () {
      item.conflict = null;
      item.base = theirs.version;  // seen theirs: this save replaces it knowingly
      enqueue(item);
    });
    panel.querySelector("[data-choice=theirs]").addEventListener("click", function () {
      item.conflict = null;
      applyValue(item, theirs.value, theirs.planned);
      item.base = theirs.version;
      item.dirty = false;
      forget(item);
      setStatus(item, "saved", texts.theirsTaken);
      item.form.querySelector("input:not([type=hidden]), textarea").focus();
    });
    setStatus(item, "conflict", texts.conflict);
    item.status.appendChild(panel);
    pump();
  }

  function describe(item) {
    var form = item.form;
    if (item.type === "text" || item.type === "number" || item.type === "date") {
      var control = form.querySelector("[name=value]:not([type=hidden])");
      return control ? control.value : "";
    }
    var labels = [];
    form.querySelectorAll("input[name=value]:checked").forEach(function (input) {
      labels.push(input.parentElement.textContent.trim());
    });
    return labels.join(", ");
  }

  // ------------------------------------------------------------------------------- what the page shows

  function setStatus(item, state, message) {
    item.status.dataset.state = state;
    item.status.textContent = "";
    var span = document.createElement("span");
    span.className = state === "error" || state === "conflict" || state === "signed-out" ? "error"
      : state === "saved" ? "ok" : "muted";
    span.textContent = message;
    item.status.appendChild(span);
  }

  function announce(message) {
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = message; }, 50);
  }

  function refreshPage(item, data) {
    var enabled = new Set(data.enabled.map(String));
    var shown = 0;
    var hidden = 0;
    items.forEach(function (other) {
      var visible = enabled.has(other.id);
      if (visible === !other.form.hidden) return;
      other.form.hidden = !visible;
      if (visible) shown += 1; else hidden += 1;
    });
    if (shown) announce(texts.appeared.replace("{count}", String(shown)));
    else if (hidden) announce(texts.removed.replace("{count}", String(hidden)));
    var notCompliant = new Set(data.not_compliant.map(String));
    items.forEach(function (other) {
      var planned = document.getElementById("planned-" + other.id);
      if (planned) planned.hidden = !notCompliant.has(other.id);
    });
    data.sections.forEach(function (section) {
      var progress = document.getElementById("progress-" + section.theme);
      var state = document.getElementById("state-" + section.theme);
      if (progress) progress.textContent = section.label;
      if (state) { state.textContent = section.state_label; state.className = "tag " + section.state; }
    });
    var next = document.getElementById("next-missing");
    var all = document.getElementById("all-answered");
    if (next) {
      next.hidden = !data.next_missing;
      if (data.next_missing) next.querySelector("a").setAttribute("href", "#item-" + data.next_missing);
    }
    if (all) all.hidden = !!data.next_missing;
    var maturity = document.getElementById("summary-maturity");
    var status = document.getElementById("summary-status");
    if (maturity) maturity.textContent = data.maturity;
    if (status) { status.textContent = data.status_label; status.className = "status " + data.status; }
    document.querySelectorAll("form [name=version]").forEach(function (input) {
      if (!input.closest("form.item")) input.value = String(pageVersion);
    });
  }

  // --------------------------------------------------------------------------- sections, one at a time

  var sections = Array.prototype.slice.call(root.querySelectorAll(".questionnaire-section"));

  function showSection(section, focusTarget) {
    if (sections.length < 2 || !section) return;
    sections.forEach(function (s) { s.classList.toggle("current", s === section); });
    root.querySelectorAll(".task-list li").forEach(function (li) {
      var link = li.querySelector("a");
      if (link.getAttribute("href") === "#" + section.id) link.setAttribute("aria-current", "step");
      else link.removeAttribute("aria-current");
    });
    if (focusTarget) focusTarget.focus();
  }

  function followHash(moveFocus) {
    var target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (target && target.classList.contains("questionnaire-section")) {
      showSection(target, moveFocus ? target.querySelector("h2") : null);
    } else if (target && target.closest(".questionnaire-section")) {
      var control = target.querySelector("input:not([type=hidden]), textarea, select");
      showSection(target.closest(".questionnaire-section"), moveFocus ? control : null);
      if (moveFocus) target.scrollIntoView({block: "center"});
    } else {
      var first = root.querySelector(".questionnaire-section .item:not([hidden]) .error");
      showSection(first ? first.closest(".questionnaire-section") : sections[0], null);
    }
  }

  if (sections.length > 1) {
    root.classList.add("one-section");
    window.addEventListener("hashchange", function () { followHash(true); });
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (link && link.getAttribute("href") === location.hash) {  // same hash: no hashchange event
        event.preventDefault();
        followHash(true);
      }
    });
    followHash(!!location.hash);
  }

  // ---------------------------------------------------------------- leaving, submitting, copying

  function unsaved() {
    var count = 0;
    items.forEach(function (item) { if (item.dirty || item.conflict) count += 1; });
    return count;
  }

  window.addEventListener("beforeunload", function (event) {
    items.forEach(function (item) {
      if (item.textTimer) { clearTimeout(item.textTimer); item.textTimer = null; }
    });
    if (unsaved()) {
      event.preventDefault();
      event.returnValue = "";  // browsers show their own sentence
    }
  });

  function settleFlush() {
    if (sending || (queue.length && !signedOut && !retryTimer)) return;
    var waiters = flushWaiters;
    flushWaiters = [];
    waiters.forEach(function (resolve) { resolve(unsaved() === 0); });
  }

  function flush() {
    items.forEach(function (item) {
      if (item.textTimer) { clearTimeout(item.textTimer); item.textTimer = null; }
      if (item.dirty && !item.conflict && queue.indexOf(item.id) < 0) queue.push(item.id);
    });
    return new Promise(function (resolve) { flushWaiters.push(resolve); pump(); settleFlush(); });
  }

  document.querySelectorAll("form[data-flush]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!unsaved()) return;
      event.preventDefault();
      announce(texts.flushing);
      flush().then(function (allSaved) {
        if (allSaved) {
          form.querySelectorAll("[name=version]").forEach(function (input) { input.value = String(pageVersion); });
          form.submit();
        } else {
          announce(texts.flushFailed);
        }
      });
    });
  });

  restoreDrafts();
})();
