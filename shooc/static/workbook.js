// Workbook page helpers. The page works without them; they add a live word count
// and a warning before leaving with unsaved changes.
(function () {
  "use strict";
  function words(text) {
    var trimmed = text.trim();
    return trimmed ? trimmed.split(/\s+/).length : 0; // the server counts the same way
  }
  document.querySelectorAll("textarea[data-word-count]").forEach(function (area) {
    var output = document.getElementById(area.dataset.wordCount);
    if (!output) { return; }
    var count = output.querySelector(".count");
    var min = parseInt(area.dataset.minWords || "0", 10);
    var max = parseInt(area.dataset.maxWords || "0", 10);
    function update() {
      var n = words(area.value);
      count.textContent = n;
      output.classList.toggle("enough", n > 0 && n >= min && (!max || n <= max));
      output.classList.toggle("too-many", max > 0 && n > max);
    }
    area.addEventListener("input", update);
    update();
  });

  var form = document.getElementById("workbook-form");
  if (!form) { return; }
  var dirty = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function (event) {
    dirty = false;
    // One submission per click: a second click while the first is on its way does nothing.
    if (form.dataset.sending === "yes") { event.preventDefault(); return; }
    form.dataset.sending = "yes";
    window.setTimeout(function () { form.dataset.sending = ""; }, 8000);
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
