// Giveaways in the host console: create and start one (prize, winners, window, entry rule),
// watch its entries come in live, see the draw's winners and who claimed, redraw the
// prizes nobody claimed in time, and open the draw's public record. docs/giveaways.md.
import { clock, el } from "./common.js";
import { host } from "./console_features.js";

let list = null;
let shown = new Map(); // giveaway id -> its last view
let serverOffset = 0;

function path(show, rest = "") {
  return `/api/shows/${encodeURIComponent(show.room_id)}/giveaways${rest}`;
}

function field(label, control) {
  return el("label", { class: "giveaway-field" }, el("span", {}, label), control);
}

function numberOf(form, name) {
  const value = form.elements[name]?.value;
  return value === "" || value == null ? undefined : Number(value);
}

function createForm(show) {
  const rule = el("select", { name: "rule" },
    el("option", { value: "any" }, "any signed-in viewer"),
    el("option", { value: "keyword" }, "posts a keyword in chat"),
    el("option", { value: "watched" }, "watched at least…"),
    el("option", { value: "bought" }, "bought in this show"));
  const keyword = field("Keyword", el("input", { name: "keyword", maxlength: 40, value: "lucky" }));
  const watched = field("Watched (s)", el("input", { name: "min_watch_seconds", type: "number", min: 1, max: 14400, value: 60 }));
  const form = el("form", { class: "giveaway-form", id: "giveaway-form" },
    el("h4", {}, "New giveaway"),
    field("Prize", el("input", { name: "title", required: true, maxlength: 200, value: "Mystery bag" })),
    field("SKU", el("input", { name: "sku", required: true, maxlength: 64, pattern: "[A-Za-z0-9_.:\\-]+", value: "GIFT-BAG" })),
    field("Winners", el("input", { name: "prizes", type: "number", min: 1, max: 100, required: true, value: 1 })),
    field("Entry window (s)", el("input", { name: "window_seconds", type: "number", min: 10, max: 600, required: true, value: 60 })),
    field("Who may enter", rule), keyword, watched,
    el("label", { class: "giveaway-check" }, el("input", { name: "start", type: "checkbox", checked: true }), " start now"),
    el("button", { type: "submit" }, "Create giveaway"));
  const showRuleFields = () => {
    keyword.hidden = rule.value !== "keyword";
    watched.hidden = rule.value !== "watched";
  };
  rule.addEventListener("change", showRuleFields);
  showRuleFields();
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const body = {
      title: form.elements.title.value,
      sku: form.elements.sku.value,
      prizes: numberOf(form, "prizes"),
      window_seconds: numberOf(form, "window_seconds"),
      rule: rule.value,
      start: form.elements.start.checked,
    };
    if (rule.value === "keyword") body.keyword = form.elements.keyword.value;
    if (rule.value === "watched") body.min_watch_seconds = numberOf(form, "min_watch_seconds");
    const done = body.start ? "Giveaway started." : "Giveaway created.";
    await host.act(() => host.api.post(path(show), body), done);
    load(show);
  });
  return form;
}

function entriesText(n) {
  return `${n} ${n === 1 ? "entry" : "entries"}`;
}

function describeRule(g) {
  if (g.rule === "keyword") return `keyword “${g.keyword}”`;
  if (g.rule === "watched") return `watched ${g.min_watch_s} s`;
  if (g.rule === "bought") return "buyers only";
  return "anyone";
}

function row(show, g) {
  const id = g.giveaway_id;
  const act = (verb, label, done) => el("button", {
    type: "button", class: "link", "data-action": `${verb}-${id}`,
    onclick: async () => {
      await host.act(() => host.api.post(path(show, `/${id}/${verb}`)), done);
      load(show);
    },
  }, label);
  const claimed = g.winners.filter((w) => w.claimed).length;
  const winners = g.winners.length
    ? el("ol", { class: "giveaway-winner-list" }, ...g.winners.map((w) =>
      el("li", { class: w.claimed ? "giveaway-claimed" : "" }, w.name,
        w.round ? ` (redraw ${w.round})` : "", w.claimed ? " ✓ claimed" : "")))
    : null;
  const timer = el("span", { class: "giveaway-timer", "data-ends": g.state === "open" ? g.ends_at_ms : "" });
  return el("li", { class: `giveaway-row giveaway-row-${g.state}`, id: `giveaway-row-${id}` },
    el("strong", {}, g.title), " ", el("span", { class: "giveaway-status" }, g.state), " ", timer, el("br"),
    el("span", { class: "giveaway-figures" },
      `${g.prizes} ${g.prizes === 1 ? "winner" : "winners"} · ${describeRule(g)} · `,
      el("span", { class: "giveaway-entries" }, entriesText(g.entries)),
      g.state === "drawn" ? ` · ${claimed}/${g.winners.length} claimed` : ""),
    " ",
    g.state === "draft" ? act("start", "Start", "Giveaway started.") : null,
    g.state === "drawn" && claimed < g.prizes ? act("redraw", "Redraw unclaimed", "Unclaimed prizes redrawn.") : null,
    g.state === "drawn" ? el("a", { class: "link", href: g.verify_url, target: "_blank", rel: "noopener" }, "draw record") : null,
    winners);
}

async function load(show) {
  if (!list) return;
  try {
    const found = await host.api.get(path(show));
    shown = new Map(found.giveaways.map((g) => [g.giveaway_id, g]));
    list.replaceChildren(...found.giveaways.map((g) => row(show, g)));
    if (!list.children.length) list.append(el("li", { class: "muted" }, "No giveaways yet."));
    tick();
  } catch {
    // Shown again at the next event.
  }
}

function tick() {
  const now = Date.now() + serverOffset;
  for (const timer of list?.querySelectorAll(".giveaway-timer[data-ends]") || []) {
    const ends = Number(timer.dataset.ends);
    timer.textContent = ends ? (ends > now ? clock(ends - now) : "drawing…") : "";
  }
}
setInterval(tick, 500);

host.onShowOpened((show) => {
  list = el("ul", { id: "giveaway-list", class: "giveaway-list" });
  const panel = el("section", { id: "giveaways-panel", class: "panel giveaways-panel", "aria-label": "Giveaways" },
    el("h3", {}, "Giveaways"), list, createForm(show));
  host.panels.append(panel);
  load(show);
});
let lastLoad = 0;
host.onShowRefreshed((show) => {
  // Claims bring no room event: look again every few seconds while prizes wait.
  const waiting = [...shown.values()].some((g) => g.state !== "draft" && g.winners.some((w) => !w.claimed));
  if (waiting && Date.now() - lastLoad > 3000) {
    lastLoad = Date.now();
    load(show);
  }
});
host.onShowClosed(() => { list = null; shown = new Map(); });
host.on("hello", (event) => { serverOffset = event.server_time_ms - Date.now(); });
host.on("giveaway_entries", (event) => {
  const entries = list?.querySelector(`#giveaway-row-${CSS.escape(event.giveaway_id)} .giveaway-entries`);
  if (entries) entries.textContent = entriesText(event.entries);
});
for (const type of ["giveaway_started", "giveaway_drawn"]) {
  host.on(type, () => { if (host.show) load(host.show); });
}
