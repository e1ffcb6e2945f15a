// The drawer count: add up the bills and coins as they are typed (in whole cents) and show the over/short.
document.addEventListener("DOMContentLoaded", () => {
  const inputs = document.querySelectorAll("input.count[data-face]");
  const expected = document.getElementById("expected-cash");
  const total = document.getElementById("counted-total");
  const diff = document.getElementById("over-short-live");
  if (!inputs.length || !expected || !total || !diff) return;
  const cents = (text) => {
    const [whole, frac = ""] = String(text).trim().split(".");
    return parseInt(whole || "0", 10) * 100 + parseInt((frac + "00").slice(0, 2), 10);
  };
  const show = (c) => (c < 0 ? "−" : "") + "$" + Math.floor(Math.abs(c) / 100) + "." + String(Math.abs(c) % 100).padStart(2, "0");
  const update = () => {
    let sum = 0;
    inputs.forEach((input) => { const n = parseInt(input.value || "0", 10); if (n > 0) sum += n * cents(input.dataset.face); });
    const off = sum - cents(expected.dataset.cents);
    total.textContent = show(sum);
    diff.textContent = off === 0 ? "none" : (off > 0 ? "over " : "short ") + show(Math.abs(off));
  };
  inputs.forEach((input) => input.addEventListener("input", update));
  update();
});
