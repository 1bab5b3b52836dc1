// Progressive enhancement of the review page: keys, and decisions without a page reload.
// j/k next/previous, s/n/c decide scam / not a scam / cannot tell, u undo the last decision.
// Each decision is one POST whose answer is the next item's HTML, swapped in place.
(() => {
  "use strict";
  const root = document.getElementById("item");
  if (!root) return;
  let busy = false;

  async function swap(url, init = {}) {
    if (busy) return;
    busy = true;
    try {
      const headers = Object.assign({ "X-Fragment": "1" }, init.headers || {});
      const response = await fetch(url, Object.assign({}, init, { headers, credentials: "same-origin" }));
      root.innerHTML = await response.text();
      const article = root.querySelector("article[data-url]");
      history.replaceState(null, "", article ? article.dataset.url : url);
      const heading = root.querySelector("h1");
      if (heading) heading.focus();
    } finally {
      busy = false;
    }
  }

  function send(form, submitter) {
    const body = new URLSearchParams(new FormData(form, submitter));
    return swap(form.action, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
  }

  root.addEventListener("submit", (event) => {
    event.preventDefault();
    send(event.target, event.submitter);
  });

  root.addEventListener("click", (event) => {
    const link = event.target.closest("a[rel=next], a[rel=prev]");
    if (!link) return;
    event.preventDefault();
    swap(link.href);
  });

  const labels = { s: "scam", n: "not_scam", c: "cannot_tell" };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.target.closest("input, textarea, select, button")) return;
    const key = event.key.toLowerCase();
    if (labels[key]) {
      const button = root.querySelector(`#decide-form button[value="${labels[key]}"]`);
      if (button) { event.preventDefault(); send(button.form, button); }
    } else if (key === "j" || key === "k") {
      const link = root.querySelector(key === "j" ? "a[rel=next]" : "a[rel=prev]");
      if (link) { event.preventDefault(); swap(link.href); }
    } else if (key === "u") {
      const undo = root.querySelector("#undo-form");
      if (undo) { event.preventDefault(); send(undo); }
    }
  });
})();
