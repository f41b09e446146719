// The bookmarklet's capture window: a button that closes it (no inline script under our CSP).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-close-window]")) {
    window.close();
  }
});
