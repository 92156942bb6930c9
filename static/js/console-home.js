// The home's three charts (Chart.js, vendored under static/vendor/chartjs/) and the same figures as a table.
(function () {
  "use strict";
  var source = document.getElementById("activity-data");
  if (!source) return;
  var data = JSON.parse(source.textContent);
  var rows = document.getElementById("activity-rows");
  data.labels.forEach(function (day, index) {
    var tr = document.createElement("tr");
    [day, data.bookings[index], data.calls[index], data.noShows[index]].forEach(function (value, column) {
      var cell = document.createElement(column === 0 ? "th" : "td");
      if (column === 0) cell.scope = "row";
      cell.textContent = value;
      tr.appendChild(cell);
    });
    rows.appendChild(tr);
  });
  if (typeof window.Chart === "undefined") return;
  var labels = data.labels.map(function (day) { return day.slice(5); });
  function draw(id, values, colour, kind) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    canvas.chart = new window.Chart(canvas, {
      type: kind,
      data: { labels: labels, datasets: [{ data: values, backgroundColor: colour, borderColor: colour, tension: 0.25 }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 8 } } }
      }
    });
  }
  draw("chart-bookings", data.bookings, "#0b6e99", "bar");
  draw("chart-calls", data.calls, "#6b4fa0", "line");
  draw("chart-noshows", data.noShows, "#b00020", "bar");
  document.documentElement.dataset.chartsReady = "1";
})();
