// Coupons and red packets in the host console: create a coupon drop or a red packet rain,
// start and end it, and watch its live figures (claimed / quota, spent). docs/coupons.md.
import { el, money } from "./common.js";
import { host } from "./console_features.js";

let panel = null;
let list = null;
let timer = null;

function path(show, rest = "") {
  return `/api/shows/${encodeURIComponent(show.room_id)}${rest}`;
}

function currency(show) {
  return show.offers?.[0]?.currency || "EUR";
}

function field(label, attrs) {
  return el("label", { class: "coupon-field" }, label, el("input", attrs));
}

function numberOf(form, name) {
  const value = form.elements[name]?.value;
  return value === "" || value == null ? null : Number(value);
}

function dropForm(show) {
  const form = el("form", { class: "coupon-form", id: "drop-form" },
    el("h4", {}, "Coupon drop"),
    field("Title", { name: "title", required: true, maxlength: 80, value: "Flash coupon" }),
    el("label", { class: "coupon-field" }, "Off",
      el("select", { name: "off_kind" }, el("option", { value: "amount" }, "amount (cents)"),
        el("option", { value: "percent" }, "percent"))),
    field("Value", { name: "value", type: "number", min: 1, required: true, value: 500 }),
    field("Quota", { name: "quota", type: "number", min: 1, max: 100000, required: true, value: 100 }),
    field("Minimum spend (cents)", { name: "min_spend", type: "number", min: 0, value: 0 }),
    field("Per viewer", { name: "per_viewer", type: "number", min: 1, max: 10, value: 1 }),
    field("Claim window (s)", { name: "claim_seconds", type: "number", min: 10, max: 3600, value: 60 }),
    el("label", { class: "coupon-field" }, "For",
      el("select", { name: "offer_id" }, el("option", { value: "" }, "any product of the show"),
        ...(show.offers || []).map((offer) => el("option", { value: offer.id }, offer.title)))),
    el("button", { type: "submit" }, "Create drop"));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const body = {
      title: form.elements.title.value,
      quota: numberOf(form, "quota"),
      min_spend: numberOf(form, "min_spend"),
      per_viewer: numberOf(form, "per_viewer"),
      claim_seconds: numberOf(form, "claim_seconds"),
      offer_id: form.elements.offer_id.value || null,
    };
    body[form.elements.off_kind.value === "percent" ? "percent_off" : "amount_off"] = numberOf(form, "value");
    await host.act(() => host.api.post(path(show, "/coupon-drops"), body), "Coupon drop created.");
    load(show);
  });
  return form;
}

function rainForm(show) {
  const form = el("form", { class: "coupon-form", id: "rain-form" },
    el("h4", {}, "Red packet rain"),
    field("Title", { name: "title", required: true, maxlength: 80, value: "Red packet rain" }),
    field("Pool (cents)", { name: "pool", type: "number", min: 1, required: true, value: 10000 }),
    field("Packets", { name: "packets", type: "number", min: 1, max: 10000, required: true, value: 100 }),
    field("Window (s)", { name: "window_seconds", type: "number", min: 5, max: 60, value: 20 }),
    el("button", { type: "submit" }, "Create rain"));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const body = {
      title: form.elements.title.value,
      pool: numberOf(form, "pool"),
      packets: numberOf(form, "packets"),
      window_seconds: numberOf(form, "window_seconds"),
    };
    await host.act(() => host.api.post(path(show, "/red-packet-rains"), body), "Red packet rain created.");
    load(show);
  });
  return form;
}

function row(show, item, kind) {
  const id = kind === "drop" ? item.drop_id : item.rain_id;
  const base = kind === "drop" ? "/coupon-drops" : "/red-packet-rains";
  const cur = currency(show);
  const terms = kind === "drop"
    ? `${item.percent_off != null ? `${item.percent_off}%` : money(item.amount_off, cur)} off · ${item.claimed}/${item.quota} claimed`
    : `${money(item.pool, cur)} in ${item.packets} · ${item.grabbed}/${item.packets} grabbed (${money(item.grabbed_amount, cur)})`;
  const spent = `${item.spent} used · ${money(item.spent_amount, cur)} spent`;
  const act = (verb) => el("button", {
    type: "button", class: "link", "data-action": `${verb}-${id}`,
    onclick: async () => {
      await host.act(() => host.api.post(path(show, `${base}/${id}/${verb}`)), verb === "start" ? "Started." : "Ended.");
      load(show);
    },
  }, verb === "start" ? "Start" : "End");
  return el("li", { class: `coupon-row coupon-${item.status}`, id: `row-${id}` },
    el("strong", {}, kind === "drop" ? "Coupon: " : "Red packets: ", item.title), " ",
    el("span", { class: "coupon-status" }, item.status), el("br"),
    el("span", { class: "coupon-figures" }, terms), " · ", el("span", {}, spent), " ",
    item.status === "ready" ? act("start") : null,
    item.status === "live" ? act("end") : null);
}

async function load(show) {
  if (!list) return;
  try {
    const found = await host.api.get(path(show, "/coupon-drops"));
    list.replaceChildren(...found.drops.map((d) => row(show, d, "drop")), ...found.rains.map((r) => row(show, r, "rain")));
    if (!list.children.length) list.append(el("li", { class: "muted" }, "No drops or rains yet."));
  } catch {
    // Shown again at the next refresh.
  }
}

host.onShowOpened((show) => {
  list = el("ul", { id: "coupon-list", class: "coupon-list" });
  panel = el("section", { id: "coupons-panel", class: "panel coupons-panel", "aria-label": "Coupons and red packets" },
    el("h3", {}, "Coupons and red packets"), list,
    el("div", { class: "coupon-forms" }, dropForm(show), rainForm(show)));
  host.panels.append(panel);
  load(show);
  clearInterval(timer);
  // Live figures: room events say when something moved; a slow poll covers the rest.
  timer = setInterval(() => host.show && load(host.show), 3000);
});

host.onShowClosed(() => {
  clearInterval(timer);
  panel = list = null;
});

for (const type of ["coupon_drop_claimed", "coupon_drop_ended", "coupon_drop_started",
  "red_packet_rain_grabbed", "red_packet_rain_ended", "red_packet_rain_started"]) {
  host.on(type, () => host.show && load(host.show));
}
