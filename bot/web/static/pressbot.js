// Enhancements only: every page works without this file.
"use strict";

// Buttons with data-confirm ask before submitting their form (cancel, resend…).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
