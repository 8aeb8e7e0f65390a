/* klic admin web console: the one script, built into klic-admin.  Drag and
 * drop of .kreq files onto the upload forms: the dropped files become the
 * form's file input, as if chosen with the picker.  No framework, nothing
 * fetched; the pages work without it. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-drop]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector(".dropzone");
    if (!input || !zone) return;
    zone.hidden = false;
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("over");
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      if (!e.dataTransfer || e.dataTransfer.files.length === 0) return;
      input.files = e.dataTransfer.files;
      zone.textContent = e.dataTransfer.files.length + " file(s) ready: " +
        Array.prototype.map.call(e.dataTransfer.files, function (f) { return f.name; }).join(", ");
    });
  });
});
