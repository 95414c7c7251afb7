/* Rathaus: what the citizen types into a form is kept on this device until the request is sent
   (pwa.js clears it on the confirmation page), so closing the page or losing the connection loses nothing. */
(function () {
  "use strict";

  var DRAFT = "rathaus-draft:";
  var DRAFT_DAYS = 30;

  function storage() {
    try { return window.localStorage; } catch (e) { return null; } // blocked in some privacy modes
  }

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !/^(_csrf_token|idempotency_key|form_version|action)$/.test(el.name) &&
        !/__keep$/.test(el.name) && !/^(file|submit|button|reset)$/.test(el.type);
    });
  }

  function saveDraft(form, store) {
    var fields = [];
    draftFields(form).forEach(function (el) {
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      if (el.value !== "") fields.push([el.name, el.value]);
    });
    var name = DRAFT + form.dataset.draft;
    var key = form.querySelector("[data-idempotency-key]").value;
    try {
      if (fields.length) store.setItem(name, JSON.stringify({ key: key, saved: Date.now(), fields: fields }));
      else store.removeItem(name);
    } catch (e) { /* storage full: the draft is a convenience only */ }
  }

  function restoreDraft(form, store) {
    var draft = null;
    try { draft = JSON.parse(store.getItem(DRAFT + form.dataset.draft) || "null"); } catch (e) { /* ignore */ }
    if (!draft || !draft.fields || !draft.fields.length) return;
    if (Date.now() - draft.saved > DRAFT_DAYS * 864e5) { store.removeItem(DRAFT + form.dataset.draft); return; }
    var fields = draftFields(form);
    draft.fields.forEach(function (pair) {
      fields.forEach(function (el) {
        if (el.name !== pair[0]) return;
        if (el.type === "checkbox" || el.type === "radio") { if (el.value === pair[1]) el.checked = true; }
        else el.value = pair[1];
      });
    });
    var keyInput = form.querySelector("[data-idempotency-key]");
    if (draft.key) keyInput.value = draft.key; // a resend after a lost answer stays the same request
    form.querySelectorAll("[data-location]").forEach(function (box) {
      var lat = box.querySelector("[data-role=lat]"), lon = box.querySelector("[data-role=lon]");
      var status = box.querySelector("[data-role=status]");
      if (!lat.value || !status) return;
      status.textContent = status.dataset.msgFound.replace("{lat}", lat.value).replace("{lon}", lon.value);
      box.querySelector("[data-role=clear]").hidden = false;
    });
    var notice = form.querySelector("[data-draft-notice]");
    var text = notice.querySelector("[role=status]");
    notice.hidden = false;
    text.textContent = text.dataset.msg;
    notice.querySelector("[data-role=discard]").addEventListener("click", function () {
      store.removeItem(DRAFT + form.dataset.draft);
      fields.forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio") el.checked = false;
        else el.value = "";
      });
      form.querySelectorAll("[data-location] [data-role=status]").forEach(function (s) { s.textContent = ""; });
      form.querySelectorAll("[data-location] [data-role=clear]").forEach(function (b) { b.hidden = true; });
      keyInput.value = crypto.randomUUID ? crypto.randomUUID() : ""; // empty: the server makes one
      notice.hidden = true;
      var first = fields.filter(function (el) { return el.type !== "hidden"; })[0];
      if (first) first.focus();
    });
  }

  function init() {
    var store = storage();
    if (!store) return;
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      if (form.hasAttribute("data-draft-restore")) restoreDraft(form, store);
      var save = function () { saveDraft(form, store); };
      form.addEventListener("input", save);
      form.addEventListener("change", save);
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("rathaus:swapped", init); // app.js showed the form again after an upload
})();
