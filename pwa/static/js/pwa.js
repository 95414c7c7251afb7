/* Rathaus as an app: registers the service worker, and shows what it keeps for offline use.
   Pages work without this file; it only adds what the browser supports. */
(function () {
  "use strict";

  var TRACKING = /^\/r\/[A-Za-z0-9_-]+$/;

  function store(fn, kind) {
    try { return fn(window[kind || "localStorage"]); } catch (e) { return null; } // storage can be blocked
  }

  function formatTime(date) {
    try {
      return date.toLocaleString(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) {
      return date.toLocaleString();
    }
  }

  /* A tracking page the service worker served from its cache carries data-saved-at on <html>. */
  function initOfflineNote() {
    var note = document.querySelector("[data-offline-note]");
    if (!note) return;
    var saved = document.documentElement.getAttribute("data-saved-at");
    var loaded = new Date();
    function show() {
      note.textContent = note.dataset.msg.replace("{time}", formatTime(saved ? new Date(saved) : loaded));
      note.hidden = false;
    }
    if (saved) {
      var thanks = document.querySelector("[data-sent]"); // saved right after sending: the request, not the moment
      if (thanks) thanks.hidden = true;
    }
    if (saved || navigator.onLine === false) show();
    window.addEventListener("offline", show);
    window.addEventListener("online", function () { if (!saved) note.hidden = true; });
  }

  /* The offline page lists the tracking pages saved on this device. */
  function listSavedPages() {
    var box = document.querySelector("[data-saved-pages]");
    if (!box || !window.caches) return;
    var list = box.querySelector("ul");
    caches.open("rathaus-pages").then(function (cache) {
      return cache.keys().then(function (requests) {
        return Promise.all(requests.map(function (r) {
          return cache.match(r).then(function (response) { return [new URL(r.url).pathname, response]; });
        }));
      });
    }).then(function (saved) {
      saved.forEach(function (pair) {
        if (!TRACKING.test(pair[0]) || !pair[1]) return;
        var title = decodeURIComponent(pair[1].headers.get("X-Rathaus-Title") || "");
        var item = document.createElement("li");
        var link = document.createElement("a");
        item.className = "card";
        link.href = pair[0];
        link.textContent = new DOMParser().parseFromString(title, "text/html").documentElement.textContent || pair[0];
        item.appendChild(link);
        list.insertBefore(item, list.firstChild); // newest first
      });
      box.hidden = !list.children.length;
    }).catch(function () {});
  }

  /* The offline page stands in for the page asked for: once the server answers again, load that page.
     It asks now and then (more slowly each time, and at once when the browser says it is back online);
     a few reloads at most, in case only this page reaches the server and the service worker does not. */
  function retryWhenOnline() {
    var key = "rathaus-retry:" + location.pathname;
    if (!document.querySelector("[data-saved-pages]") || location.pathname === "/offline") {
      store(function (s) { s.removeItem(key); }, "sessionStorage");
      return;
    }
    var reloads = Number(store(function (s) { return s.getItem(key); }, "sessionStorage") || 0);
    if (reloads >= 5 || !window.fetch) return;
    var wait = 1000;
    var timer = null;
    function later() {
      timer = setTimeout(probe, wait);
      wait = Math.min(wait * 2, 30000);
    }
    function probe() {
      clearTimeout(timer);
      fetch("/health", { cache: "no-store", credentials: "omit" }).then(function (response) {
        if (!response.ok) return later();
        store(function (s) { s.setItem(key, String(reloads + 1)); }, "sessionStorage");
        location.reload();
      }, later);
    }
    window.addEventListener("online", probe);
    later();
  }

  /* Requests saved while offline: the review page loads outbox.js and offline.js itself; other pages
     only while the outbox holds something, and the review page when app.js swaps it in. */
  function loadOutbox() {
    if (window.RathausOutbox) return;
    ["/static/js/outbox.js", "/static/js/offline.js"].forEach(function (src) {
      var script = document.createElement("script");
      script.src = src;
      script.async = false; // in this order
      document.head.appendChild(script);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    var sent = document.querySelector("[data-sent]"); // the confirmation: this service's draft is done
    if (sent) store(function (s) { s.removeItem("rathaus-draft:" + sent.dataset.sent); });
    if (store(function (s) { return s.getItem("rathaus-outbox"); })) loadOutbox();
    initOfflineNote();
    listSavedPages();
    retryWhenOnline();
  });
  document.addEventListener("rathaus:swapped", function () {
    if (document.querySelector("form[data-outbox]")) loadOutbox();
  });
})();
