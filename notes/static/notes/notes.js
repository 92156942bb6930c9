// Notes console: record in the browser with MediaRecorder and upload; poll a note's status while it processes.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setupRecorder(form) {
    var box = form.querySelector(".recorder");
    if (!box || !window.MediaRecorder || !navigator.mediaDevices) return;
    box.hidden = false;
    var start = box.querySelector("[data-action=record]");
    var stop = box.querySelector("[data-action=stop]");
    var clock = box.querySelector(".recording-time");
    var errorBox = form.querySelector(".upload-error");
    var recorder, chunks = [], timer, started;

    function extensionFor(type) {
      if (type.indexOf("ogg") >= 0) return "ogg";
      if (type.indexOf("mp4") >= 0) return "m4a";
      return "webm";
    }

    function upload(blob) {
      var data = new FormData(form);
      data.delete("audio");
      data.append("audio", blob, form.dataset.recordingName + "." + extensionFor(blob.type));
      fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                          headers: {"Accept": "application/json", "X-CSRFToken": csrfToken(form)}})
        .then(function (response) { return response.json().then(function (body) { return [response, body]; }); })
        .then(function (pair) {
          if (pair[0].ok) { window.location = pair[1].url; return; }
          errorBox.textContent = pair[1].message; errorBox.hidden = false;
        })
        .catch(function (error) { errorBox.textContent = String(error); errorBox.hidden = false; });
    }

    start.addEventListener("click", function () {
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
        timer = setInterval(function () {
          var seconds = Math.round((Date.now() - started) / 1000);
          clock.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
        }, 500);
        start.hidden = true; stop.hidden = false;
      }).catch(function (error) { errorBox.textContent = String(error); errorBox.hidden = false; });
    });
    stop.addEventListener("click", function () { stop.disabled = true; recorder.stop(); });
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
            box.querySelector("[data-role=status-label]").textContent = body.status;
          }
          setTimeout(check, delay);
        })
        .catch(function () { setTimeout(check, delay * 2); });
    }
    setTimeout(check, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (form) setupRecorder(form);
    var status = document.getElementById("note-status");
    if (status && status.dataset.poll) pollStatus(status);
  });
})();
