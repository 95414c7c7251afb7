/* Rathaus: thumbnails of the photos chosen in a file picker, before anything is sent.
   Without this file the picker still works (a label styled as a button opens the native chooser);
   the review page then shows what was chosen. Listens on the document, so it keeps working when a
   page is swapped in after an upload. */
(function () {
  "use strict";
  if (window.rathausPhotos) return; // the script tag comes with every file field
  window.rathausPhotos = true;

  var urls = new WeakMap();

  function show(input) {
    var list = document.getElementById(input.id + "-previews");
    if (!list) return;
    (urls.get(list) || []).forEach(function (url) { URL.revokeObjectURL(url); });
    var made = [];
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      if (/^image\//.test(file.type) && window.URL && URL.createObjectURL) {
        var img = document.createElement("img");
        var url = URL.createObjectURL(file);
        made.push(url);
        img.src = url; // blob: images are allowed by the Content-Security-Policy
        img.alt = "";
        img.width = 64;
        img.height = 64;
        item.appendChild(img);
      }
      var name = document.createElement("span");
      name.textContent = file.name;
      item.appendChild(name);
      list.appendChild(item);
    });
    urls.set(list, made);
    list.hidden = !made.length && !(input.files && input.files.length);
    var status = document.getElementById(input.id + "-chosen");
    if (status) {
      var n = input.files ? input.files.length : 0;
      status.textContent = n ? (n === 1 ? status.dataset.msgOne : status.dataset.msgMany.replace("{num}", n)) : "";
    }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.matches && input.matches("input[type=file][data-previews]")) show(input);
  });
})();
