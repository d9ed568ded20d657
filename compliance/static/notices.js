// Notice pages (CSP: no inline script, so this file is loaded with <script src>). Everything works without it.
(function () {
  "use strict";
  // "全选": tick or untick every notice of the list it heads.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      var form = all.form || document;
      form.querySelectorAll('input[type=checkbox][name="ids"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
  // A batch of notices being issued: ask for the next chunk once this page is shown (the button does the same).
  var next = document.querySelector("form[data-autosubmit]");
  if (next) {
    var button = next.querySelector("button[type=submit]");
    window.setTimeout(function () {
      if (button) { button.disabled = true; button.textContent = "正在签发下一批…"; }
      next.submit();
    }, 400);
  }
})();
