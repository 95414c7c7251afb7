/* Rathaus: a reply template fills the message field in place on the clerk's case page.
   Without this file the small form reloads the page with the filled text (GET /staff/cases/<id>?template=...). */
(function () {
  "use strict";

  function fill(form) {
    var select = form.querySelector("select[name=template]");
    var target = document.getElementById(form.dataset.target);
    var status = form.querySelector("[data-role=status]");
    if (!select || !select.value || !target) return;
    status.textContent = "";
    fetch(form.dataset.replyTemplates + encodeURIComponent(select.value), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error("answered " + response.status);
      return response.json();
    }).then(function (data) {
      target.value = data.text;
      var statusSelect = form.dataset.statusSelect && document.getElementById(form.dataset.statusSelect);
      if (statusSelect && data.status && !statusSelect.value) {
        // Only an option the form offers, and never over a status the clerk has already chosen.
        var option = statusSelect.querySelector("option[value='" + data.status + "']");
        if (option) statusSelect.value = data.status;
      }
      // A template is written to the citizen: in the message form it goes out as a message, not a note
      // (as the page without JavaScript does).
      var visibility = form.dataset.visibility && document.getElementById(form.dataset.visibility);
      if (visibility) visibility.checked = true;
      status.textContent = form.dataset.msgFilled;
      target.focus();
      target.setSelectionRange(target.value.length, target.value.length);
    }).catch(function () {
      status.textContent = form.dataset.msgFailed;
    });
  }

  document.querySelectorAll("form[data-reply-templates]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fill(form);
    });
  });
})();
