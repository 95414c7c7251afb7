/* Rathaus: conditional form fields. A field with data-show-if shows only while the earlier field it names has
   one of the values in data-show-values; while hidden its inputs are disabled, so they are neither checked
   nor sent. The server applies the same rule (catalogue/forms.py), so this is a convenience, not a guard.
   Without JavaScript every field shows, a conditional one with a hint saying when it is needed. */
(function () {
  "use strict";

  function chosen(form, name) {
    var inputs = form.querySelectorAll('input[name="' + name.replace(/"/g, "") + '"]');
    var values = [];
    Array.prototype.forEach.call(inputs, function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        var consent = el.closest(".field-consent");
        if (consent) values.push(el.checked && !el.disabled ? "yes" : "no");
        else if (el.checked && !el.disabled) values.push(el.value);
      }
    });
    return values;
  }

  function fieldOf(form, name) {
    var input = form.querySelector('[name="' + name.replace(/"/g, "") + '"]');
    return input ? input.closest(".field") : null;
  }

  function update(form) {
    // In document order: a field's source comes earlier, so it is already decided when the field is.
    Array.prototype.forEach.call(form.querySelectorAll("[data-show-if]"), function (field) {
      var source = field.getAttribute("data-show-if");
      var wanted = [];
      try { wanted = JSON.parse(field.getAttribute("data-show-values") || "[]"); } catch (e) { wanted = []; }
      var sourceField = fieldOf(form, source);
      var show = !!sourceField && !sourceField.hidden && chosen(form, source).some(function (v) {
        return wanted.indexOf(v) !== -1;
      });
      field.hidden = !show;
      Array.prototype.forEach.call(field.querySelectorAll("input, textarea, select"), function (el) {
        el.disabled = !show;
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      if (!form.querySelector("[data-show-if]")) return;
      Array.prototype.forEach.call(form.querySelectorAll("[data-condition-hint]"), function (hint) {
        hint.hidden = true;
      });
      if (!form.hasAttribute("data-conditions")) {
        form.setAttribute("data-conditions", "");
        var again = function () { update(form); };
        form.addEventListener("change", again);
        form.addEventListener("input", again);
        form.addEventListener("click", again); // drafts.js's "discard" empties the answers without events
      }
      update(form);
    });
  }

  // Registered after drafts.js (this script comes later), so the answers it restores are already in place.
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("rathaus:swapped", init); // app.js showed the form again after an upload
})();
