// Workbook page helpers. The page works without them (its Save and Submit buttons
// post the form); they add a live word count, autosave, the contents list's
// "you are here" and a confirmation before submitting.
(function () {
  "use strict";
  function words(text) {
    var trimmed = text.trim();
    return trimmed ? trimmed.split(/\s+/).length : 0; // the server counts the same way
  }
  document.querySelectorAll("textarea[data-word-count]").forEach(function (area) {
    var output = document.getElementById(area.dataset.wordCount);
    if (!output) { return; }
    var count = output.querySelector(".count");
    var min = parseInt(area.dataset.minWords || "0", 10);
    var max = parseInt(area.dataset.maxWords || "0", 10);
    function update() {
      var n = words(area.value);
      count.textContent = n;
      output.classList.toggle("enough", n > 0 && n >= min && (!max || n <= max));
      output.classList.toggle("too-many", max > 0 && n > max);
    }
    area.addEventListener("input", update);
    update();
  });

  var form = document.getElementById("workbook-form");
  if (!form) { return; }
  var submitting = false;
  var waitingSince = 0;
  form.addEventListener("submit", function (event) {
    // One submission per click: a second click while the first is on its way does nothing.
    if (form.dataset.sending === "yes") { event.preventDefault(); return; }
    // An autosave of this page still on its way moves its answer's revision on: a
    // button sent now would name the older one and be refused as "changed elsewhere"
    // by this very page. So the button waits for it (up to 5 s, then goes anyway:
    // the server then shows both texts, losing nothing).
    if (savesOnTheirWay() && (!waitingSince || Date.now() - waitingSince < 5000)) {
      event.preventDefault();
      if (!waitingSince) { waitingSince = Date.now(); }
      var submitter = event.submitter || null;
      window.setTimeout(function () {
        // Without requestSubmit (Safari before 16), clicking the button again keeps its
        // name and value in what is sent; form.submit() would drop them.
        if (form.requestSubmit) { form.requestSubmit(submitter); } else if (submitter) { submitter.click(); } else { form.submit(); }
      }, 100);
      return;
    }
    waitingSince = 0;
    submitting = true;
    form.dataset.sending = "yes";
    window.setTimeout(function () { form.dataset.sending = ""; submitting = false; }, 8000);
  });

  // Autosave ------------------------------------------------------------------
  // Each activity (section[data-autosave]) is saved on its own, a few seconds after
  // the last key, on leaving a field and on leaving the page, naming the revision of
  // the answer the page had. Until the server has it, what was typed is kept in this
  // browser's localStorage (per workbook and activity), so that a network cut or a
  // closed tab loses nothing; it is retried when the network is back, and offered
  // back on the next visit if it is newer than what the server has. A save the
  // server refuses because the answer changed elsewhere (409) shows both and lets
  // the learner choose. (shooc/enrolment/answers.py: autosave.)
  var url = form.dataset.autosaveUrl;
  var tokenField = form.querySelector("input[name=csrf_token]");
  var DELAY = 2500;
  var activities = {};
  function savesOnTheirWay() {
    return Object.keys(activities).some(function (id) { return activities[id].inflight || activities[id].again; });
  }

  function storeKey(id) { return "shooc.autosave:" + form.dataset.storeKey + ":" + id; }
  function clock(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function fieldsOf(id) {
    var prefix = "a." + id + ".";
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0 || el.form !== form) { return; }
      if (!(el.name in fields)) { fields[el.name] = []; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      fields[el.name].push(el.value);
    });
    return fields;
  }
  function showFields(id, fields) {
    var prefix = "a." + id + ".";
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0 || !(el.name in fields)) { return; }
      var values = fields[el.name];
      if (el.type === "radio" || el.type === "checkbox") { el.checked = values.indexOf(el.value) !== -1; }
      else { el.value = values.length ? values[0] : ""; }
      el.dispatchEvent(new Event("input", { bubbles: false })); // the word count
    });
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  function status(state, text, kind) {
    state.status.textContent = text;
    state.status.className = "autosave-status" + (kind ? " " + kind : "");
  }
  function keep(state) {
    try {
      window.localStorage.setItem(storeKey(state.id), JSON.stringify(
        { fields: fieldsOf(state.id), base: state.revision, typedAt: Date.now() }));
      state.kept = true;
    } catch (e) { state.kept = false; }
  }
  function forget(state) {
    try { window.localStorage.removeItem(storeKey(state.id)); } catch (e) { /* nothing kept */ }
  }
  function kept(id) {
    try { return JSON.parse(window.localStorage.getItem(storeKey(id)) || "null"); } catch (e) { return null; }
  }

  // A choice offered beside the field: a message and buttons (type=button: no submit).
  function offer(state, text, choices) {
    clearOffer(state);
    var box = document.createElement("div");
    box.className = "autosave-offer";
    box.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.textContent = text;
    box.appendChild(p);
    choices.forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button" + (choice.secondary ? " secondary" : "");
      button.textContent = choice.label;
      button.addEventListener("click", function () { clearOffer(state); choice.action(); });
      box.appendChild(button);
    });
    state.section.querySelector(".activity-actions").appendChild(box);
    state.offer = box;
  }
  function clearOffer(state) {
    if (state.offer) { state.offer.remove(); state.offer = null; }
  }

  function save(state, keepalive) {
    window.clearTimeout(state.timer);
    if (!state.dirty || state.conflict || submitting) { return; }
    if (state.inflight) { state.again = true; return; }
    if (!navigator.onLine) { offline(state); return; }
    var sent = fieldsOf(state.id);
    state.inflight = true;
    status(state, "Saving…", "saving");
    fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": tokenField ? tokenField.value : "" },
      body: JSON.stringify({ activity: state.id, revision: state.revision, fields: sent })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        state.inflight = false;
        answered(state, response.status, data, sent);
      });
    }, function () {
      state.inflight = false;
      offline(state);
    });
  }
  function answered(state, code, data, sent) {
    if (code === 200) {
      state.revision = data.revision;
      state.section.dataset.revision = data.revision;
      if (data.saved_at) { state.section.dataset.savedAt = data.saved_at; }
      progress(state.id, data);
      if (same(sent, fieldsOf(state.id))) {
        state.dirty = false;
        forget(state);
        status(state, "Saved " + clock(data.saved_at), "saved");
      } else {
        keep(state); // typed on meanwhile: over the new revision
        schedule(state);
      }
      if (state.again) { state.again = false; save(state); }
      return;
    }
    state.again = false;
    if (code === 409 && data.fields) {
      state.conflict = true;
      status(state, "Not saved: changed elsewhere", "problem");
      offer(state, "This answer was saved in another tab or on another device" +
            (data.saved_at ? " at " + clock(data.saved_at) : "") + ", after this page was opened. " +
            "Which text do you want to keep?", [
        { label: "Keep mine", action: function () {
          state.conflict = false; state.revision = data.revision; state.dirty = true; keep(state); save(state);
        } },
        { label: "Take the newer one", secondary: true, action: function () {
          state.conflict = false; state.revision = data.revision; state.dirty = false;
          showFields(state.id, data.fields); forget(state);
          state.section.dataset.revision = data.revision;
          status(state, "Showing the text saved " + clock(data.saved_at), "saved");
        } }
      ]);
      return;
    }
    status(state, (data.error || "Not saved (the server answered " + code + ").") +
           (state.kept ? " Kept in this browser." : ""), "problem");
  }
  // The contents list and the summary follow what the saves make complete.
  function progress(id, data) {
    var item = document.querySelector('.contents-activities a[data-contents-target="activity-' + id + '"]');
    if (item && typeof data.complete === "boolean") {
      var li = item.parentNode;
      var mark = li.querySelector(".contents-mark");
      li.classList.toggle("done", data.complete);
      if (data.complete) { li.classList.remove("required"); }
      if (mark) { mark.textContent = data.complete ? "done" : (li.classList.contains("optional") ? "" : "required"); }
    }
    var summary = document.querySelector(".contents-progress");
    if (summary && typeof data.required_done === "number") {
      summary.textContent = data.required_done + " of " + data.required + " required activities done";
    }
    var left = document.getElementById("submit-dialog-left");
    if (left && typeof data.required_done === "number") {
      var n = data.required - data.required_done;
      left.hidden = n === 0;
      left.textContent = n + " required activit" + (n === 1 ? "y is" : "ies are") +
        " not done yet: you will be shown what is missing.";
    }
  }
  function offline(state) {
    status(state, "Not saved: offline — kept in this browser, will retry", "problem");
    state.waiting = true;
  }
  function schedule(state, delay) {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(function () { save(state); }, delay === undefined ? DELAY : delay);
  }
  function changed(event, delay) {
    var section = event.target.closest && event.target.closest("[data-autosave]");
    var state = section && activities[section.dataset.autosave];
    if (!state || event.target.form !== form) { return; }
    state.dirty = true;
    keep(state);
    if (!state.conflict) { schedule(state, delay); }
  }

  if (url) {
    form.querySelectorAll("section[data-autosave]").forEach(function (section) {
      var id = section.dataset.autosave;
      var status = section.querySelector(".autosave-status");
      if (!status) { return; }
      var state = activities[id] = { id: id, section: section, status: status,
        revision: parseInt(section.dataset.revision || "0", 10), dirty: false };
      // Text kept in this browser and newer than the server's is offered back.
      var local = kept(id);
      if (!local) { return; }
      var savedAt = section.dataset.savedAt ? Date.parse(section.dataset.savedAt) : 0;
      if (local.typedAt <= savedAt || same(local.fields, fieldsOf(id))) { forget(state); return; }
      offer(state, "This browser kept what you typed here at " + clock(new Date(local.typedAt).toISOString()) +
            ", which was not saved. Restore it?", [
        { label: "Restore it", action: function () {
          showFields(id, local.fields); state.revision = local.base; state.dirty = true; keep(state); save(state);
        } },
        { label: "Discard it", secondary: true, action: function () { forget(state); } }
      ]);
    });
    // The form's buttons name the revision each answer was last saved at here, as the
    // autosaves do: the server refuses a save over text changed elsewhere since.
    form.addEventListener("submit", function () {
      Object.keys(activities).forEach(function (id) {
        var input = form.querySelector('input[name="rev.' + CSS.escape(id) + '"]');
        if (input) { input.value = String(activities[id].revision); }
      });
    });
    form.addEventListener("input", function (event) { changed(event); });
    form.addEventListener("change", function (event) {
      if (event.target.type === "radio" || event.target.type === "checkbox" || event.target.type === "date") {
        changed(event, 300);
      }
    });
    form.addEventListener("focusout", function (event) {
      var section = event.target.closest && event.target.closest("[data-autosave]");
      var state = section && activities[section.dataset.autosave];
      if (state && state.dirty) { save(state); }
    });
    function saveAll(keepalive) {
      Object.keys(activities).forEach(function (id) { save(activities[id], keepalive); });
    }
    window.addEventListener("pagehide", function () { saveAll(true); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { saveAll(true); }
    });
    window.addEventListener("online", function () { saveAll(false); });
  }
  // Submitting cannot be undone: a <dialog> asks first. Without script (or a
  // browser without <dialog>) the button submits at once, as it always has.
  var dialog = document.getElementById("submit-dialog");
  var submitButton = form.querySelector("button[name=action][value=submit]");
  if (dialog && submitButton && typeof dialog.showModal === "function") {
    var confirmed = false;
    submitButton.addEventListener("click", function (event) {
      if (confirmed) { return; }
      event.preventDefault();
      dialog.showModal();
      dialog.querySelector("[data-dialog-cancel]").focus();
    });
    dialog.querySelector("[data-dialog-cancel]").addEventListener("click", function () {
      dialog.close();
      submitButton.focus();
    });
    dialog.querySelector("[data-dialog-confirm]").addEventListener("click", function () {
      confirmed = true;
      dialog.close();
      if (form.requestSubmit) { form.requestSubmit(submitButton); } else { submitButton.click(); }
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (submitting) { return; }
    // Only what is neither on the server nor kept in this browser is at risk.
    var atRisk = Object.keys(activities).some(function (id) {
      return activities[id].dirty && !activities[id].kept;
    });
    if (atRisk) { event.preventDefault(); event.returnValue = ""; }
  });
})();

