// mediawatch: the alerts and sources pages. Every page works without this file.
// Forms marked data-confirm ask first; a source's "crawl running" status refreshes itself until the run ends.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  var live = document.querySelector("[data-crawl-status]");
  if (live && window.fetch) {
    var url = live.getAttribute("data-crawl-status");
    var poll = function () {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (resp) { return resp.json(); })
        .then(function (state) {
          if (state.running) { setTimeout(poll, 2000); return; }
          window.location.reload();
        }).catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 2000);
  }
})();
