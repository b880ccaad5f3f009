// The deep linking answer goes back to the VLE at once (the button stays for a
// browser without script): no inline script, the policy allows this file only.
document.querySelectorAll("form[data-auto-submit]").forEach((form) => form.submit());
