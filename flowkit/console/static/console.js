// flowkit console: keep a flow's diagram counts fresh while the page is open.
// Plain JavaScript, no library. Without it the page still shows the counts of its load.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-counts");
  var every = Math.max(1, parseFloat(box.getAttribute("data-poll") || "5")) * 1000;
  var RESTING = ["waiting", "running", "parked", "failed"];

  function total(counts) {
    return RESTING.reduce(function (sum, s) { return sum + (counts[s] || 0); }, 0);
  }

  function paintBadge(badge, counts) {
    var n = total(counts);
    badge.querySelector("text").textContent = String(n);
    badge.classList.toggle("zero", n === 0);
    badge.classList.toggle("problem", !!(counts.parked || counts.failed));
    var parts = RESTING.filter(function (s) { return counts[s]; })
      .map(function (s) { return counts[s] + " " + s; });
    badge.querySelector("title").textContent = parts.join(", ") || "no runs here";
  }

  function paintRow(row, counts) {
    row.querySelectorAll("td[data-status]").forEach(function (cell) {
      var n = counts[cell.getAttribute("data-status")] || 0;
      cell.textContent = String(n);
      cell.classList.toggle("zero", n === 0);
    });
  }

  function paint(data) {
    var counts = data.counts || {};
    box.querySelectorAll("g.count[data-step]").forEach(function (badge) {
      paintBadge(badge, counts[badge.getAttribute("data-step")] || {});
    });
    document.querySelectorAll("#steps tr[data-step]").forEach(function (row) {
      paintRow(row, counts[row.getAttribute("data-step")] || {});
    });
    var stamp = document.getElementById("refreshed");
    if (stamp) { stamp.textContent = "Updated " + new Date().toLocaleTimeString() + "."; }
    box.setAttribute("data-refreshed", String(Date.now()));
  }

  function poll() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { paint(data); } })
      .catch(function () { /* the next poll tries again */ });
  }

  setInterval(poll, every);
  document.addEventListener("visibilitychange", poll);
}());
