// mediawatch: small progressive enhancements; every page works without this file.
// Exports: with JavaScript, the download links start an export job and show its progress.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) { return key in values ? values[key] : ""; });
  }
  function startExport(box, link) {
    var format = link.getAttribute("data-export");
    var status = box.querySelector(".export-status");
    var bar = box.querySelector("progress");
    var links = box.querySelectorAll("[data-export]");
    links.forEach(function (l) { l.setAttribute("aria-disabled", "true"); });
    bar.hidden = false;
    bar.value = 0;
    function failed(message) {
      status.textContent = fill(box.dataset.msgFailed, {error: message});
      bar.hidden = true;
      links.forEach(function (l) { l.removeAttribute("aria-disabled"); });
    }
    fetch("/api/exports?format=" + format + "&" + box.dataset.params, {
      method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf(), "Accept": "application/json"}
    }).then(function (resp) {
      return resp.json().then(function (body) { return {ok: resp.ok, body: body}; });
    }).then(function (answer) {
      if (!answer.ok) { failed(answer.body.detail || "?"); return; }
      poll(answer.body.id);
    }).catch(function (err) { failed(String(err)); });
    function poll(id) {
      fetch("/api/exports/" + id, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (resp) { return resp.json(); })
        .then(function (job) {
          bar.max = Math.max(job.total, 1);
          bar.value = job.done;
          status.textContent = fill(box.dataset.msgProgress, {done: job.done, total: job.total});
          if (job.status === "running") { setTimeout(function () { poll(id); }, 400); return; }
          if (job.status === "failed") { failed(job.error || "?"); return; }
          status.textContent = box.dataset.msgReady;
          bar.value = bar.max;
          links.forEach(function (l) { l.removeAttribute("aria-disabled"); });
          window.location.href = job.download;
        }).catch(function (err) { failed(String(err)); });
    }
  }
  // Phone-sized screens: the filters start folded (unless some are in use), so results come first.
  var panel = document.querySelector(".filters-panel");
  if (panel && !panel.dataset.active && window.matchMedia("(max-width: 760px)").matches) {
    panel.open = false;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-export]");
    if (!link) { return; }
    var box = link.closest(".export");
    if (!box || !window.fetch) { return; }
    event.preventDefault();
    if (link.getAttribute("aria-disabled") === "true") { return; }
    startExport(box, link);
  });
})();
