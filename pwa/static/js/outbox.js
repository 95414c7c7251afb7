/* Rathaus: requests saved on the device while offline (IndexedDB), sent when the connection is back.
   Used by the service worker (sw.js, in the background) and by pages (offline.js). Both may send: a lock
   keeps them from sending at the same moment, and the idempotency key makes a repeat the same request. */
(function (scope) {
  "use strict";
  if (!scope.indexedDB || !scope.fetch || !scope.Promise) return;

  var DB = "rathaus";
  var STORE = "outbox";
  var TRACKING = /^\/r\/[A-Za-z0-9_-]+$/;

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "key" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function put(entry) { return withStore("readwrite", function (s) { s.put(entry); }); }
  function all() { return withStore("readonly", function (s) { return s.getAll(); }); }
  function remove(key) { return withStore("readwrite", function (s) { s.delete(key); }); }

  function post(entry) {
    return fetch(entry.action, {
      method: "POST",
      body: new URLSearchParams(entry.pairs),
      credentials: "same-origin",
      redirect: "follow",
      cache: "no-store",
    });
  }

  /* The CSRF cookie lasts as long as the browser session: after a restart, get a new token (and cookie). */
  function freshToken() {
    return fetch("/offline", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var m = /<meta name="csrf-token" content="([^"]*)"/.exec(html);
        return m ? m[1] : null;
      });
  }

  /* {state: "sent", url} once the server made (or found) the request; {state: "failed"} if it refused it;
     throws while the network or the server is down, so the entry stays queued. */
  function send(entry) {
    return post(entry).then(function (response) {
      if (response.status !== 403) return response;
      return freshToken().then(function (token) {
        if (!token) return response;
        entry.pairs = entry.pairs.map(function (p) { return p[0] === "_csrf_token" ? [p[0], token] : p; });
        return post(entry);
      });
    }).then(function (response) {
      if (response.status >= 500 || response.status === 429) throw new Error("server unavailable: " + response.status);
      if (response.ok && TRACKING.test(new URL(response.url).pathname)) return { state: "sent", url: response.url };
      return { state: "failed" };
    });
  }

  function sendAll() {
    return all().then(function (entries) {
      var done = [];
      return entries.filter(function (e) { return !e.state; }).reduce(function (chain, entry) {
        return chain.then(function () { return send(entry); }).then(function (result) {
          entry.state = result.state;
          entry.url = result.url;
          entry.doneAt = new Date().toISOString();
          done.push(entry);
          return put(entry);
        });
      }, Promise.resolve()).then(function () { return done; });
    });
  }

  /* Sends every queued request; resolves with the entries it finished. */
  function flush() {
    var locks = scope.navigator && scope.navigator.locks;
    return locks ? locks.request("rathaus-outbox", sendAll) : sendAll();
  }

  scope.RathausOutbox = { SYNC_TAG: "rathaus-submissions", queue: put, all: all, remove: remove, flush: flush };
})(self);
