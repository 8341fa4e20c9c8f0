// The show's numbers in the host console: watch time, interaction rate and conversion (each
// defined on the page), and small live charts of the show minute by minute (viewers, chat,
// likes, reservations, orders, GMV), drawn here as SVG. docs/hosts.md.
import { clock, el, money } from "./common.js";
import { host } from "./console_features.js";

const SVG = "http://www.w3.org/2000/svg";
const CHARTS = [
  ["viewers", "Viewers (most at once)"],
  ["chat_messages", "Chat messages"],
  ["likes", "Likes"],
  ["reservations", "Reservations"],
  ["orders", "Orders"],
  ["gmv", "GMV"],
];
const EVERY_MS = 5000;

let panel = null;
let timer = null;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

function gmvOf(minute) {
  return Object.values(minute.gmv || {}).reduce((a, b) => a + b, 0);
}

/** A small bar chart of one figure over the minutes (the last 60 at most). */
function chart(minutes, key, label, currency) {
  const values = minutes.slice(-60).map((m) => (key === "gmv" ? gmvOf(m) : m[key]));
  const total = values.reduce((a, b) => a + b, 0);
  const top = Math.max(1, ...values);
  const width = 240;
  const height = 64;
  const bar = width / Math.max(values.length, 1);
  const drawing = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "spark", role: "img", "aria-label": `${label} per minute` });
  drawing.append(svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "spark-axis" }));
  values.forEach((value, i) => {
    const h = Math.round((value / top) * (height - 4));
    if (h > 0) drawing.append(svg("rect", { x: (i * bar).toFixed(1), y: height - h, width: Math.max(1, bar - 1).toFixed(1), height: h, class: "spark-bar" }));
  });
  const latest = values.length ? values[values.length - 1] : 0;
  const shown = (n) => (key === "gmv" ? money(n, currency) : String(n));
  const most = values.length ? Math.max(...values) : 0;
  const summary = key === "viewers" ? `now ${shown(latest)}, most ${shown(most)}` : `total ${shown(total)}, last minute ${shown(latest)}`;
  return el("figure", { class: "numbers-chart", "data-chart": key },
    el("figcaption", {}, el("b", {}, label), " ", el("span", { class: "muted" }, summary)), drawing);
}

function percent(rate) {
  return `${(rate * 100).toFixed(1)}%`;
}

function draw(numbers, show) {
  if (!panel) return;
  const currency = show.offers?.[0]?.currency || "EUR";
  const w = numbers.watch_time;
  const tile = (label, value, title, key) => el("div", { class: "tile", title, "data-number": key }, el("span", {}, label), el("b", {}, value));
  panel.querySelector(".numbers-tiles").replaceChildren(
    tile("Distinct viewers", String(numbers.distinct_viewers), numbers.definitions.distinct_viewers, "distinct_viewers"),
    tile("Average watch time", clock(w.average_s * 1000, Math.floor), `over ${w.distinct_viewers} signed-in viewers, ${w.visits} visits`, "average_watch"),
    tile("Median watch time", clock(w.median_s * 1000, Math.floor), "half the viewers watched less, half more", "median_watch"),
    tile("Interaction rate", percent(numbers.interaction_rate), numbers.definitions.interaction_rate, "interaction_rate"),
    tile("Conversion", percent(numbers.conversion), numbers.definitions.conversion, "conversion"));
  panel.querySelector(".numbers-definitions").replaceChildren(
    el("li", {}, el("b", {}, "Distinct viewers: "), numbers.definitions.distinct_viewers, "."),
    el("li", {}, el("b", {}, "Interaction rate = "), numbers.definitions.interaction_rate, "."),
    el("li", {}, el("b", {}, "Conversion = "), numbers.definitions.conversion, "."),
    el("li", {}, el("b", {}, "Watch time: "), "each signed-in viewer's time in the room, counted when they leave; a reconnect within a short gap is the same visit."));
  panel.querySelector(".numbers-charts").replaceChildren(
    ...CHARTS.map(([key, label]) => chart(numbers.timeline, key, label, currency)));
  // The dashboard's own conversion tile says what it means too.
  const dashboardTile = document.getElementById("t-conversion")?.parentElement;
  if (dashboardTile) dashboardTile.title = `Conversion = ${numbers.definitions.conversion}`;
}

async function load(show) {
  if (!panel || !host.show || host.show.room_id !== show.room_id) return;
  try {
    draw(await host.api.get(`/api/shows/${encodeURIComponent(show.room_id)}/numbers`), show);
  } catch (error) {
    if (error.status !== 401) panel.querySelector(".numbers-charts").replaceChildren(el("p", { class: "muted" }, error.message));
  }
}

host.onShowOpened((show) => {
  const csv = el("a", { href: `/api/shows/${encodeURIComponent(show.room_id)}/timeline.csv`, download: true, class: "numbers-csv" }, "Timeline as CSV");
  if (!(show.rights || []).includes("download_report")) csv.hidden = true;
  panel = el("section", { class: "panel numbers-panel", id: "numbers-panel" },
    el("h2", {}, "Numbers"),
    el("div", { class: "tiles numbers-tiles" }),
    el("div", { class: "numbers-charts" }),
    el("details", { class: "numbers-help" }, el("summary", {}, "How these are counted"), el("ul", { class: "numbers-definitions" })),
    el("p", {}, csv));
  host.panels.prepend(panel);
  load(show);
  clearInterval(timer);
  timer = setInterval(() => host.show && load(host.show), EVERY_MS);
});

host.onShowClosed(() => {
  clearInterval(timer);
  timer = null;
  panel = null;
});
