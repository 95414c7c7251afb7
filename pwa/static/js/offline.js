/* Rathaus: the page's side of requests saved while offline. On the review page, "Send" goes through
   fetch: without a connection the request is queued in outbox.js instead of lost; queued requests are
   sent when the connection is back (here, and by the service worker), and the citizen is told. */
(function () {
  "use strict";

  var outbox = window.RathausOutbox;
  if (!outbox) return;
  var TRACKING = /^\/r\/[A-Za-z0-9_-]+$/;
  var PENDING = "rathaus-outbox"; // tells pwa.js on other pages to load this file

  function store(fn) {
    try { return fn(localStorage); } catch (e) { return null; }
  }

  function initForm() {
    var form = document.querySelector("form[data-outbox]");
    if (!form || form.dataset.outboxReady || !window.URLSearchParams) return;
    form.dataset.outboxReady = "1";
    var status = form.querySelector("[data-submit-status]");
    function queue(entry) {
      return outbox.queue(entry).then(function () {
        store(function (s) { s.setItem(PENDING, "1"); });
        status.textContent = form.dataset.msgQueued;
        if (!("serviceWorker" in navigator)) return;
        navigator.serviceWorker.ready.then(function (reg) {
          return reg.sync && reg.sync.register(outbox.SYNC_TAG); // the worker sends it, even if this page is gone
        }).catch(function () {});
      });
    }
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented || (event.submitter && event.submitter.hasAttribute("formaction"))) return;
      event.preventDefault();
      var pairs = [];
      new FormData(form).forEach(function (value, name) { pairs.push([name, String(value)]); });
      var entry = {
        key: form.querySelector("[name=idempotency_key]").value,
        action: form.getAttribute("action"),
        pairs: pairs,
        service: form.dataset.outbox,
        queuedAt: new Date().toISOString(),
        notice: { title: form.dataset.msgSentTitle, body: form.dataset.msgSentBody },
      };
      if (navigator.onLine === false) return queue(entry);
      status.textContent = form.dataset.msgSending;
      fetch(entry.action, { method: "POST", body: new URLSearchParams(pairs), credentials: "same-origin" })
        .then(function (response) {
          if (response.ok && TRACKING.test(new URL(response.url).pathname)) location.assign(response.url);
          else form.submit(); // answers to correct, or an error: let the browser show the server's page
        }, function () { return queue(entry); }); // no network: keep it on the device
    });
  }

  function clearDraft(service, key) {
    store(function (s) {
      var draft = JSON.parse(s.getItem("rathaus-draft:" + service) || "null");
      if (draft && draft.key === key) s.removeItem("rathaus-draft:" + service);
    });
  }

  /* The notice's texts, in the citizen's language, come with the offline page (they are rarely needed). */
  var noticeLoaded = null;
  function notice() {
    var here = document.querySelector("[data-outbox-notice]");
    var main = document.querySelector("main");
    if (here || !main) return Promise.resolve(here);
    noticeLoaded = noticeLoaded || fetch("/offline", { credentials: "same-origin" })
      .catch(function () { return window.caches && caches.match("/offline"); })
      .then(function (response) { return response && response.ok ? response.text() : ""; })
      .then(function (html) {
        var found = new DOMParser().parseFromString(html, "text/html").querySelector("[data-outbox-notice]");
        if (found) main.insertBefore(document.importNode(found, true), main.firstChild);
        return document.querySelector("[data-outbox-notice]");
      });
    return noticeLoaded;
  }

  /* Finished entries: on their review page, go on to the confirmation; elsewhere, say so with a link. */
  function show() {
    var review = document.querySelector("form[data-outbox]");
    var reviewKey = review && review.querySelector("[name=idempotency_key]").value;
    return outbox.all().then(function (entries) {
      if (!entries.length) store(function (s) { s.removeItem(PENDING); });
      var first = null;
      entries.forEach(function (e) {
        if (!e.state) return;
        var target = e.state === "sent" ? new URL(e.url).pathname : "/s/" + e.service + "/form";
        if (e.state === "sent") clearDraft(e.service, e.key);
        if (target === location.pathname || e.key === reviewKey) {
          outbox.remove(e.key);
          if (e.key !== reviewKey) return;
          if (e.state === "sent") location.assign(e.url);
          else review.submit(); // the server shows what needs correcting
          return;
        }
        first = first || { entry: e, target: target };
      });
      if (first) return notice().then(function (box) { if (box) tell(box, first.entry, first.target); });
    });
  }

  function tell(box, e, target) {
    var sent = e.state === "sent";
    var text = box.querySelector("p");
    var link = document.createElement("a");
    link.href = sent ? e.url : target;
    link.textContent = sent ? box.dataset.msgView : box.dataset.msgCheck;
    text.textContent = (sent ? box.dataset.msgSent : box.dataset.msgFailed) + " ";
    text.appendChild(link);
    box.hidden = false;
  }

  function sendAndShow() {
    outbox.flush().catch(function () { /* still offline */ }).then(show).catch(function () {});
  }

  function start() {
    initForm();
    sendAndShow();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start(); // loaded later by pwa.js
  window.addEventListener("online", sendAndShow);
  document.addEventListener("rathaus:swapped", initForm);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data && e.data.type === "rathaus-outbox") show().catch(function () {});
    });
  }
})();
