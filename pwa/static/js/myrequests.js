/* Rathaus: the requests this device sent or opened, remembered in localStorage (reference, service, link and the
   last known status). A tracking page adds itself; the home page lists them and asks the server for their current
   statuses in one call. Nothing leaves the device except the tokens, to this municipality's own server. */
(function () {
  "use strict";

  var KEY = "rathaus-my-requests";
  var LIMIT = 50; // the server answers at most 50 tokens at once

  function load() {
    try {
      var list = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(list) ? list.filter(function (r) { return r && typeof r.token === "string"; }) : [];
    } catch (e) { return []; } // storage blocked (privacy mode) or damaged: start afresh
  }

  function save(list) {
    try { window.localStorage.setItem(KEY, JSON.stringify(list.slice(0, LIMIT))); } catch (e) { /* full or blocked */ }
  }

  /* A tracking page: put this request first in the list, with what the page shows of it. */
  function remember(el) {
    var d = el.dataset;
    var entry = {
      token: d.remember, reference: d.reference, service: d.service, link: "/r/" + d.remember,
      status: d.status, label: d.label, updated_at: d.updated,
      checked_at: document.documentElement.dataset.savedAt || new Date().toISOString(), // a page saved offline is as old as it was
    };
    save([entry].concat(load().filter(function (r) { return r.token !== entry.token; })));
  }

  function when(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    try {
      return date.toLocaleString(document.documentElement.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) { return date.toLocaleString(); }
  }

  /* keep: after a removal the section stays, so its status line can say what happened even if the list is empty */
  function render(section, keep) {
    var list = section.querySelector("[data-role=list]");
    var entries = load();
    while (list.firstChild) list.removeChild(list.firstChild);
    entries.forEach(function (r) {
      var li = document.createElement("li");
      li.className = "card";
      var link = document.createElement("a");
      link.href = /^\/r\/[A-Za-z0-9_-]+$/.test(r.link) ? r.link : "/r/" + r.token;
      link.textContent = r.service || r.reference;
      var ref = document.createElement("span");
      ref.className = "reference-small";
      ref.textContent = r.reference || "";
      var badge = document.createElement("span");
      badge.className = "badge status-" + String(r.status || "").replace(/[^a-z_]/g, "");
      badge.textContent = r.label || "";
      var time = document.createElement("p");
      time.className = "when";
      time.textContent = section.dataset.msgUpdated.replace("{time}", when(r.checked_at));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button-link";
      remove.textContent = section.dataset.msgRemoveShort;
      remove.setAttribute("aria-label", section.dataset.msgRemove.replace("{ref}", r.reference || ""));
      remove.addEventListener("click", function () {
        save(load().filter(function (x) { return x.token !== r.token; }));
        render(section, true);
        status(section, section.dataset.msgRemoved.replace("{ref}", r.reference || ""));
        var heading = section.querySelector("h2");
        if (heading) { heading.tabIndex = -1; heading.focus(); }
      });
      li.appendChild(link);
      li.appendChild(ref);
      li.appendChild(badge);
      li.appendChild(time);
      li.appendChild(remove);
      list.appendChild(li);
    });
    section.hidden = entries.length === 0 && !keep;
  }

  function status(section, text) {
    var el = section.querySelector("[data-role=status]");
    if (el) el.textContent = text;
  }

  function refresh(section) {
    var entries = load();
    if (!entries.length) return;
    if (navigator.onLine === false) { status(section, section.dataset.msgOffline); return; }
    fetch("/my-requests/status", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ tokens: entries.map(function (r) { return r.token; }) }),
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.json();
    }).then(function (found) {
      var now = new Date().toISOString();
      save(load().map(function (r) {
        var f = found[r.token];
        if (!f) return r; // not known here (any more): keep what the device knew
        return {
          token: r.token, service: r.service, link: r.link, reference: f.reference,
          status: f.status, label: f.label, updated_at: f.updated_at, checked_at: now,
        };
      }));
      status(section, "");
      render(section);
    }).catch(function () {
      status(section, navigator.onLine === false ? section.dataset.msgOffline : section.dataset.msgFailed);
    });
  }

  /* The account page: offer to add the requests this device remembers that the account does not hold yet. */
  function offer(form) {
    var known = (form.dataset.known || "").split(" ");
    var missing = load().filter(function (r) { return known.indexOf(r.token) < 0; });
    if (!missing.length) return;
    missing.forEach(function (r) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "token";
      input.value = r.token;
      form.appendChild(input);
    });
    var count = form.querySelector("[data-role=count]");
    count.textContent = missing.length === 1 ? count.dataset.msgOne : count.dataset.msgMany.replace("{num}", missing.length);
    form.hidden = false;
  }

  function start() {
    var here = document.querySelector("[data-remember]");
    if (here) remember(here);
    var join = document.querySelector("[data-device-requests]");
    if (join) offer(join);
    var section = document.querySelector("[data-my-requests]");
    if (!section) return;
    render(section);
    refresh(section);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
