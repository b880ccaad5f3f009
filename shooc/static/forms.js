// Forms whose work takes a while (publishing, importing, uploading) say so once
// sent: <form data-busy="Publishing…">. The button is disabled so that a second
// click does not send the form twice; the page that answers replaces all this.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var busy = form.getAttribute("data-busy");
  if (!busy || event.defaultPrevented) return;
  var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
  if (!button) return;
  // Disable after this event: a disabled submitter would drop its own name and value.
  window.setTimeout(function () {
    button.dataset.label = button.textContent;
    button.disabled = true;
    button.textContent = busy;
    form.setAttribute("aria-busy", "true");
  }, 0);
});

// Coming back with the Back button shows the page as it was left: sendable again.
window.addEventListener("pageshow", function (event) {
  if (!event.persisted) return;
  document.querySelectorAll("form[aria-busy=true]").forEach(function (form) {
    form.removeAttribute("aria-busy");
    form.querySelectorAll("button[disabled]").forEach(function (button) {
      button.disabled = false;
      if (button.dataset.label) button.textContent = button.dataset.label;
    });
  });
});
