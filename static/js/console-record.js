// Search as you type on the patient records page: asks the JSON search a moment after each keystroke and lists
// the answers (already masked by the server for roles that see masked data). Without JavaScript the form submits.
(function () {
  "use strict";
  var form = document.getElementById("patient-search-form");
  if (!form) return;
  var input = document.getElementById("patient-q"), list = document.getElementById("patient-results");
  var count = document.getElementById("patient-count"), timer = null, asked = 0;
  function show(patients, query) {
    list.textContent = "";
    patients.forEach(function (row) {
      var item = document.createElement("li"), link = document.createElement("a"), phone = document.createElement("span");
      link.href = row.url; link.textContent = row.name || "—";
      phone.className = "muted"; phone.textContent = " " + (row.phone || "");
      item.appendChild(link); item.appendChild(phone); list.appendChild(item);
    });
    count.textContent = query.length < 2 ? "" : (list.dataset[patients.length === 1 ? "one" : "many"] || "%s")
      .replace("%s", patients.length);
  }
  list.dataset.one = form.dataset.one || "1 patient found";
  list.dataset.many = form.dataset.many || "%s patients found";
  function search() {
    var query = input.value.trim(), ticket = ++asked;
    if (query.length < 2) { show([], query); return; }
    fetch(form.dataset.searchUrl + "?q=" + encodeURIComponent(query), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : {patients: []}; })
      .then(function (body) { if (ticket === asked) { show(body.patients, query); form.dataset.ready = query; } });
  }
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 200); });
  form.addEventListener("submit", function (event) { event.preventDefault(); search(); });
})();
