// Progressive enhancement of the review page: keys, decisions without a page reload, and
// the lease on the item being decided.
// j/k next/previous, s/n/c decide scam / not a scam / cannot tell, u undo the last decision.
// Each decision is one POST whose answer is the next item's HTML, swapped in place. A
// refused decision answers with the same item and the reviewer's input kept; any other
// failure leaves the page as it is and says why.
// Lease: taken when the reviewer starts deciding (not when an item is merely opened),
// renewed while the page is open, released when the reviewer moves on or leaves.
(() => {
  "use strict";
  const root = document.getElementById("item");
  if (!root) return;
  let busy = false;
  let lease = null; // {pk, sk, csrf, expires (ms), renew (timer), tick (timer)}

  function csrf() {
    const field = root.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function say(text) {
    const status = root.querySelector("#status");
    if (status) { status.textContent = text; status.setAttribute("role", "alert"); }
  }

  function post(url, fields, keepalive) {
    const body = new URLSearchParams(fields);
    return fetch(url, {
      method: "POST", body, keepalive: !!keepalive, credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": fields.csrf_token },
    });
  }

  function showLease(text) {
    const shown = root.querySelector("#lease");
    if (shown) shown.textContent = text;
  }

  function stopLease() {
    if (!lease) return;
    clearInterval(lease.renew);
    clearInterval(lease.tick);
    lease = null;
  }

  function releaseLease(beacon) {
    if (!lease) return;
    const fields = { csrf_token: lease.csrf, pk: lease.pk, sk: lease.sk };
    stopLease();
    if (beacon && navigator.sendBeacon) {
      navigator.sendBeacon("/release", new URLSearchParams(fields));
    } else {
      post("/release", fields, true).catch(() => {});
    }
  }

  async function renew() {
    if (!lease) return;
    const current = lease;
    try {
      const response = await post("/lease", { csrf_token: current.csrf, pk: current.pk, sk: current.sk });
      const answer = await response.json();
      if (lease !== current) return;
      if (answer.held) {
        current.expires = Date.now() + answer.seconds * 1000;
      } else {
        stopLease();
        showLease(`Not held: ${answer.reason}`);
      }
    } catch (err) {
      // Offline for a moment: the countdown shows it; deciding still works if nobody took it.
    }
  }

  function tick() {
    if (!lease) return;
    const left = Math.max(0, Math.round((lease.expires - Date.now()) / 1000));
    const m = Math.floor(left / 60), s = String(left % 60).padStart(2, "0");
    showLease(left > 0
      ? `Held for you while you decide: ${m}:${s} left (renewed while this page is open).`
      : "Your hold lapsed; you can still decide unless another reviewer takes the item.");
  }

  function startLease() {
    const article = root.querySelector("article[data-pk]");
    if (lease || !article || !root.querySelector("#decide-form")) return;
    const seconds = Number(article.dataset.leaseSeconds) || 300;
    lease = { pk: article.dataset.pk, sk: article.dataset.sk, csrf: csrf(), expires: Date.now() };
    lease.renew = setInterval(renew, Math.max(1000, (seconds * 1000) / 3));
    lease.tick = setInterval(tick, 1000);
    renew().then(tick);
  }

  async function swap(url, init = {}) {
    if (busy) return;
    busy = true;
    try {
      const headers = Object.assign({ "X-Fragment": "1" }, init.headers || {});
      let response;
      try {
        response = await fetch(url, Object.assign({}, init, { headers, credentials: "same-origin" }));
      } catch (err) {
        say("Could not reach the review server; nothing was lost, try again.");
        return;
      }
      const html = await response.text();
      if (!response.ok && response.status !== 409) {
        // Signed out, an expired form, a bad request: keep the page (and its input).
        const text = new DOMParser().parseFromString(html, "text/html").querySelector("[role=alert]");
        say(`Not saved (${response.status}): ${text ? text.textContent : "refused"} Your input is kept.`);
        return;
      }
      releaseLease(false); // leaving this item (after a decision there is none left to free)
      root.innerHTML = html;
      const state = root.querySelector("[data-url]");
      history.replaceState(null, "", state ? state.dataset.url : "/");
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

  // Starting to decide (a category, the note) takes the lease.
  root.addEventListener("input", (event) => { if (event.target.closest("#decide-form")) startLease(); });
  root.addEventListener("change", (event) => { if (event.target.closest("#decide-form")) startLease(); });
  window.addEventListener("pagehide", () => releaseLease(true));

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

// Wellbeing: a reminder to take a break after a stated time of reviewing (per tab
// session; the clock starts at the first review page and survives reloads).
(() => {
  "use strict";
  const minutes = Number(document.body.dataset.breakMinutes);
  const banner = document.getElementById("break");
  if (!minutes || !banner) return;
  const started = Number(sessionStorage.getItem("parley-review-started")) || Date.now();
  sessionStorage.setItem("parley-review-started", String(started));
  function check() {
    const spent = (Date.now() - started) / 60000;
    if (spent < minutes || !banner.hidden) return;
    banner.textContent = `You have been reviewing for ${Math.max(1, Math.round(spent))} minutes. Take a break: step away from the screen for a while.`;
    const ok = document.createElement("button");
    ok.type = "button";
    ok.textContent = "I took a break";
    ok.addEventListener("click", () => {
      sessionStorage.setItem("parley-review-started", String(Date.now()));
      banner.hidden = true;
    });
    banner.appendChild(ok);
    banner.hidden = false;
  }
  check();
  setInterval(check, 1000);
})();
