// The console agenda (templates/scheduling/console/agenda.html): drag an appointment to another time or column,
// or move it with Alt + arrow keys; drag its bottom edge, or press Alt + Shift + Up/Down, to change when it ends.
// The server decides (scheduling.views.appointment_move and appointment_resize) and a refused change snaps back
// with the reason. Free times are plain links to the new-appointment form; arrow keys walk them.
(function () {
  "use strict";
  var grid = document.getElementById("agenda");
  if (!grid) return;
  var statusBox = document.getElementById("agenda-status");
  var statusText = statusBox.querySelector(".agenda-status-text"), statusTimer = null;
  statusBox.querySelector(".agenda-status-close").addEventListener("click", function () { say(""); });
  var step = parseInt(grid.dataset.step, 10);
  var firstMinute = parseInt(grid.dataset.firstMinute, 10);
  var rows = parseInt(grid.dataset.rows, 10);
  var DRAG_THRESHOLD = 5;

  // A toast over the grid (nothing shifts under the pointer); refusals stay until closed or the next action.
  function say(text, kind) {
    clearTimeout(statusTimer);
    statusText.textContent = text || "";
    statusBox.className = "agenda-status" + (kind ? " " + kind : "");
    statusBox.setAttribute("role", kind === "error" ? "alert" : "status");
    statusBox.hidden = !text;
    if (kind === "ok") statusTimer = setTimeout(function () { statusBox.hidden = true; }, 6000);
  }

  function slotHeight(column) {
    var slot = column.querySelector(".slot");
    return slot ? slot.getBoundingClientRect().height : 14;
  }

  function clockAt(minute) {
    minute = Math.min(minute, 24 * 60);
    return String(Math.floor(minute / 60)).padStart(2, "0") + ":" + String(minute % 60).padStart(2, "0");
  }

  function clockOf(row) {
    return clockAt(firstMinute + row * step);
  }

  function labels(element) {
    return [element.querySelector(".appointment-start"), element.querySelector(".appointment-end")];
  }

  // Where it is: the position and the times it shows (while dragging, the times it would get).
  function place(element, column, top, shown) {
    if (element.parentNode !== column) column.appendChild(element);
    element.style.setProperty("--top", String(top));
    var parts = labels(element);
    if (shown) {
      parts[0].textContent = shown[0];
      parts[1].textContent = shown[1];
    } else if (top === Math.round(top)) {
      var start = firstMinute + top * step;
      parts[0].textContent = clockAt(start);
      parts[1].textContent = "\u2013" + clockAt(start + parseInt(element.dataset.minutes, 10));
    }
  }

  function whereIs(element) {
    return {column: element.parentNode, top: parseFloat(element.style.getPropertyValue("--top")),
            height: parseFloat(element.style.getPropertyValue("--height")) || 1,
            shown: labels(element).map(function (part) { return part.textContent; })};
  }

  // While resizing: the block ends at grid row `endRow` (its start stays) and shows the end it would get.
  function stretch(element, top, endRow) {
    element.style.setProperty("--height", String(Math.max(endRow - top, 0.5)));
    labels(element)[1].textContent = "\u2013" + clockAt(firstMinute + endRow * step);
  }

  function columnAt(x, y) {
    var found = document.elementsFromPoint(x, y);
    for (var i = 0; i < found.length; i++) {
      if (found[i].classList && found[i].classList.contains("agenda-column")) return found[i];
    }
    return null;
  }

  // One request per change; the element stays where it was put on success, or goes back to `origin`.
  function send(element, url, body, origin, saying, failed, done) {
    element.classList.add("saving");
    element.setAttribute("aria-busy", "true");
    say(saying, "");
    fetch(url.replace("00000000-0000-0000-0000-000000000000", element.dataset.id), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": grid.dataset.csrf, "Accept": "application/json"},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, data: data};
      });
    }).then(function (result) {
      element.classList.remove("saving");
      element.removeAttribute("aria-busy");
      // A sign-in page (the session ended) answers 200 too: only the endpoint's own answer counts as done.
      if (!result.ok || !result.data.id) return snapBack(element, origin, result.data.message || failed);
      element.querySelector(".appointment-start").textContent = result.data.time;
      element.querySelector(".appointment-end").textContent = "\u2013" + result.data.endTime;
      if (done) done(result.data);
      say(result.data.message, "ok");
    }).catch(function () {
      element.classList.remove("saving");
      element.removeAttribute("aria-busy");
      snapBack(element, origin, failed);
    });
  }

  function move(element, column, row, origin) {
    var rowsLong = parseFloat(element.style.getPropertyValue("--height")) || 1;
    if (row < 0 || row + rowsLong > rows) return snapBack(element, origin, "");
    var body = {date: column.dataset.date, time: clockOf(row)};
    if (column.dataset.professional) body.professionalId = column.dataset.professional;
    send(element, grid.dataset.moveUrl, body, origin, grid.dataset.msgMoving, grid.dataset.msgFailed,
         function () { element.dataset.moved = "true"; });
  }

  // The new end goes as the wall-clock time of grid row `endRow` ("24:00" at the bottom of the day).
  function resize(element, endRow, origin) {
    if (endRow > rows) return snapBack(element, origin, "");
    send(element, grid.dataset.resizeUrl, {endTime: clockAt(firstMinute + endRow * step)}, origin,
         grid.dataset.msgResizing, grid.dataset.msgResizeFailed, function (data) {
           element.dataset.minutes = String(data.minutes);
           element.style.setProperty("--height", String(data.minutes / step));
           element.classList.toggle("short", data.minutes < 30);
           element.dataset.resized = "true";
         });
  }

  function snapBack(element, origin, reason) {
    element.style.setProperty("--height", String(origin.height));
    place(element, origin.column, origin.top, origin.shown);
    element.classList.remove("refused");
    void element.offsetWidth;  // restart the shake
    element.classList.add("refused");
    if (reason) say(reason, "error");
    element.focus();
  }

  // --- dragging with a mouse, pen or finger ---
  var drag = null, justDragged = false;

  // A press on the handle at the bottom of a block changes its end; anywhere else on it moves it.
  grid.addEventListener("pointerdown", function (event) {
    var element = event.target.closest(".appointment.movable");
    if (!element || event.button !== 0) return;
    drag = {element: element, startX: event.clientX, startY: event.clientY, moving: false, origin: whereIs(element),
            grabOffset: event.clientY - element.getBoundingClientRect().top, pointerId: event.pointerId,
            resizing: !!event.target.closest(".appointment-resize")};
  });

  grid.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    if (!drag.moving) {
      if (Math.abs(event.clientX - drag.startX) + Math.abs(event.clientY - drag.startY) < DRAG_THRESHOLD) return;
      drag.moving = true;
      drag.element.classList.add(drag.resizing ? "resizing" : "dragging");
      try { drag.element.setPointerCapture(event.pointerId); } catch (error) { /* pointer already gone */ }
    }
    event.preventDefault();
    if (drag.resizing) {
      var own = drag.element.parentNode, top = drag.origin.top;
      var bottom = (event.clientY - own.getBoundingClientRect().top) / slotHeight(own);
      drag.endRow = Math.max(Math.floor(top) + 1, Math.min(rows, Math.round(bottom)));
      stretch(drag.element, top, drag.endRow);
      return;
    }
    var column = columnAt(event.clientX, event.clientY) || drag.element.parentNode;
    var height = slotHeight(column);
    var top = event.clientY - drag.grabOffset - column.getBoundingClientRect().top;
    var row = Math.max(0, Math.min(rows - 1, Math.round(top / height)));
    drag.row = row;
    place(drag.element, column, row);
  });

  function endDrag(event, cancelled) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    var current = drag;
    drag = null;
    if (!current.moving) return;
    current.element.classList.remove("dragging", "resizing");
    justDragged = true;
    setTimeout(function () { justDragged = false; }, 0);
    if (current.resizing) {
      var origin = current.origin;
      if (cancelled || current.endRow === undefined || current.endRow === origin.top + origin.height) {
        current.element.style.setProperty("--height", String(origin.height));
        return place(current.element, origin.column, origin.top, origin.shown);
      }
      return resize(current.element, current.endRow, origin);
    }
    var column = current.element.parentNode;
    if (cancelled || (column === current.origin.column && current.row === current.origin.top)) {
      place(current.element, current.origin.column, current.origin.top, current.origin.shown);
      return;
    }
    move(current.element, column, current.row, current.origin);
  }

  grid.addEventListener("pointerup", function (event) { endDrag(event, false); });
  grid.addEventListener("pointercancel", function (event) { endDrag(event, true); });

  grid.addEventListener("click", function (event) {
    if (justDragged && event.target.closest(".appointment")) {
      event.preventDefault();
      return;
    }
    var slot = event.target.closest(".slot");
    if (slot && slot.classList.contains("past")) say(grid.dataset.msgPast, "error");
    else if (slot && slot.classList.contains("off")) say(grid.dataset.msgOff, "error");
  });
  grid.addEventListener("dragstart", function (event) { event.preventDefault(); });  // no native link drag

  // --- keyboard ---
  var columns = Array.prototype.slice.call(grid.querySelectorAll(".agenda-column"));

  grid.addEventListener("keydown", function (event) {
    var appointment = event.target.closest(".appointment.movable");
    if (appointment && event.altKey && event.shiftKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      var before = whereIs(appointment), end = before.top + before.height;
      // One grid step, from an end off the grid to the nearest line in that direction.
      var endRow = event.key === "ArrowDown" ? Math.floor(end + 1e-6) + 1 : Math.ceil(end - 1e-6) - 1;
      if (endRow > before.top) stretch(appointment, before.top, endRow);
      appointment.focus();
      resize(appointment, endRow, before);
      return;
    }
    if (appointment && event.altKey && /^Arrow/.test(event.key)) {
      event.preventDefault();
      var from = whereIs(appointment);
      var index = columns.indexOf(from.column);
      var row = Math.round(from.top), column = from.column;
      if (event.key === "ArrowUp") row -= 1;
      if (event.key === "ArrowDown") row += 1;
      if (event.key === "ArrowLeft") column = columns[index - 1];
      if (event.key === "ArrowRight") column = columns[index + 1];
      if (!column) return;
      place(appointment, column, row);
      appointment.focus();
      move(appointment, column, row, from);
      return;
    }
    var slot = event.target.closest(".slot.open");
    if (!slot || !/^Arrow(Up|Down|Left|Right)$/.test(event.key) || event.altKey) return;
    var here = slot.parentNode, target = null, slotRow = parseInt(slot.dataset.row, 10);
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      var open = Array.prototype.slice.call(here.querySelectorAll(".slot.open"));
      target = open[open.indexOf(slot) + (event.key === "ArrowUp" ? -1 : 1)];
    } else {
      var next = columns[columns.indexOf(here) + (event.key === "ArrowLeft" ? -1 : 1)];
      if (next) {
        target = next.querySelector('.slot.open[data-row="' + slotRow + '"]') || next.querySelector(".slot.open");
      }
    }
    if (target) {
      event.preventDefault();
      rove(target);
    }
  });

  // Roving focus: one free time per column is in the tab order, the arrow keys reach the others.
  function rove(target) {
    var column = target.parentNode;
    column.querySelectorAll(".slot.open").forEach(function (slot) { slot.tabIndex = -1; });
    target.tabIndex = 0;
    target.focus();
  }
  columns.forEach(function (column) {
    var open = column.querySelectorAll(".slot.open");
    open.forEach(function (slot, index) { slot.tabIndex = index === 0 ? 0 : -1; });
  });

  // --- the now-line follows the clock; today's grid opens scrolled to it ---
  var nowLine = grid.querySelector(".now-line");
  var loadedAt = Date.now();
  if (nowLine) {
    var startTop = parseFloat(nowLine.style.getPropertyValue("--top"));
    setInterval(function () {
      var elapsedRows = (Date.now() - loadedAt) / 60000 / step;
      var top = startTop + elapsedRows;
      if (top >= rows) nowLine.hidden = true;
      nowLine.style.setProperty("--top", String(top));
    }, 30000);
  }
  var scroller = document.getElementById("agenda-scroll");
  var anchor = nowLine;  // other days open at the top: the first hour anyone works
  if (scroller && anchor) {
    var header = grid.querySelector(".agenda-head");
    var offset = anchor.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
    scroller.scrollTop = Math.max(0, offset - (header ? header.offsetHeight : 0) - 60);
  }
})();