// The contents list: open beside the text on a wide screen (folded on a phone, as
// the page draws it), and the section being read marked (aria-current).
(function () {
  "use strict";
  var contents = document.getElementById("workbook-contents");
  if (!contents) { return; }
  if (window.matchMedia && window.matchMedia("(min-width: 52.01rem)").matches) { contents.open = true; }
  var links = Array.prototype.slice.call(contents.querySelectorAll("a[data-contents-target]"));
  if (!links.length || !("IntersectionObserver" in window)) { return; }
  var targets = [];
  links.forEach(function (link) {
    var target = document.getElementById(link.dataset.contentsTarget);
    if (target) { targets.push({ el: target, link: link }); }
  });
  var current = null;
  function mark(link) {
    if (link === current) { return; }
    if (current) { current.removeAttribute("aria-current"); }
    current = link;
    if (link) {
      link.setAttribute("aria-current", "location");
      // keep the marked line in view inside a scrolling column (not the page)
      var column = contents.closest(".workbook-nav");
      if (column && column.scrollHeight > column.clientHeight) {
        var top = link.offsetTop - column.offsetTop;
        if (top < column.scrollTop || top > column.scrollTop + column.clientHeight - 40) {
          column.scrollTop = top - column.clientHeight / 3;
        }
      }
    }
  }
  // The current place: the last heading or activity whose top has passed the upper
  // third of the window.
  function update() {
    var line = window.innerHeight / 3;
    var found = null;
    targets.forEach(function (t) { if (t.el.getBoundingClientRect().top <= line) { found = t; } });
    mark(found ? found.link : targets[0].link);
  }
  var observer = new IntersectionObserver(update, { rootMargin: "0px 0px -66% 0px", threshold: [0, 1] });
  targets.forEach(function (t) { observer.observe(t.el); });
  update();
})();
