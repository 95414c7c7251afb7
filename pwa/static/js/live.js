// Live updates for staff (GET /staff/events, Server-Sent Events): the inbox list refreshes itself when a case
// of this municipality changes, and a case page says when someone else changed the case meanwhile.
// Without JavaScript or EventSource, pages work as before: a reload shows the current state.
(function () {
  "use strict";
  var box = document.querySelector("[data-live]");
  if (!box || !window.EventSource) return;
  var results = document.getElementById("inbox-results");
  var match = location.pathname.match(/^\/staff\/cases\/([0-9a-f-]{36})$/);
  var caseId = match ? match[1] : null;
  if (!results && !caseId) return;
  var timer = null;

  function say(text, label, action) {
    box.textContent = "";
    var p = document.createElement("p");
    p.textContent = text;
    if (label) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button-link";
      button.textContent = label;
      button.addEventListener("click", action);
      p.appendChild(document.createTextNode(" "));
      p.appendChild(button);
    }
    box.appendChild(p);
  }

  function load() {
    box.textContent = "";
    window.htmx.ajax("GET", location.pathname + location.search, { target: "#inbox-results", swap: "innerHTML" });
  }

  function refresh() {
    // Never pull the list away from under the keyboard: whoever works inside it decides when to update.
    var active = document.activeElement;
    if (active && active !== document.body && results.contains(active)) {
      say(box.getAttribute("data-msg-new"), box.getAttribute("data-msg-show"), load);
      return;
    }
    load();
  }

  var source = new EventSource(box.getAttribute("data-live"));
  source.addEventListener("ready", function () {
    box.setAttribute("data-live-state", "listening"); // changes from now on reach this page
  });
  source.addEventListener("case", function (event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (results) {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400); // a burst of changes refreshes the list once
    } else if (data.case === caseId) {
      say(box.getAttribute("data-msg-case"), box.getAttribute("data-msg-reload"), function () {
        location.reload();
      });
    }
  });
})();
