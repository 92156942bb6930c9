// The campaigns page: the audience count follows the filters (the JSON count a moment after each change), and the
// confirmation step takes the focus when it opens. Without JavaScript, "Preview and send…" shows both.
(function () {
  "use strict";
  var heading = document.getElementById("confirm-heading");
  if (heading) { heading.focus(); }
  var form = document.getElementById("campaign-form");
  if (!form) return;
  var FIELDS = ["tags", "last_visit_after", "last_visit_before", "professional", "service", "future"];
  var box = document.getElementById("audience-count"), label = document.getElementById("audience-label");
  var detail = document.getElementById("audience-detail"), timer = null, asked = 0;
  function count() {
    var params = new URLSearchParams(), ticket = ++asked;
    FIELDS.forEach(function (name) { params.set(name, form.elements[name].value); });
    fetch(form.dataset.audienceUrl + "?" + params, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (ticket !== asked) return;
        if (body.errors) {
          label.textContent = body.errors.join(" ");
          detail.textContent = "";
          box.dataset.targets = "";
        } else {
          label.textContent = body.label;
          detail.textContent = body.detail;
          box.dataset.targets = String(body.targets);
        }
        box.dataset.counted = params.toString();
      })
      .catch(function () { /* the count stays as it was; the preview still counts on the server */ });
  }
  function later() { clearTimeout(timer); timer = setTimeout(count, 250); }
  FIELDS.forEach(function (name) {
    form.elements[name].addEventListener("input", later);
    form.elements[name].addEventListener("change", later);
  });
})();
