// A barcode scanner types the GTIN and Enter into the scan field: find the item and pack, fill them in and move on
// to the quantity instead of submitting the form. Without this script the server resolves the GTIN on submit.
(function () {
  "use strict";
  const form = document.getElementById("stock-form");
  if (!form) return;
  const scan = form.querySelector("[data-gtin-scan]");
  const status = document.getElementById("scan-status");
  if (!scan) return;
  scan.addEventListener("keydown", async function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const code = scan.value.trim();
    if (!code) return;
    const url = form.dataset.gtinUrl + "?gtin=" + encodeURIComponent(code);
    let body;
    let ok = false;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      ok = response.ok;
      body = await response.json();
    } catch (error) {
      body = { errors: { gtin: ["The barcode could not be looked up."] } };
    }
    if (!ok) {
      status.textContent = (body.errors && body.errors.gtin || ["Unknown barcode."]).join(" ");
      scan.select();
      return;
    }
    const item = form.querySelector("#id_item");
    const unit = form.querySelector("#id_unit");
    if (item) item.value = String(body.item_id);
    if (unit) unit.value = body.unit;
    status.textContent = "Found " + body.item + ", " + body.unit + " of " + body.quantity + " " + body.base_unit + ".";
    const next = form.querySelector("#id_quantity");
    if (next) next.focus();
  });
})();
