// Notes console: choose the note's patient by searching as you type; record in the browser with MediaRecorder
// and upload; save each section of a note as it is typed; poll a note's status while it processes.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // --- The patient: the patient records' own search (scheduling:patient_search), masked by the server.
  function setupPatientPicker(form) {
    var box = document.getElementById("note-patient");
    if (!box) return;
    var input = box.querySelector("#note-patient-q"), list = box.querySelector("#note-patient-results");
    var chosen = box.querySelector(".patient-chosen"), status = box.querySelector("[data-role=patient-status]");
    var hidden = form.querySelector("input[name=patient]"), freeName = form.querySelector("[data-role=free-name]");
    var timer = null, asked = 0;
    box.hidden = false;

    function choose(row) {
      hidden.value = row.id;
      chosen.querySelector("[data-role=chosen-name]").textContent = row.name || "—";
      chosen.hidden = false; input.hidden = true; list.hidden = true; list.textContent = "";
      freeName.hidden = true; status.textContent = "";
      chosen.querySelector("[data-action=unlink]").focus();
    }
    function show(rows, query) {
      list.textContent = "";
      rows.forEach(function (row) {
        var item = document.createElement("li"), button = document.createElement("button");
        button.type = "button"; button.className = "secondary";
        button.textContent = (row.name || "—") + (row.phone ? " · " + row.phone : "");
        button.addEventListener("click", function () { choose(row); });
        item.appendChild(button); list.appendChild(item);
      });
      list.hidden = rows.length === 0;
      status.textContent = query.length >= 2 && rows.length === 0 ? box.dataset.none : "";
    }
    function search() {
      var query = input.value.trim(), ticket = ++asked;
      if (query.length < 2) { show([], query); return; }
      fetch(box.dataset.searchUrl + "?q=" + encodeURIComponent(query), {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : {patients: []}; })
        .then(function (body) { if (ticket === asked) show(body.patients, query); });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 200); });
    input.addEventListener("keydown", function (event) {
      // Enter in the search box picks the only match instead of submitting the upload form.
      if (event.key !== "Enter") return;
      event.preventDefault();
      var buttons = list.querySelectorAll("button");
      if (buttons.length === 1) buttons[0].click(); else if (buttons.length) buttons[0].focus();
    });
    chosen.querySelector("[data-action=unlink]").addEventListener("click", function () {
      hidden.value = ""; chosen.hidden = true; input.hidden = false; freeName.hidden = false;
      input.value = ""; input.focus();
    });
  }

  // --- The recorder: idle, asking for the microphone, recording (with a timer), uploading.
  function setupRecorder(form) {
    var box = form.querySelector(".recorder");
    if (!box || !window.MediaRecorder || !navigator.mediaDevices) return;
    box.hidden = false;
    var start = box.querySelector("[data-action=record]");
    var stop = box.querySelector("[data-action=stop]");
    var clock = box.querySelector(".recording-time");
    var stateText = box.querySelector("[data-role=recorder-state]");
    var errorBox = form.querySelector(".upload-error");
    var recorder, chunks = [], timer, started;

    function setState(state) {
      box.dataset.state = state;
      stateText.textContent = stateText.dataset[state] || "";
      start.disabled = state !== "idle";
      stop.disabled = state !== "recording";
    }
    function fail(message) { errorBox.textContent = message; errorBox.hidden = false; }

    function extensionFor(type) {
      if (type.indexOf("ogg") >= 0) return "ogg";
      if (type.indexOf("mp4") >= 0) return "m4a";
      return "webm";
    }

    function upload(blob) {
      setState("uploading");
      var data = new FormData(form);
      data.delete("audio");
      data.append("audio", blob, form.dataset.recordingName + "." + extensionFor(blob.type));
      fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                          headers: {"Accept": "application/json", "X-CSRFToken": csrfToken(form)}})
        .then(function (response) { return response.json().then(function (body) { return [response, body]; }); })
        .then(function (pair) {
          if (pair[0].ok) { window.location = pair[1].url; return; }
          setState("idle"); fail(pair[1].message || box.dataset.uploadFailed);
        })
        .catch(function () { setState("idle"); fail(box.dataset.uploadFailed); });
    }

    function refused(error) {
      setState("idle");
      var name = error && error.name;
      if (name === "NotAllowedError" || name === "SecurityError") fail(box.dataset.denied);
      else if (name === "NotFoundError" || name === "OverconstrainedError") fail(box.dataset.missing);
      else fail(box.dataset.failed);
    }

    start.addEventListener("click", function () {
      errorBox.hidden = true;
      setState("asking");
      navigator.mediaDevices.getUserMedia({audio: true}).then(function (stream) {
        chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.ondataavailable = function (event) { if (event.data.size) chunks.push(event.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (track) { track.stop(); });
          clearInterval(timer);
          upload(new Blob(chunks, {type: recorder.mimeType || "audio/webm"}));
        };
        recorder.start(1000);
        started = Date.now();
        clock.textContent = "0:00";
        timer = setInterval(function () {
          var seconds = Math.floor((Date.now() - started) / 1000);
          clock.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
        }, 500);
        setState("recording");
      }).catch(refused);
    });
    stop.addEventListener("click", function () {
      if (!recorder || recorder.state !== "recording") return;
      stop.disabled = true; recorder.stop();
    });
    setState("idle");
  }

  // --- Sections: each one saves itself a moment after typing stops; the form's button saves them all. Each save
  // sends the section's version as loaded; a section changed elsewhere meanwhile is refused (409 NOTE_CHANGED):
  // the typed text stays, autosave pauses, and the member chooses to save over it or to reload the other copy.
  function setupAutosave(form) {
    var submitting = false, leaving = false;
    form.querySelectorAll(".section[data-section-url]").forEach(function (section) {
      var area = section.querySelector("textarea"), label = section.querySelector("[data-role=save-state]");
      var version = section.querySelector("input[name$='-version']"), conflict = section.querySelector("[data-role=conflict]");
      var timer = null, saving = false, dirty = false, latest = null;
      function show(state) { section.dataset.saveState = state; label.textContent = form.dataset[state] || ""; }
      function save() {
        if (saving || section.dataset.saveState === "conflict") return;
        saving = true; dirty = false; show("saving");
        var data = new FormData();
        data.append(area.name, area.value);
        if (version) data.append(version.name, version.value);
        fetch(section.dataset.sectionUrl, {method: "POST", body: data, credentials: "same-origin",
                                           headers: {"Accept": "application/json", "X-CSRFToken": csrfToken(form)}})
          .then(function (response) {
            if (response.status === 409) return response.json().then(function (body) { body.conflict = true; return body; });
            if (!response.ok) throw new Error(String(response.status));
            return response.json();
          })
          .then(function (body) {
            saving = false;
            if (body.conflict) {
              latest = body.version; dirty = true; show("conflict");
              if (conflict) { conflict.hidden = false; }
              return;
            }
            if (version && body.version) version.value = body.version;
            if (dirty) { save(); return; }
            show("saved");
          })
          .catch(function () { saving = false; dirty = true; show("failed"); timer = setTimeout(save, 5000); });
      }
      area.addEventListener("input", function () {
        dirty = true;
        if (section.dataset.saveState === "conflict") return;  // waits for the member's choice
        if (!saving) show("unsaved");
        clearTimeout(timer); timer = setTimeout(save, 1000);
      });
      if (conflict) {
        conflict.querySelector("[data-action=overwrite]").addEventListener("click", function () {
          // Knowingly over the other copy: the version the refusal named (a server-rendered refusal already put
          // it in the form).
          if (latest && version) version.value = latest;
          conflict.hidden = true; show("unsaved"); save();
        });
        conflict.querySelector("[data-action=reload]").addEventListener("click", function () { leaving = true; });
      }
      // After a refused "Save note" the page comes back with the typed text: the sections not changed elsewhere
      // carry their current version and save themselves; the changed one waits for the member's choice.
      if (section.dataset.saveState === "conflict") show("conflict");
      else if (section.dataset.saveState === "unsaved") { dirty = true; show("unsaved"); timer = setTimeout(save, 1000); }
    });
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      var pending = form.querySelector("[data-save-state=unsaved], [data-save-state=saving], [data-save-state=failed], " +
                                       "[data-save-state=conflict]");
      if (pending && !submitting && !leaving) { event.preventDefault(); event.returnValue = ""; }
    });
  }

  function pollStatus(box) {
    var delay = 2000;
    function check() {
      fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (body.status !== box.dataset.status) {
            if (body.status === "completed" || body.status === "failed") { window.location.reload(); return; }
            box.dataset.status = body.status;
            box.querySelector("[data-role=status-label]").textContent = body.label || body.status;
          }
          setTimeout(check, delay);
        })
        .catch(function () { setTimeout(check, delay * 2); });
    }
    setTimeout(check, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (form) { setupPatientPicker(form); setupRecorder(form); }
    var sections = document.getElementById("note-sections");
    if (sections) setupAutosave(sections);
    var status = document.getElementById("note-status");
    if (status && status.dataset.poll) pollStatus(status);
  });
})();
