// The coding page: ICD-10-CM and procedure autocompletes (type, arrows, Enter), heading codes caught inline with
// their billable codes to click, superbill buttons that fill the next empty row. Without it the form still works:
// every button posts the form and the server does the same.
(function () {
  "use strict";
  var form = document.getElementById("coding-form");

  function debounce(fn, ms) {
    var t = null;
    return function () { var args = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, args); }, ms); };
  }
  function compact(code) { return (code || "").replace(/[^0-9a-z]/gi, "").toUpperCase(); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) { e.className = cls; } if (text) { e.textContent = text; } return e; }

  // A combobox over a JSON endpoint: render(results) -> [{value, label, meta, data}], choose(option).
  function combobox(input, url, params, toOption, choose) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var options = [];
    var active = -1;
    function close() { list.innerHTML = ""; options = []; active = -1; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); }
    function mark(i) {
      options.forEach(function (o, j) { o.node.classList.toggle("active", j === i); o.node.setAttribute("aria-selected", j === i ? "true" : "false"); });
      active = i;
      if (i >= 0) { input.setAttribute("aria-activedescendant", options[i].node.id); }
    }
    var fetchNow = debounce(function () {
      var q = input.value.trim();
      if (!q) { close(); return; }
      var query = new URLSearchParams(params());
      query.set("q", q);
      fetch(url + "?" + query.toString(), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) {
          if (input.value.trim() !== q) { return; }
          list.innerHTML = "";
          options = data.results.map(function (result, i) {
            var o = toOption(result);
            var node = el("div", "", null);
            node.id = input.id ? input.id + "-opt-" + i : list.id + "-opt-" + i;
            node.setAttribute("role", "option");
            node.appendChild(el("strong", "", o.value));
            node.appendChild(document.createTextNode(" " + o.label + " "));
            if (o.meta) { node.appendChild(el("span", "meta", o.meta)); }
            node.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(i); });
            list.appendChild(node);
            return { node: node, result: result, value: o.value };
          });
          input.setAttribute("aria-expanded", options.length ? "true" : "false");
          mark(options.length ? 0 : -1);
        });
    }, 150);
    function pick(i) {
      var o = options[i];
      close();
      if (o) { input.value = o.value; choose(o.result); }
    }
    input.addEventListener("input", fetchNow);
    input.addEventListener("keydown", function (ev) {
      if (!options.length) { return; }
      if (ev.key === "ArrowDown") { ev.preventDefault(); mark(Math.min(active + 1, options.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); mark(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); pick(active); }
      else if (ev.key === "Escape") { ev.preventDefault(); close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  function dxRow(n) { return form.querySelector('.dx-row[data-row="' + n + '"]'); }

  function showHeading(row, code) {
    var problem = row.querySelector(".dx-problem");
    problem.innerHTML = "";
    problem.setAttribute("role", "alert");
    var query = new URLSearchParams({ q: code, billable: "1", limit: "8" });
    fetch(form.dataset.icd10Url + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        problem.appendChild(el("span", "error", code + " is a heading, not a billable code; choose a more specific code."));
        var leaves = el("span", "leaf-codes", "Choose: ");
        data.results.filter(function (h) { return compact(h.code).indexOf(compact(code)) === 0; }).forEach(function (h) {
          var b = el("button", "link use-dx", h.code);
          b.type = "button"; b.title = h.description;
          b.dataset.row = row.dataset.row; b.dataset.code = h.code; b.dataset.description = h.description;
          leaves.appendChild(b);
        });
        problem.appendChild(leaves);
      });
  }

  function setDx(row, code, description) {
    row.querySelector("input.dx-code").value = code;
    row.querySelector(".dx-description").textContent = description || "";
    var problem = row.querySelector(".dx-problem");
    problem.innerHTML = "";
    problem.removeAttribute("role");
    row.classList.remove("has-error");
  }

  function serviceRow(tr, code, description, price) {
    tr.querySelector("input.svc-code").value = code;
    tr.querySelector(".svc-description").textContent = description || "";
    var units = tr.querySelector('input[name$="_units"]');
    var pointers = tr.querySelector('input[name$="_pointers"]');
    if (!units.value) { units.value = "1"; }
    if (!pointers.value) { pointers.value = "1"; }
    tr.querySelector(".svc-price").textContent = price ? "$" + price : "";
    tr.querySelector(".svc-amount").textContent = price ? "$" + (parseFloat(price) * parseInt(units.value || "1", 10)).toFixed(2) : "";
  }

  if (form) {
    form.querySelectorAll("input.dx-code").forEach(function (input) {
      var row = input.closest(".dx-row");
      combobox(input, form.dataset.icd10Url, function () { return { limit: "10" }; }, function (h) {
        return { value: h.code, label: h.description, meta: h.billable ? "" : "heading" };
      }, function (h) {
        if (h.billable) { setDx(row, h.code, h.description); } else { setDx(row, h.code, h.description); showHeading(row, h.code); }
      });
    });
    form.querySelectorAll("input.svc-code").forEach(function (input) {
      var tr = input.closest("tr");
      combobox(input, form.dataset.procedureUrl, function () { return { date: form.dataset.serviceDate }; }, function (p) {
        return { value: p.code, label: p.description, meta: p.price ? "$" + p.price : "no price" };
      }, function (p) { serviceRow(tr, p.code, p.description, p.price); });
    });
    form.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) { return; }
      if (b.classList.contains("use-dx")) {
        ev.preventDefault();
        var row = dxRow(b.dataset.row);
        setDx(row, b.dataset.code, b.dataset.description || b.title);
        row.querySelector("input.dx-code").focus();
      } else if (b.classList.contains("add-dx")) {
        var inputs = Array.prototype.slice.call(form.querySelectorAll("input.dx-code"));
        if (inputs.some(function (i) { return compact(i.value) === compact(b.dataset.code); })) { ev.preventDefault(); return; }
        var empty = inputs.filter(function (i) { return !i.value.trim(); })[0];
        if (empty) { ev.preventDefault(); setDx(empty.closest(".dx-row"), b.dataset.code, b.dataset.label); }
      } else if (b.classList.contains("add-service")) {
        var rows = Array.prototype.slice.call(form.querySelectorAll("tr.service-row"));
        var free = rows.filter(function (tr) { return !tr.querySelector("input.svc-code").value.trim(); })[0];
        if (free) {
          ev.preventDefault();
          serviceRow(free, b.dataset.code, b.dataset.label, "");
          free.querySelector('input[name$="_modifiers"]').value = b.dataset.modifiers || "";
        }
      }
    });
  }

  // Supplies: the lot picker of a row offers only the lots of the item chosen in it.
  document.querySelectorAll("#supply-table tr.supply-row").forEach(function (tr) {
    var item = tr.querySelector('select[name$="_item"]');
    var lot = tr.querySelector('select[name$="_lot"]');
    if (!item || !lot) { return; }
    function onlyItsLots() {
      lot.querySelectorAll("optgroup").forEach(function (group) {
        var hide = item.value !== "" && group.dataset.item !== item.value;
        group.hidden = hide;
        group.disabled = hide;
      });
      var chosen = lot.options[lot.selectedIndex];
      if (chosen && chosen.parentNode.disabled) { lot.value = ""; }
    }
    item.addEventListener("change", onlyItsLots);
    onlyItsLots();
  });

  // The review queue: one box ticks every encounter without flags.
  var all = document.getElementById("tick-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("#review-table tbody tr").forEach(function (tr) {
        var box = tr.querySelector("input.tick");
        if (box) { box.checked = all.checked && tr.dataset.flagged !== "1"; }
      });
    });
  }
})();
