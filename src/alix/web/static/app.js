// ALIX page behaviour: toasts (including progress of background jobs) and small menus.
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  function toast(message, kind, timeoutMs) {
    const box = document.getElementById("toasts");
    if (!box) return null;
    const el = document.createElement("div");
    el.className = "toast" + (kind ? " toast-" + kind : "");
    el.textContent = message;
    box.appendChild(el);
    if (timeoutMs !== 0) setTimeout(() => el.remove(), timeoutMs || 5000);
    return el;
  }

  // The last toast of a job: what it ended with, read from the job itself (not the last
  // progress line seen, which says nothing of a failure or of the final counts).
  async function ended(id) {
    let job;
    try {
      const response = await fetch("/api/v1/jobs/" + id, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      job = await response.json();
    } catch (e) { return; }
    const outcome = job.outcome || {};
    const failed = job.status === "failed" || (outcome.run && outcome.run.status !== "succeeded");
    let text;
    if (failed) {
      const reason = (outcome.run && outcome.run.error) || job.reason || "it stopped before the end";
      text = `${job.title} failed: ${reason.replace(/\.$/, "")}. Nothing is lost: the next run resumes where it stopped; see the details for what to do.`;
    } else {
      text = `${job.title} finished` + (outcome.summary ? `. ${outcome.summary}` : ".");
      if (outcome.attention) text += ` · ${outcome.attention} record${outcome.attention === 1 ? " needs" : "s need"} attention`;
    }
    const el = toast(text, failed ? "error" : "success", failed ? 20000 : 10000);
    if (el) {
      el.dataset.jobResult = failed ? "failed" : "done";
      if (outcome.link) {
        const a = document.createElement("a");
        a.href = outcome.link;
        a.textContent = "Details";
        a.style.color = "inherit";
        a.style.textDecoration = "underline";
        el.append(" ", a);
      }
    }
  }

  // Progress of running jobs of the organisation: one toast per job with a bar.
  const shown = new Map();
  // Jobs the action before this page started: their final toast shows even when they ended
  // before the first poll below (a short sync can finish while the page loads).
  const watched = new Set(((document.getElementById("toasts") || {}).dataset || {}).watchedJobs
    ? document.getElementById("toasts").dataset.watchedJobs.split(",").map(Number) : []);
  async function pollJobs() {
    if (!document.querySelector(".sidebar")) return;
    try {
      const response = await fetch("/api/v1/jobs/active", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const jobs = await response.json();
      const live = new Set();
      for (const job of jobs) {
        live.add(job.id);
        let el = shown.get(job.id);
        if (!el) {
          el = toast("", "", 0);
          if (!el) return;
          el.dataset.jobId = job.id;
          el.innerHTML = '<div class="label"></div><div class="bar"><span></span></div>';
          shown.set(job.id, el);
        }
        const pct = job.total ? Math.min(100, Math.round((100 * job.done) / job.total)) : 0;
        el.querySelector(".label").textContent =
          (job.message || `${job.title}: ` + (job.status === "queued" ? "waiting to start…" : "starting…")) + (job.total ? ` — ${job.done} / ${job.total}` : "");
        el.querySelector(".bar > span").style.width = pct + "%";
      }
      for (const [id, el] of shown) {
        if (!live.has(id)) { el.remove(); shown.delete(id); ended(id); }
      }
      for (const id of watched) {
        watched.delete(id);
        if (!live.has(id)) ended(id);  // ended already: say how; else the bar above has it
      }
      setTimeout(pollJobs, jobs.length ? 1000 : 5000);
    } catch (e) {
      setTimeout(pollJobs, 10000);
    }
  }

  function menus() {
    document.querySelectorAll("[data-menu-button]").forEach((button) => {
      const items = document.getElementById(button.getAttribute("aria-controls"));
      if (!items) return;
      button.addEventListener("click", () => {
        const open = items.hidden;
        items.hidden = !open;
        button.setAttribute("aria-expanded", String(open));
        if (open) items.querySelector("button, a")?.focus();
      });
      items.addEventListener("keydown", (e) => { if (e.key === "Escape") { items.hidden = true; button.focus(); } });
    });
    document.addEventListener("click", (e) => {
      document.querySelectorAll(".menu-items").forEach((items) => {
        if (!items.parentElement.contains(e.target)) items.hidden = true;
      });
    });
  }

  // Forms with data-confirm ask before submitting (e.g. Delete).
  function confirms() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
    });
  }

  window.alix = { toast, csrf };
  document.addEventListener("DOMContentLoaded", () => { menus(); confirms(); pollJobs(); });
})();
