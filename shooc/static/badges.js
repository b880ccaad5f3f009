// "Copy" buttons next to read-only fields (the page works without this script).
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      field.select();
      // the message goes to the button's status region (role=status), so that a
      // screen reader says it too; the button keeps its name
      var status = document.getElementById(button.dataset.copied);
      var done = function () { if (status) { status.textContent = "Copied."; } };
      var copySelection = function () { if (document.execCommand("copy")) { done(); } };
      // the Clipboard API may be refused (no permission, not a secure context): then
      // the older command copies the selected field
      if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done, copySelection); }
      else { copySelection(); }
    });
  });
})();
