/* Rathaus service worker: app shell cache, offline page, saved tracking pages, queued submissions, push.
   Served as /sw.js by the server, which fills in the cache version and the shell of this municipality. */
"use strict";

const VERSION = "__VERSION__";
const SHELL = __SHELL__; // [url, integrity]: with an integrity, the browser's cached copy will do if it matches
const ICON = "/icons/192.png";
const BADGE = "/icons/badge-96.png";
const SHELL_CACHE = "rathaus-shell-" + VERSION;
// Tracking pages the citizen opened, and their photos: kept across deploys, newest last.
const PAGES_CACHE = "rathaus-pages";
const PAGES_LIMIT = 60;
const TRACKING = /^\/r\/[A-Za-z0-9_-]+$/;
const TRACKING_FILE = /^\/r\/[A-Za-z0-9_-]+\/files\//;
const SAVED_AT = "X-Rathaus-Saved-At";
const TITLE = "X-Rathaus-Title";

importScripts("/static/js/outbox.js");

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

async function precache() {
  const cache = await caches.open(SHELL_CACHE);
  await Promise.all(SHELL.map(async ([url, integrity]) => {
    const init = { credentials: "same-origin" };
    let response;
    try {
      // Files the page just loaded come from the HTTP cache, unless they are not the current version.
      response = await fetch(url, integrity ? { ...init, integrity } : { ...init, cache: "no-cache" });
    } catch (error) {
      response = await fetch(url, { ...init, cache: "reload" });
    }
    if (!response.ok) throw new Error(url + " answered " + response.status);
    await cache.put(url, response);
  }));
}

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((n) => n.startsWith("rathaus-shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event, url));
  } else if (TRACKING_FILE.test(url.pathname)) {
    event.respondWith(savedFile(event));
  } else if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/icons/") || url.pathname === "/theme.css") {
    event.respondWith(cacheFirst(event));
  }
});

/* Pages: always the network (they change); offline, a tracking page as last seen, else the offline page. */
async function navigate(event, url) {
  try {
    const response = await fetch(event.request);
    if (TRACKING.test(url.pathname) && response.ok && response.type === "basic") {
      event.waitUntil(remember(url.pathname, response.clone()));
    }
    return response;
  } catch (error) {
    const saved = TRACKING.test(url.pathname) && (await (await caches.open(PAGES_CACHE)).match(url.pathname));
    if (saved) return markSaved(saved);
    return (await caches.match("/offline")) || Response.error();
  }
}

async function remember(path, response) {
  const html = await response.text();
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  headers.delete("Content-Encoding");
  headers.set(SAVED_AT, new Date().toISOString());
  const title = /<title>([^<]*)<\/title>/.exec(html);
  if (title) headers.set(TITLE, encodeURIComponent(title[1].trim()));
  const cache = await caches.open(PAGES_CACHE);
  await cache.delete(path); // re-adding moves it to the end: the oldest pages go first
  await cache.put(path, new Response(html, { status: 200, headers }));
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - PAGES_LIMIT)).map((k) => cache.delete(k)));
}

/* The page cannot read its own response headers, so the time it was saved goes into the HTML itself. */
async function markSaved(saved) {
  const html = (await saved.text()).replace(/<html\b/, '<html data-saved-at="' + saved.headers.get(SAVED_AT) + '"');
  return new Response(html, { status: 200, headers: saved.headers });
}

async function savedFile(event) {
  const cache = await caches.open(PAGES_CACHE);
  try {
    const response = await fetch(event.request);
    // Photos, to show with the saved page; not documents, which may be large.
    const image = (response.headers.get("Content-Type") || "").startsWith("image/");
    if (response.ok && image) event.waitUntil(cache.put(event.request, response.clone()));
    return response;
  } catch (error) {
    return (await cache.match(event.request)) || Response.error();
  }
}

async function cacheFirst(event) {
  const request = event.request;
  const cached = await caches.match(request);
  if (cached) return cached;
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") {
      const copy = response.clone();
      event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy)));
    }
    return response;
  } catch (error) {
    // Offline with a changed version query (a new theme colour): an older copy is better than none.
    return (await caches.match(request, { ignoreSearch: true })) || Response.error();
  }
}

/* Push: {"title", "body", "url", "tag": "case-<id>"} from the server; "url" is the case page at the
   municipality's public address (https://<host>/r/<token>), or a path of this site. */
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const url = typeof data.url === "string" && /^(\/(?!\/)|https?:\/\/)/.test(data.url) ? data.url : "/";
  event.waitUntil(self.registration.showNotification(data.title || self.location.hostname, {
    body: data.body || "",
    tag: data.tag || undefined,
    renotify: Boolean(data.tag),
    icon: ICON,
    badge: BADGE,
    data: { url },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  // The public address may be another host of the same municipality (its custom domain): open it there.
  if (target.origin !== self.location.origin) {
    event.waitUntil(self.clients.openWindow(target.href));
    return;
  }
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    // The request's own page first (loaded again: it is what changed), then any other of this site.
    const own = (w) => (new URL(w.url).pathname === target.pathname ? 1 : 0);
    for (const w of windows.sort((a, b) => own(b) - own(a))) {
      try {
        await w.focus(); // first, while the click still allows it
        if (await w.navigate(target.href)) return undefined; // only windows this worker controls
      } catch (error) { /* try the next one */ }
    }
    return self.clients.openWindow(target.href);
  })());
});

/* Requests saved while offline: send them when the browser says the connection is back. */
self.addEventListener("sync", (event) => {
  if (event.tag === RathausOutbox.SYNC_TAG) event.waitUntil(sendQueued());
});

async function sendQueued() {
  const sent = await RathausOutbox.flush(); // throws while still offline: the browser retries later
  if (!sent.length) return;
  const windows = await self.clients.matchAll({ type: "window" });
  windows.forEach((w) => w.postMessage({ type: "rathaus-outbox" }));
  if (windows.length || self.Notification === undefined || Notification.permission !== "granted") return;
  await Promise.all(sent.filter((e) => e.state === "sent" && e.notice).map((e) =>
    self.registration.showNotification(e.notice.title, {
      body: e.notice.body, tag: "submission-" + e.key, icon: ICON, badge: BADGE, data: { url: e.url },
    })
  ));
}
