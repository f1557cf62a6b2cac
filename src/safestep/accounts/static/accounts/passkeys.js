// After django-otp-webauthn's script has added a passkey, go where SafeStep's answer says:
// the backup codes of a first set-up, or back to the list of passkeys (which then shows it).
// A file of its own: the pages' Content-Security-Policy runs no inline script.
document.addEventListener("otp_webauthn.register_complete", (event) => {
  const answer = event.detail && event.detail.response;
  if (answer && typeof answer.redirect_url === "string" && answer.redirect_url.startsWith("/")) {
    window.location.assign(answer.redirect_url);
  }
});
