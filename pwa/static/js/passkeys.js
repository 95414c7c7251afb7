/* Rathaus: passkeys on the citizen's account pages. A form marked data-passkey-form fetches the options
   from its data-options address, asks the browser for a passkey (create to add one, get to sign in) and
   posts the browser's answer in its "credential" field; the server answers with a page, as for any form.
   Without passkey support in the browser, the forms stay hidden and the code by e-mail remains. */
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch || !window.atob) return;

  function bytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out.buffer;
  }

  function text(buffer) {
    var data = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < data.length; i++) binary += String.fromCharCode(data[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) { c.id = bytes(c.id); });
  }

  /* The options as the server sends them (JSON, binary values in base64url) made into what the browser takes. */
  function ask(kind, options) {
    options.challenge = bytes(options.challenge);
    if (kind === "add") {
      options.user.id = bytes(options.user.id);
      decodeIds(options.excludeCredentials);
      return navigator.credentials.create({ publicKey: options });
    }
    decodeIds(options.allowCredentials);
    return navigator.credentials.get({ publicKey: options });
  }

  /* The browser's answer as JSON, binary values in base64url (the WebAuthn JSON form the server reads). */
  function encode(credential) {
    var r = credential.response;
    var response = { clientDataJSON: text(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = text(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      response.authenticatorData = text(r.authenticatorData);
      response.signature = text(r.signature);
      if (r.userHandle) response.userHandle = text(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    });
  }

  function init(form) {
    var section = form.closest("[data-passkey-section]");
    if (section) section.hidden = false;
    form.hidden = false;
    var status = form.querySelector("[data-passkey-status]");
    var busy = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      status.textContent = "";
      var token = form.querySelector("[name=_csrf_token]");
      fetch(form.dataset.options, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "", Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error("options: " + response.status);
          return response.json();
        })
        .then(function (options) { return ask(form.dataset.passkeyForm, options); })
        .then(function (credential) {
          if (!credential) throw new Error("no passkey");
          form.querySelector("[name=credential]").value = encode(credential);
          form.submit(); // the answer is a page: the account, or what went wrong
        })
        .catch(function () {
          busy = false;
          status.textContent = form.dataset.msgFailed;
        });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-unsupported]"), function (note) {
      note.hidden = true;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-form]"), init);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
