// The manual journal entry: add and remove lines, keep the totals and the difference in view, and refuse to
// submit an entry that does not balance (the server checks it again). No inline script: the page's CSP forbids it.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }
  var body = form.querySelector("#entry-lines tbody");
  var template = document.getElementById("entry-row-template");
  var status = document.getElementById("entry-difference");

  function cents(text) {
    var clean = (text || "").replace(/[$,\s]/g, "");
    if (clean === "") { return 0; }
    if (!/^\d+(\.\d{1,2})?$/.test(clean)) { return NaN; }
    var parts = clean.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }
  function money(value) {
    var sign = value < 0 ? "-" : "";
    value = Math.abs(value);
    var whole = Math.floor(value / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + whole + "." + ("0" + (value % 100)).slice(-2);
  }
  function renumber() {
    Array.prototype.forEach.call(body.querySelectorAll("tr.entry-line"), function (row, index) {
      var n = index + 1;
      row.querySelector(".line-number").textContent = n;
      ["account", "department", "memo", "debit", "credit"].forEach(function (name) {
        var input = row.querySelector("[id^='" + name + "-']");
        var label = row.querySelector("label[for^='" + name + "-']");
        if (input) { input.id = name + "-" + n; }
        if (label) { label.setAttribute("for", name + "-" + n); label.textContent = label.textContent.replace(/line \d+/, "line " + n); }
      });
    });
  }
  // Returns the problem to show, or "" when the entry balances.
  function check() {
    var debit = 0, credit = 0, problem = "", used = 0;
    Array.prototype.forEach.call(body.querySelectorAll("tr.entry-line"), function (row, index) {
      var n = index + 1;
      var d = cents(row.querySelector("input[name=debit]").value);
      var c = cents(row.querySelector("input[name=credit]").value);
      var account = row.querySelector("select[name=account]").value;
      if (!account && !d && !c) { return; }
      used += 1;
      if (isNaN(d) || isNaN(c)) { problem = problem || "Line " + n + ": an amount is not in dollars and cents."; return; }
      if (!account) { problem = problem || "Line " + n + ": choose an account."; }
      if ((d > 0) === (c > 0)) { problem = problem || "Line " + n + ": enter a debit or a credit (one of them, not zero)."; }
      debit += d; credit += c;
    });
    document.getElementById("debit-total").textContent = money(debit);
    document.getElementById("credit-total").textContent = money(credit);
    if (!problem && used < 2) { problem = "An entry needs at least two lines."; }
    if (!problem && debit !== credit) {
      problem = "The entry does not balance: debits " + money(debit) + ", credits " + money(credit) +
        ". Add a " + (debit > credit ? "credit" : "debit") + " of " + money(Math.abs(debit - credit)) + " or correct a line.";
    }
    status.textContent = problem || "Balanced: debits and credits are both " + money(debit) + ".";
    status.className = "entry-difference " + (problem ? "unbalanced" : "balanced");
    return problem;
  }
  document.getElementById("add-line").addEventListener("click", function () {
    body.appendChild(template.content.cloneNode(true));
    renumber();
    var rows = body.querySelectorAll("tr.entry-line");
    rows[rows.length - 1].querySelector("select[name=account]").focus();
    check();
  });
  body.addEventListener("click", function (event) {
    var button = event.target.closest(".remove-line");
    if (!button) { return; }
    if (body.querySelectorAll("tr.entry-line").length > 2) { button.closest("tr").remove(); renumber(); }
    check();
  });
  body.addEventListener("input", check);
  body.addEventListener("change", check);
  // Alt+N adds a line from the keyboard.
  form.addEventListener("keydown", function (event) {
    if (event.altKey && (event.key === "n" || event.key === "N")) { event.preventDefault(); document.getElementById("add-line").click(); }
  });
  form.addEventListener("submit", function (event) {
    if (check()) { event.preventDefault(); status.focus && status.setAttribute("tabindex", "-1"); status.focus(); }
  });
  check();
})();
