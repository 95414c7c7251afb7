/* Rathaus: choose news categories for this device (/news/subscribe), through the Push API.
   Reuses the device's push subscription that "Notify me about changes" of a request uses, if there is one. */
(function () {
  "use strict";

  var TIMEOUT_MS = 15000;

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  function base64UrlToBytes(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }

  function timeout(promise, ms) {
    return Promise.race([promise, new Promise(function (resolve, reject) {
      setTimeout(function () {
        var error = new Error("timed out");
        error.name = "TimeoutError";
        reject(error);
      }, ms);
    })]);
  }

  function existing() {
    return navigator.serviceWorker.ready.then(function (reg) { return reg.pushManager.getSubscription(); });
  }

  function subscribe() {
    return navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (current) {
        if (current) return current;
        return fetch("/push/key", { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) throw new Error("no key: " + r.status);
          return r.json();
        }).then(function (key) {
          return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key.publicKey) });
        });
      });
    });
  }

  function call(method, path, body) {
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) throw new Error(path + ": " + r.status);
      return r.status === 204 ? null : r.json();
    });
  }

  function init() {
    var form = document.querySelector("[data-news-push]");
    var note = document.querySelector("[data-news-unsupported]");
    if (!form || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
    var status = form.querySelector("[data-role=status]");
    var off = form.querySelector("[data-role=off]");
    var save = form.querySelector("[data-role=save]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=categories]"));
    function say(name) { status.textContent = form.dataset[name] || ""; }
    function show(categories) {
      boxes.forEach(function (box) { box.checked = categories.indexOf(box.value) >= 0; });
      off.hidden = !categories.length;
    }
    if (Notification.permission === "denied") {
      note.textContent = form.dataset.msgDenied;
      return;
    }
    note.hidden = true;
    form.hidden = false;
    if (Notification.permission === "granted") {
      existing().then(function (sub) {
        return sub ? call("POST", "/push/news/query", { endpoint: sub.endpoint }).then(function (r) { show(r.categories); }) : null;
      }).catch(function () { /* the boxes stay empty */ });
    }

    function turnOff() {
      return existing().then(function (sub) {
        return sub ? call("DELETE", "/push/news", { endpoint: sub.endpoint }) : null;
      }).then(function () {
        show([]);
        say("msgOff");
      }).catch(function () { say("msgFailed"); });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = boxes.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
      if (!chosen.length) {
        turnOff();
        return;
      }
      save.disabled = true;
      say("msgWorking");
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") {
          say(permission === "denied" ? "msgDenied" : "msgFailed");
          return undefined;
        }
        return timeout(subscribe(), Number(form.dataset.timeout) || TIMEOUT_MS).then(function (sub) {
          return call("PUT", "/push/news", { subscription: sub.toJSON(), categories: chosen });
        }).then(function (result) {
          show(result.categories);
          say("msgOn");
        });
      }).catch(function (error) {
        say(error && error.name === "TimeoutError" ? "msgTimeout" : "msgFailed");
      }).then(function () { save.disabled = false; });
    });

    off.addEventListener("click", turnOff);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
