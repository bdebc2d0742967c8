// Backstop's only script of its own, loaded with defer. Everything works
// without it; it adds "select all" to bulk forms and keeps the selected
// count in words.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function update(form) {
    var boxes = form.querySelectorAll("input[type=checkbox][name=sel]");
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) n++; });
    var all = form.querySelector("input[data-select-all]");
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    var out = form.querySelector("[data-selected-count]");
    if (out) out.textContent = n === 0 ? "None selected" : n === 1 ? "1 selected" : n + " selected";
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLInputElement) || !t.form) return;
    if (t.hasAttribute("data-select-all")) {
      t.form.querySelectorAll("input[type=checkbox][name=sel]").forEach(function (b) { b.checked = t.checked; });
    }
    if (t.name === "sel" || t.hasAttribute("data-select-all")) update(t.form);
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("form[data-bulk]").forEach(update);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-bulk]").forEach(update);
  });
})();
