// Stock warning lines in the host console: per offer a line (units left, or a % of stock);
// crossing it shows at once (room event stock_warning) and sends one event to Kafka for the
// operator's alerting. docs/operations.md, "Stock warning lines".
import { el } from "./common.js";
import { host } from "./console_features.js";

let panel = null;
const lines = new Map(); // offer id -> its line as last loaded

function alertBar() {
  let bar = document.getElementById("stock-alerts");
  if (!bar) {
    bar = el("div", { id: "stock-alerts", class: "stock-alerts", role: "status", "aria-live": "polite" });
    document.getElementById("tiles")?.before(bar);
  }
  return bar;
}

function lineText(line) {
  if (!line || (!line.units && !line.share)) return "no line";
  const set = line.units ? `${line.units} units` : `${Math.round(line.share * 100)}% of stock`;
  const state = line.armed ? "armed" : "crossed";
  return `${set} (= ${line.line}), ${state}, fired ${line.crossings}×`;
}

function offerLine(show, offer) {
  const amount = el("input", { type: "number", min: 0, step: "1", value: "", placeholder: "10", "aria-label": `Warning line for ${offer.title}`, class: "qty" });
  const unit = el("select", { "aria-label": "Line in" }, el("option", { value: "units" }, "units left"), el("option", { value: "share" }, "% of stock"));
  const state = el("span", { class: "muted warning-state" }, lineText(lines.get(offer.offer_id)));
  const form = el("form", { class: "row warning-line", "data-offer": offer.offer_id },
    el("b", {}, offer.title), amount, unit, el("button", { type: "submit", class: "secondary" }, "Set line"), state);
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const value = Number(amount.value || 0);
    const body = unit.value === "units" ? { units: Math.round(value) } : { share: value / 100 };
    const line = await host.act(() => host.api.put(`/api/offers/${offer.offer_id}/warning-line`, body), value ? "Warning line set." : "Warning line cleared.");
    if (line) {
      lines.set(offer.offer_id, line);
      state.textContent = lineText(line);
    }
  });
  return form;
}

async function draw(show) {
  if (!panel) return;
  await Promise.all(show.offers.map(async (offer) => {
    try {
      lines.set(offer.offer_id, await host.api.get(`/api/offers/${offer.offer_id}/warning-line`));
    } catch { /* shown as "no line" */ }
  }));
  if (!panel) return;
  panel.querySelector(".warning-lines").replaceChildren(...show.offers.map((offer) => offerLine(show, offer)));
}

host.onShowOpened((show) => {
  lines.clear();
  alertBar().replaceChildren();
  if (!(show.rights || ["run_offers"]).includes("run_offers")) return;
  panel = el("section", { class: "panel warnings-panel", id: "warnings-panel" },
    el("h2", {}, "Stock warning lines"),
    el("p", { class: "muted" }, "When an offer's units on sale fall to its line, you see it here at once and one event goes to the stock.warnings topic; a restock above the line re-arms it."),
    el("div", { class: "warning-lines" }));
  host.panels.append(panel);
  draw(show);
});

host.onShowRefreshed((show) => {
  // New products in the line-up get a line editor too.
  if (panel && panel.querySelectorAll(".warning-line").length !== show.offers.length) draw(show);
});

host.on("stock_warning", (event) => {
  const bar = alertBar();
  bar.querySelector(`[data-offer="${CSS.escape(event.offer_id)}"]`)?.remove();
  bar.append(el("p", { class: "stock-alert", "data-offer": event.offer_id },
    el("b", {}, "Low stock: "), `${event.title}: ${event.available} left, at or below the warning line of ${event.line}.`));
  host.notify(`Low stock: ${event.title} (${event.available} left)`, "error");
  if (host.show) draw(host.show); // the line now reads "crossed"
});

host.on("stock_warning_cleared", (event) => {
  alertBar().querySelector(`[data-offer="${CSS.escape(event.offer_id)}"]`)?.remove();
  if (host.show) draw(host.show);
});

host.onShowClosed(() => {
  panel = null;
  document.getElementById("stock-alerts")?.remove();
});
