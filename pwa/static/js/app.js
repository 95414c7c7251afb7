/* Rathaus: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  var shownAt = null; // the address this document shows (see the popstate listener below)

  function deviceKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* The idempotency key is made on the device, so a resend can never create a second request. */
  function initKeys(root) {
    root.querySelectorAll("[data-idempotency-key]").forEach(function (input) {
      if (!input.value) input.value = deviceKey();
    });
  }

  function initLocation(root) {
    root.querySelectorAll("[data-location]").forEach(function (box) {
      var geo = box.querySelector("[data-role=geo]");
      if (!geo || !("geolocation" in navigator)) return;
      geo.hidden = false;
      var lat = box.querySelector("[data-role=lat]");
      var lon = box.querySelector("[data-role=lon]");
      var status = box.querySelector("[data-role=status]");
      var clear = box.querySelector("[data-role=clear]");
      box.querySelector("[data-role=locate]").addEventListener("click", function () {
        status.textContent = status.dataset.msgLocating;
        navigator.geolocation.getCurrentPosition(function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lon.value = pos.coords.longitude.toFixed(6);
          status.textContent = status.dataset.msgFound.replace("{lat}", lat.value).replace("{lon}", lon.value);
          clear.hidden = false;
          lat.dispatchEvent(new Event("change", { bubbles: true })); // the draft keeps the position too
        }, function () {
          status.textContent = status.dataset.msgFailed;
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
      clear.addEventListener("click", function () {
        lat.value = ""; lon.value = ""; status.textContent = ""; clear.hidden = true;
        lat.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  var MAX_EDGE = 2048;

  /* Phone photos are 5–12 MB: scale them down on the device before they cross a slow uplink. */
  function shrink(file) {
    if (!/^image\/(jpeg|png|webp|heic|heif)$/.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size < 1500000) return file;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) return resolve(file);
          var name = file.name.replace(/\.[^.]+$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg" }));
        }, "image/jpeg", 0.82);
      });
    }, function () { return file; });
  }

  function swapPage(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.body.replaceWith(doc.body);
    init(document.body);
    if (window.htmx) window.htmx.process(document.body);
    window.scrollTo(0, 0);
    var target = document.getElementById("error-summary") || document.querySelector("h1");
    if (target) { target.setAttribute("tabindex", "-1"); target.focus(); }
    document.dispatchEvent(new CustomEvent("rathaus:swapped"));
  }

  function initUploads(root) {
    root.querySelectorAll("form[data-upload-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var inputs = Array.prototype.filter.call(form.querySelectorAll("input[type=file]"), function (i) {
          return i.files && i.files.length;
        });
        var box = form.querySelector("[data-upload-progress]");
        var bar = box.querySelector("progress");
        var status = box.querySelector("[data-upload-status]");
        if (navigator.onLine === false) { // the answers stay in the draft; the browser's error page helps no one
          event.preventDefault();
          bar.hidden = true;
          box.hidden = false;
          status.textContent = form.dataset.msgOffline;
          return;
        }
        bar.hidden = false;
        if (!inputs.length || !window.FormData || !window.XMLHttpRequest) return;
        event.preventDefault();
        var button = event.submitter;
        box.hidden = false;
        status.textContent = form.dataset.msgPreparing;
        var data = new FormData(form);
        if (button && button.name) data.set(button.name, button.value);
        var jobs = inputs.map(function (input) {
          data.delete(input.name);
          return Promise.all(Array.prototype.map.call(input.files, shrink)).then(function (files) {
            files.forEach(function (f) { data.append(input.name, f, f.name); });
          });
        });
        Promise.all(jobs).then(function () {
          var xhr = new XMLHttpRequest();
          // Not form.action: the submit button is named "action" and shadows the property.
          xhr.open("POST", form.getAttribute("action") || window.location.href);
          xhr.upload.addEventListener("progress", function (e) {
            if (!e.lengthComputable) return;
            var pct = Math.round((e.loaded / e.total) * 100);
            bar.value = pct;
            status.textContent = form.dataset.msgUploading.replace("{percent}", pct);
          });
          xhr.addEventListener("load", function () {
            var target = xhr.responseURL && new URL(xhr.responseURL);
            if (target && target.pathname !== new URL(form.getAttribute("action"), window.location.href).pathname) {
              // The answers were taken and the review has its own address: show it there, so reload and the
              // language switch work as without JavaScript; back (and forward) load the kept draft anew.
              var key = form.querySelector("[data-idempotency-key]");
              if (key) {
                history.replaceState(null, "", window.location.pathname + "?draft=" + encodeURIComponent(key.value));
                history.pushState(null, "", xhr.responseURL);
              } else { // a message form: the page it answers shows the message now
                history.replaceState(null, "", xhr.responseURL);
              }
              shownAt = target.pathname + target.search;
            }
            swapPage(xhr.responseText);
          });
          xhr.addEventListener("error", function () { status.textContent = form.dataset.msgFailed; });
          xhr.send(data);
        });
      });
    });
  }

  function initSubmitOnce(root) {
    root.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent && !(event.submitter && event.submitter.getAttribute("formaction"))) {
          event.preventDefault();
        }
        form.dataset.sent = "1";
      });
    });
  }

  function focusErrors(root) {
    var summary = root.querySelector("#error-summary");
    if (summary) summary.focus();
  }

  /* htmx makes search and filters update as you type. It is 17 KB, so a phone fetches it only when a
     live form is first used; until then (and without JavaScript) the forms work as plain GET forms. */
  var HTMX = "/static/vendor/htmx.min.js";
  function initLazyHtmx(root) {
    if (window.htmx) return;
    var live = root.querySelectorAll("[hx-get],[hx-post]");
    if (!live.length) return;
    var loading = false;
    function load() {
      if (loading) return;
      loading = true;
      var script = document.createElement("script");
      script.src = HTMX;
      script.onload = function () {
        window.htmx.process(document.body);
        // What was typed while htmx was loading still counts.
        var active = document.activeElement;
        if (active && active.value && active.closest("[hx-get],[hx-post]")) {
          active.dispatchEvent(new Event("input", { bubbles: true }));
        }
      };
      document.head.appendChild(script);
    }
    live.forEach(function (el) {
      ["focusin", "input", "pointerdown"].forEach(function (type) {
        el.addEventListener(type, load, { once: true });
      });
    });
  }

  function init(root) {
    initLazyHtmx(root);
    initKeys(root);
    initLocation(root);
    initUploads(root);
    initSubmitOnce(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    shownAt = window.location.pathname + window.location.search;
    var page = document.querySelector("[data-address]");
    if (page && page.dataset.address !== window.location.pathname) {
      // Back or forward arrived before this script listened (see popstate): show the page of the address.
      window.location.reload();
      return;
    }
    init(document);
    focusErrors(document);
  });

  /* The form and its review share one document after an upload (see initUploads): back and forward between
     them load the page at the new address. Chrome keeps the two entries in one document even after a reload,
     so the form page listens too. */
  window.addEventListener("popstate", function () {
    var at = window.location.pathname + window.location.search; // a jump to #field is no other page
    if (at === shownAt) return;
    if (document.querySelector("form[data-upload-form], [data-reload-on-restore]")) window.location.reload();
  });

  /* A review page shown again from the back/forward cache may be out of date (the request may have been
     sent since): ask the server, which then shows that it was sent. */
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.querySelector("[data-reload-on-restore]")) window.location.reload();
  });
})();
