// The branding page's phone preview follows the form before it is saved: name, short name, colours, logo.
// Without JavaScript the preview shows the saved state (drawn by the theme's stylesheet).
(function () {
  "use strict";
  var form = document.getElementById("branding-form");
  var preview = document.getElementById("phone-preview");
  if (!form || !preview) return;

  function parse(value) {
    var v = (value || "").trim().toLowerCase();
    if (v.charAt(0) !== "#") v = "#" + v;
    if (/^#[0-9a-f]{3}$/.test(v)) v = "#" + v[1] + v[1] + v[2] + v[2] + v[3] + v[3];
    return /^#[0-9a-f]{6}$/.test(v) ? v : null;
  }
  function channel(c) {
    var s = c / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  }
  function luminance(hex) {
    var n = parseInt(hex.slice(1), 16);
    return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function readableOn(bg) {
    return contrast(bg, "#ffffff") >= contrast(bg, "#000000") ? "#ffffff" : "#000000";
  }

  function colourOf(field) {
    var text = document.getElementById(field + "_text");
    var picker = document.getElementById(field);
    return parse(text && text.value) || parse(picker && picker.value);
  }

  function update() {
    var primary = colourOf("primary_color");
    var accent = colourOf("accent_color");
    if (primary) {
      preview.style.setProperty("--brand", primary);
      preview.style.setProperty("--on-brand", readableOn(primary));
    }
    if (accent) preview.style.setProperty("--accent", accent);
    var name = document.getElementById("name_text");
    var shown = document.getElementById("preview-name");
    if (name && shown) shown.textContent = name.value;
    var logo = document.getElementById("preview-logo");
    if (name && logo) logo.alt = name.value;
    var shortInput = document.getElementById("short_name");
    var shortShown = document.getElementById("preview-short-name");
    if (shortInput && shortShown) shortShown.textContent = shortInput.value.trim() || shortInput.dataset.default || "";
  }

  ["primary_color", "accent_color"].forEach(function (field) {
    var picker = document.getElementById(field);
    var text = document.getElementById(field + "_text");
    if (!picker || !text) return;
    // Keep the two inputs of a colour in step, so the server sees one choice.
    picker.addEventListener("input", function () { text.value = picker.value; update(); });
    text.addEventListener("input", function () {
      var c = parse(text.value);
      if (c) picker.value = c;
      update();
    });
  });
  ["name_text", "short_name"].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) el.addEventListener("input", update);
  });

  var file = document.getElementById("logo");
  var shownUrl = null;
  if (file) {
    file.addEventListener("change", function () {
      var logo = document.getElementById("preview-logo");
      if (!logo || !file.files || !file.files[0] || !/^image\/(png|jpeg|webp)$/.test(file.files[0].type)) return;
      if (shownUrl) URL.revokeObjectURL(shownUrl);
      shownUrl = URL.createObjectURL(file.files[0]);
      logo.src = shownUrl;
      logo.hidden = false;
    });
  }
})();
