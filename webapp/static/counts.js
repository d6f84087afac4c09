// The header's inbox counts, refreshed every minute without a reload (and when the tab comes back
// into view) from /inbox/counts.json; without JavaScript the counts are those of the last page load.
(function () {
  var nav = document.getElementById("nav-inbox");
  if (!nav || !window.fetch) { return; }
  var url = nav.getAttribute("data-counts");
  function show(counts) {
    nav.querySelector("[data-count=mine]").textContent = counts.mine;
    nav.querySelector("[data-count=unclaimed]").textContent = counts.unclaimed;
    var late = nav.querySelector("[data-count=overdue]");
    late.textContent = counts.overdue ? counts.overdue + " overdue" : "";
    late.hidden = !counts.overdue;
  }
  function refresh() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok && r.headers.get("Content-Type").indexOf("json") >= 0 ? r.json() : null; })
      .then(function (counts) { if (counts) { show(counts); } })
      .catch(function () { /* offline for a moment: keep what is shown */ });
  }
  setInterval(function () { if (!document.hidden) { refresh(); } }, 60000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  window.alertflowRefreshCounts = refresh;
})();
