// The weekly hours editor (scheduling's professional form): per weekday, add and remove time ranges, or mark the
// day closed (its inputs are then disabled, so they are not posted). Without JavaScript each day still shows its
// ranges and one empty range to fill, and the closed box.
(function () {
  "use strict";
  function setup(day) {
    var closed = day.querySelector("[data-role=closed]"), box = day.querySelector("[data-role=intervals]");
    var add = day.querySelector("[data-action=add-interval]");
    function sync() {
      box.hidden = closed.checked;
      box.querySelectorAll("input").forEach(function (input) { input.disabled = closed.checked; });
    }
    function blank(row) {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      var extra = row.querySelector("[data-action=remove-interval] .sr-only");
      if (extra) extra.textContent = " " + day.querySelector("legend").textContent;
      return row;
    }
    add.addEventListener("click", function () {
      var rows = box.querySelectorAll("[data-role=interval]");
      var row = blank(rows[rows.length - 1].cloneNode(true));
      box.insertBefore(row, add);
      row.querySelector("input").focus();
    });
    box.addEventListener("click", function (event) {
      var button = event.target.closest("[data-action=remove-interval]");
      if (!button) return;
      var rows = box.querySelectorAll("[data-role=interval]"), row = button.closest("[data-role=interval]");
      if (rows.length === 1) { blank(row); row.querySelector("input").focus(); return; }
      row.remove();
      add.focus();
    });
    closed.addEventListener("change", function () {
      sync();
      if (!closed.checked) box.querySelector("input").focus();
    });
    // Fresh rows for a day that opens with none: the empty one drawn by the server stays.
    sync();
  }
  document.querySelectorAll(".weekday-hours").forEach(setup);
})();
