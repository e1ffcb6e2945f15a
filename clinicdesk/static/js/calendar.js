// The calendar page: FullCalendar 6 (with the scheduler's resource columns) over the scheduling JSON endpoints.
// Times are the location's wall-clock: FullCalendar runs in the location's named zone without a time-zone
// plugin, the server sends and reads times without an offset. Every write goes to the server, which decides;
// a refused move is put back and the reason shown.
(function () {
  "use strict";
  var el = document.getElementById("calendar");
  if (!el || typeof FullCalendar === "undefined") { return; }
  var cfg = el.dataset;
  var canBook = cfg.canBook === "1";
  var statusBox = document.getElementById("calendar-status");
  var COLOR = /^#[0-9a-fA-F]{6}$/;
  var PROVIDERS_VIEW = "resourceTimeGridDay";
  var fetchedFor = null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function announce(text, kind) {
    if (!statusBox) { return; }
    statusBox.textContent = text || "";
    statusBox.className = "calendar-status" + (kind ? " " + kind : "");
  }

  // A JSON answer, or an Error carrying the server's message and field errors.
  function readJSON(response) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === -1) {
      var err = new Error(response.status === 403 ? "You may not do that." : "The page is out of date or your session has ended; reload the page.");
      err.status = response.status;
      return Promise.reject(err);
    }
    return response.json().then(function (data) {
      if (response.ok) { return data; }
      var failure = new Error(data.message || data.detail || "That did not work (" + response.status + ").");
      failure.status = response.status;
      failure.errors = data.errors || {};
      throw failure;
    });
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(readJSON);
  }

  function postForm(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: body
    }).then(readJSON);
  }

  function baseParams() {
    var params = new URLSearchParams();
    params.set("location", cfg.location);
    (cfg.providers || "").split(",").forEach(function (id) { if (id) { params.append("provider", id); } });
    return params;
  }

  // Dates are "UTC-coerced" in a named zone without a plugin: their UTC fields are the location's wall-clock.
  function dayOf(date) { return date.toISOString().slice(0, 10); }

  var calendar = new FullCalendar.Calendar(el, {
    schedulerLicenseKey: "GPL-My-Project-Is-Open-Source",
    timeZone: cfg.timeZone,
    initialView: cfg.initialView || PROVIDERS_VIEW,
    initialDate: cfg.initialDate,
    headerToolbar: { left: "prev,next today", center: "title", right: "resourceTimeGridDay,timeGridDay,timeGridWeek,dayGridMonth" },
    // FullCalendar's icon font is a data: URL, which the CSP's font rules refuse: app.css draws the icons as text.
    buttonText: { today: "Today", resourceTimeGridDay: "Providers", timeGridDay: "Day", timeGridWeek: "Week", dayGridMonth: "Month" },
    views: { resourceTimeGridDay: { buttonText: "Providers" } },
    height: "auto",
    allDaySlot: false,
    nowIndicator: true,
    slotMinTime: "07:00:00",
    slotMaxTime: "19:00:00",
    slotDuration: "00:15:00",
    slotLabelInterval: "01:00",
    scrollTime: "08:00:00",
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    datesAboveResources: true,
    dayMaxEvents: 6,
    editable: canBook,
    eventResourceEditable: canBook,
    eventDurationEditable: canBook,
    selectable: canBook,
    selectMirror: true,
    unselectAuto: false,
    resourceOrder: "order",
    resources: function (info, success, failure) {
      getJSON(cfg.resourcesUrl + "?" + baseParams().toString()).then(success).catch(function (err) {
        announce(err.message, "error");
        failure(err);
      });
    },
    events: function (info, success, failure) {
      var params = baseParams();
      params.set("start", info.startStr);
      params.set("end", info.endStr);
      // The multi-provider day comes whole from the day view (with each provider's open hours and time away).
      // FullCalendar asks for the first events while it is being built, before `calendar` is assigned, and on a
      // change of view it asks before `calendar.view` is the new one: datesSet then fetches again (see there).
      var viewType = calendar ? calendar.view.type : (cfg.initialView || PROVIDERS_VIEW);
      fetchedFor = viewType;
      var providersView = viewType === PROVIDERS_VIEW;
      getJSON((providersView ? cfg.dayUrl : cfg.eventsUrl) + "?" + params.toString())
        .then(function (data) { success(Array.isArray(data) ? data : data.events); })
        .catch(function (err) { announce(err.message, "error"); failure(err); });
    },
    loading: function (busy) { el.setAttribute("aria-busy", busy ? "true" : "false"); },
    eventDidMount: function (arg) {
      var p = arg.event.extendedProps;
      if (arg.event.display === "background") {
        if (arg.event.title) { arg.el.title = arg.event.title; }
        return;
      }
      var parts = [arg.event.title, p.type, p.statusLabel];
      if (p.room) { parts.push("Room " + p.room); }
      if (p.notes) { parts.push(p.notes); }
      arg.el.title = parts.filter(Boolean).join(" · ");
      arg.el.setAttribute("data-appointment", arg.event.id);
      arg.el.setAttribute("data-status", p.status || "");
    },
    eventContent: function (arg) {
      if (arg.event.display === "background") { return true; }
      var p = arg.event.extendedProps;
      var wrap = document.createElement("div");
      wrap.className = "appt-body";
      var time = document.createElement("span");
      time.className = "appt-time";
      time.textContent = arg.timeText;
      var name = document.createElement("span");
      name.className = "appt-name";
      name.textContent = arg.event.title;
      var meta = document.createElement("span");
      meta.className = "appt-meta";
      meta.textContent = [p.type, p.status === "scheduled" ? "" : p.statusLabel, p.room].filter(Boolean).join(" · ");
      wrap.appendChild(time);
      wrap.appendChild(name);
      wrap.appendChild(meta);
      return { domNodes: [wrap] };
    },
    eventDrop: moveEvent,
    eventResize: moveEvent,
    select: openBooking,
    datesSet: function (info) {
      if (fetchedFor !== null && fetchedFor !== info.view.type) { calendar.refetchEvents(); }
      var day = dayOf(info.view.currentStart);
      var params = baseParams();
      params.set("date", day);
      var sheet = document.getElementById("day-sheet-link");
      if (sheet) { sheet.href = cfg.daySheetUrl + "?" + params.toString(); }
      var viewName = { resourceTimeGridDay: "providers", timeGridDay: "day", timeGridWeek: "week", dayGridMonth: "month" }[info.view.type];
      params.set("view", viewName || "providers");
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
      }
      var viewInput = document.getElementById("cal-view");
      if (viewInput) { viewInput.value = viewName || "providers"; }
      var dateInput = document.getElementById("cal-date");
      if (dateInput) { dateInput.value = day; }
    }
  });

  function moveEvent(info) {
    var event = info.event;
    var url = event.extendedProps.moveUrl;
    if (!url) { info.revert(); return; }
    var body = new URLSearchParams();
    body.set("start", event.startStr);
    if (event.end) { body.set("end", event.endStr); }
    if (info.newResource) { body.set("resource", info.newResource.id); }
    announce("Saving…");
    postForm(url, body).then(function (data) {
      announce(data.message || "Appointment moved.", "ok");
      calendar.refetchEvents();
    }).catch(function (err) {
      info.revert();
      announce((err.status === 409 ? "Not moved, the time is taken: " : "Not moved: ") + err.message, "error");
    });
  }

  // --- booking from an empty slot: patient, type (and provider), book ------------------------------------------
  var dialog = document.getElementById("book-dialog");
  var form = document.getElementById("book-form");
  var search = document.getElementById("book-patient-search");
  var options = document.getElementById("book-patient-options");
  var chosenPatient = document.getElementById("book-patient");
  var chosenLabel = document.getElementById("book-patient-chosen");
  var lastQuery = "";
  var searchTimer = null;

  function clearErrors() {
    if (!form) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (p) { p.textContent = ""; });
    Array.prototype.forEach.call(form.querySelectorAll(".has-error"), function (f) { f.classList.remove("has-error"); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (f) { f.removeAttribute("aria-invalid"); });
  }

  function showErrors(err) {
    var errors = err.errors || {};
    var shown = false;
    Object.keys(errors).forEach(function (name) {
      var target = form.querySelector('[data-error-for="' + name + '"]') || form.querySelector('[data-error-for="__all__"]');
      target.textContent = (target.textContent ? target.textContent + " " : "") + errors[name].join(" ");
      var field = form.querySelector('[data-field="' + name + '"]');
      if (field) {
        field.classList.add("has-error");
        var input = field.querySelector("input:not([type=hidden]), select, textarea");
        if (input) { input.setAttribute("aria-invalid", "true"); }
      }
      shown = true;
    });
    if (!shown) { form.querySelector('[data-error-for="__all__"]').textContent = err.message; }
  }

  function resetPatient() {
    chosenPatient.value = "";
    chosenLabel.hidden = true;
    chosenLabel.textContent = "";
    options.innerHTML = "";
    search.value = "";
    search.setAttribute("aria-expanded", "false");
    lastQuery = "";
  }

  function openBooking(info) {
    calendar.unselect();
    if (!canBook || !dialog) { return; }
    clearErrors();
    resetPatient();
    form.reset();
    form.elements.start.value = info.startStr;
    var provider = info.resource ? info.resource.id : ((cfg.providers || "").split(",")[0] || "");
    if (provider) { form.elements.provider.value = provider; }
    document.getElementById("book-when").textContent = calendar.formatDate(info.start, {
      weekday: "long", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: cfg.timeZone
    }) + (info.resource ? " · " + info.resource.title : "");
    dialog.showModal();
    search.focus();
  }

  function choosePatient(option) {
    chosenPatient.value = option.getAttribute("data-id");
    chosenLabel.textContent = "Patient: " + option.getAttribute("data-label");
    chosenLabel.hidden = false;
    search.value = option.getAttribute("data-name");
    options.innerHTML = "";
    search.setAttribute("aria-expanded", "false");
    var field = form.querySelector('[data-field="patient"]');
    field.classList.remove("has-error");
    form.querySelector('[data-error-for="patient"]').textContent = "";
    form.elements.appointment_type.focus();
  }

  function renderPatients(list, query) {
    options.innerHTML = "";
    if (!list.length) {
      var none = document.createElement("p");
      none.className = "meta empty";
      none.textContent = "No patient matches “" + query + "”. Try the birth date, a phone number or the MRN.";
      options.appendChild(none);
    }
    list.forEach(function (p, i) {
      var option = document.createElement("div");
      option.className = "suggestion";
      option.setAttribute("role", "option");
      option.setAttribute("tabindex", "-1");
      option.id = "book-patient-option-" + i;
      option.setAttribute("data-id", p.id);
      option.setAttribute("data-name", p.name);
      option.setAttribute("data-label", p.name + " (born " + p.dob + ", MRN " + p.mrn + ")");
      var strong = document.createElement("strong");
      strong.textContent = p.name;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " " + p.dob + " · MRN " + p.mrn + (p.status ? " · " + p.status : "");
      option.appendChild(strong);
      option.appendChild(meta);
      options.appendChild(option);
    });
    search.setAttribute("aria-expanded", list.length ? "true" : "false");
  }

  function lookUp() {
    var query = search.value.trim();
    if (query === lastQuery) { return; }
    lastQuery = query;
    chosenPatient.value = "";
    chosenLabel.hidden = true;
    if (query.length < 2) { options.innerHTML = ""; search.setAttribute("aria-expanded", "false"); return; }
    getJSON(cfg.patientsUrl + "?q=" + encodeURIComponent(query)).then(function (list) {
      if (search.value.trim() === query) { renderPatients(list, query); }
    }).catch(function (err) { form.querySelector('[data-error-for="patient"]').textContent = err.message; });
  }

  if (dialog && form) {
    search.addEventListener("input", function () {
      if (searchTimer) { clearTimeout(searchTimer); }
      searchTimer = setTimeout(lookUp, 150);
    });
    search.addEventListener("keydown", function (event) {
      var first = options.querySelector("[role=option]");
      if (event.key === "ArrowDown" && first) { event.preventDefault(); first.focus(); }
      if (event.key === "Enter") {
        event.preventDefault();
        if (first && options.querySelectorAll("[role=option]").length === 1) { choosePatient(first); }
      }
    });
    options.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) { choosePatient(option); }
    });
    options.addEventListener("keydown", function (event) {
      var all = Array.prototype.slice.call(options.querySelectorAll("[role=option]"));
      var index = all.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < all.length - 1) { event.preventDefault(); all[index + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (index > 0 ? all[index - 1] : search).focus(); }
      if ((event.key === "Enter" || event.key === " ") && index >= 0) { event.preventDefault(); choosePatient(all[index]); }
    });
    form.querySelector("[data-close-dialog]").addEventListener("click", function () { dialog.close(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors();
      if (!chosenPatient.value) {
        showErrors({ errors: { patient: ["Choose the patient from the list."] } });
        search.focus();
        return;
      }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      postForm(form.action, new FormData(form)).then(function (data) {
        dialog.close();
        announce(data.message || "Booked.", "ok");
        calendar.refetchEvents();
      }).catch(function (err) {
        showErrors(err);
      }).then(function () { button.disabled = false; });
    });
  }

  // The colour key: type colours come from the data, checked before use.
  Array.prototype.forEach.call(document.querySelectorAll(".swatch[data-color]"), function (swatch) {
    var color = swatch.getAttribute("data-color");
    if (COLOR.test(color)) { swatch.style.backgroundColor = color; }
  });

  calendar.render();
  window.clinicdeskCalendar = calendar;
})();
