// The knowledge page refreshes the statuses of its documents and passages while a worker reads and embeds them:
// it asks the JSON states view for the ones still processing, updates each badge in place (its box is aria-live)
// and stops once none is processing. Without JavaScript, reloading the page shows the same.
(function () {
  "use strict";
  var root = document.getElementById("knowledge");
  if (!root || !window.fetch) return;
  var url = root.dataset.statesUrl, delay = 1000, MAX_DELAY = 8000, MAX_IDS = 100;

  function processing() {
    return Array.prototype.slice.call(root.querySelectorAll(".badge[data-state='processing']"), 0, MAX_IDS);
  }

  function update(badge, row) {
    badge.dataset.state = row.state;
    badge.textContent = row.label;
    badge.classList.toggle("ok", row.state === "ready");
    badge.classList.toggle("bad", row.state === "failed");
    var reason = badge.parentNode.querySelector(".reason");
    if (reason) reason.textContent = row.state === "failed" ? (row.reason || "") : "";
  }

  function poll() {
    var badges = processing();
    if (!badges.length) { root.dataset.polling = "done"; return; }
    var query = badges.map(function (badge) {
      return badge.dataset.fileId ? "file=" + encodeURIComponent(badge.dataset.fileId)
                                  : "chunk=" + encodeURIComponent(badge.dataset.chunkId);
    }).join("&");
    root.dataset.polling = "on";
    fetch(url + "?" + query, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (body) {
        body.files.forEach(function (row) {
          var badge = root.querySelector(".badge[data-file-id='" + row.id + "']");
          if (badge) update(badge, row);
        });
        body.chunks.forEach(function (row) {
          var badge = root.querySelector(".badge[data-chunk-id='" + row.id + "']");
          if (badge) update(badge, row);
        });
        delay = Math.min(delay * 1.5, MAX_DELAY);
        setTimeout(poll, delay);
      })
      // A row deleted meanwhile (404) or signed out: stop; reloading the page starts again.
      .catch(function () { root.dataset.polling = "stopped"; });
  }

  if (processing().length) setTimeout(poll, delay);
})();
