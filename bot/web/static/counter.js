// The share editor's live counter. The count comes from the server, from the same
// composer code the bot posts with: X's weighted length, Bluesky's graphemes, Telegram's
// UTF-16 units are not worth re-implementing here (and would drift). Without this file the
// counter shows the count from the last page load and "Save" answers with the new one.
"use strict";

(() => {
  const DEBOUNCE_MS = 250;
  const token = document.querySelector('meta[name="csrf-token"]')?.content || "";

  function attach(textarea) {
    const counter = document.getElementById(textarea.dataset.counter);
    if (!counter) return;
    let timer = null;
    let asked = 0; // only the newest answer may update the counter

    async function measure() {
      const mine = ++asked;
      let answer;
      try {
        const response = await fetch(textarea.dataset.lengthUrl, {
          method: "POST",
          headers: { "X-CSRF-Token": token },
          body: new URLSearchParams({ text: textarea.value }),
          credentials: "same-origin",
        });
        if (!response.ok) return;
        answer = await response.json();
      } catch (error) {
        return; // offline for a moment: the next keystroke asks again
      }
      if (mine !== asked) return;
      counter.textContent = `${answer.length} / ${answer.limit}`;
      counter.classList.toggle("over", answer.over);
    }

    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(measure, DEBOUNCE_MS);
    });
  }

  document.querySelectorAll("textarea[data-length-url]").forEach(attach);
})();
