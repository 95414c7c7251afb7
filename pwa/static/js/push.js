/* Rathaus: "Notify me about changes" on a tracking page, through the Push API and the service worker.
   Hidden unless the browser can do it; the server keeps which device follows which request. */
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

  function subscribe() {
    return navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (existing) {
        if (existing) return existing;
        return fetch("/push/key", { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) throw new Error("no key: " + r.status);
          return r.json();
        }).then(function (key) {
          // A Chromium without its vendor's push service never settles this: the caller stops waiting.
          return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key.publicKey) });
        });
      });
    });
  }

  function send(method, body) {
    return fetch("/push/subscriptions", {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) throw new Error("push subscriptions: " + r.status);
    });
  }

  function init() {
    var box = document.querySelector("[data-push]");
    if (!box || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
    if (Notification.permission === "denied") return;
    var token = box.dataset.push;
    var on = box.querySelector("[data-role=on]");
    var off = box.querySelector("[data-role=off]");
    var status = box.querySelector("[data-role=status]");
    var remembered = "rathaus-push:" + token;
    function say(name) { status.textContent = box.dataset[name] || ""; }
    function setOn(yes) { on.hidden = yes; off.hidden = !yes; }
    function store(fn) { try { return fn(window.localStorage); } catch (e) { return null; } }
    box.hidden = false;
    if (Notification.permission === "granted" && store(function (s) { return s.getItem(remembered); })) setOn(true);

    on.addEventListener("click", function () {
      on.disabled = true;
      say("msgWorking");
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") {
          say(permission === "denied" ? "msgDenied" : "msgFailed");
          on.hidden = permission === "denied";
          return undefined;
        }
        return timeout(subscribe(), Number(box.dataset.timeout) || TIMEOUT_MS).then(function (sub) {
          return send("POST", { subscription: sub.toJSON(), token: token }).then(function () {
            store(function (s) { s.setItem(remembered, sub.endpoint); });
            setOn(true);
            say("msgOn");
            off.focus();
          });
        });
      }).catch(function (error) {
        say(error && error.name === "TimeoutError" ? "msgTimeout" : "msgFailed");
      }).then(function () { on.disabled = false; });
    });

    off.addEventListener("click", function () {
      navigator.serviceWorker.ready.then(function (reg) {
        return reg.pushManager.getSubscription();
      }).then(function (sub) {
        var endpoint = (sub && sub.endpoint) || store(function (s) { return s.getItem(remembered); });
        return send("DELETE", { endpoint: endpoint, token: token });
      }).then(function () {
        store(function (s) { s.removeItem(remembered); });
        setOn(false);
        say("msgOff");
        on.focus();
      }).catch(function () { say("msgFailed"); });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
