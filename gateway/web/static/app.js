// Alliance Ledger web pages: progressive enhancement only (every page works without it).
"use strict";
(function () {
  // Long operations: <div data-progress="/web/jobs/ID"> polls its job and fills in the bar and the counts.
  function poll(box) {
    var url = box.getAttribute("data-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector(".progress-text");
    var done = box.querySelector(".progress-done");
    var count = box.querySelector(".progress-count");
    function fill(label, values) {
      return (label || "").replace(/\{(\w+)\}/g, function (m, k) { return values[k] === undefined ? m : values[k]; });
    }
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (job) {
          bar.max = job.total || 1;
          bar.value = job.done || 0;
          box.setAttribute("data-state", job.state);
          if (count) { count.textContent = fill(box.getAttribute("data-count-label"), job); }
          if (job.state === "running" || job.state === "queued") { setTimeout(tick, 400); return; }
          if (done) { done.classList.remove("hide"); }
          if (text && job.state === "done") {
            text.textContent = fill(box.getAttribute("data-ok-label"), job.result || {});
            text.classList.add("s-VALID");
          }
          if (text && job.state === "failed") {
            text.textContent = fill(box.getAttribute("data-failed-label"), job);
            text.classList.add("s-INVALID");
          }
          if (job.result_url) { window.location.assign(job.result_url); }
        })
        .catch(function () { setTimeout(tick, 1500); });
    }
    tick();
  }
  // Proposal form: show only the parameters the chosen action takes.
  function proposalForm(form) {
    var select = form.querySelector("select[name=action]");
    function update() {
      var action = select.value;
      form.querySelectorAll("[data-actions]").forEach(function (el) {
        var shown = el.getAttribute("data-actions").split(" ").indexOf(action) >= 0;
        el.classList.toggle("hide", !shown);
      });
    }
    select.addEventListener("change", update);
    update();
  }
  // Confirm before an irreversible action: <form data-confirm="message">.
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress]").forEach(poll);
    document.querySelectorAll("form.proposal-form").forEach(proposalForm);
    confirmForms();
  });
})();
