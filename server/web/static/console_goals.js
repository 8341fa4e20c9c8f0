// Tiered sales goals in the host console: the goals editor (units sold or GMV, tiers with
// their reward) and the show's progress with each tier's state. docs/interactive.md.
import { el, money } from "./common.js";
import { host } from "./console_features.js";

let progress = null;
let editor = null;

function path(show, api, rest = "") {
  return `/api/${api}/${encodeURIComponent(show.room_id)}${rest}`;
}

function tierRow(tier = {}) {
  const reward = tier.reward || { kind: "announcement", text: "" };
  const extra = { ...reward };
  delete extra.kind;
  delete extra.text;
  return el("li", { class: "goal-edit-tier" },
    el("input", { name: "threshold", type: "number", min: 1, required: true, value: tier.threshold || "", placeholder: "Threshold", "aria-label": "Threshold" }),
    el("select", { name: "kind", "aria-label": "Reward" },
      ...["announcement", "coupon_drop", "giveaway"].map((kind) => el("option", { value: kind, selected: kind === reward.kind }, kind.replace("_", " ")))),
    el("button", { type: "button", class: "link", title: "Remove this tier", onclick: (click) => click.currentTarget.parentElement.remove() }, "✕"),
    el("input", { name: "text", maxlength: 500, value: reward.text || "", placeholder: "Announcement / label", "aria-label": "Announcement" }),
    el("input", { name: "fields", value: Object.keys(extra).length ? JSON.stringify(extra) : "", placeholder: '{"title": ...} for coupon drops and giveaways', "aria-label": "Reward fields (JSON)" }));
}

function goalsForm(show) {
  const tiers = el("ol", { class: "goal-edit-tiers" }, tierRow({ threshold: 50, reward: { kind: "announcement", text: "50 sold: free gift wrap for everyone!" } }));
  const form = el("form", { class: "goals-form", id: "goals-form" },
    el("div", { class: "row" },
      el("label", {}, "Figure", el("select", { name: "metric" },
        el("option", { value: "units" }, "units sold"), el("option", { value: "gmv" }, "GMV (minor units)"))),
      el("label", {}, "Currency (GMV)", el("input", { name: "currency", maxlength: 3, placeholder: "EUR" }))),
    tiers,
    el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", onclick: () => tiers.append(tierRow()) }, "Add tier"),
      el("button", { type: "submit" }, "Save goals")));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const metric = form.elements.metric.value;
    const body = {
      metric,
      tiers: [...tiers.children].map((row) => {
        const get = (name) => row.querySelector(`[name="${name}"]`).value.trim();
        const kind = get("kind");
        let fields = {};
        try { fields = get("fields") ? JSON.parse(get("fields")) : {}; } catch { fields = { invalid: get("fields") }; }
        const reward = kind === "announcement" ? { kind, text: get("text") } : { kind, ...fields };
        const tier = { threshold: Number(get("threshold")), reward };
        if (kind !== "announcement" && get("text")) tier.label = get("text").slice(0, 80);
        return tier;
      }),
    };
    if (metric === "gmv") body.currency = form.elements.currency.value.trim().toUpperCase();
    await host.act(() => host.api.put(path(show, "shows", "/goals"), body), "Goals saved.");
    load(show);
  });
  return form;
}

function figure(goals, value) {
  return goals.metric === "gmv" ? money(value, goals.currency) : `${value} sold`;
}

function draw(goals) {
  if (!progress) return;
  if (!goals.tiers.length) {
    progress.replaceChildren(el("p", { class: "muted" }, "No goals yet."));
    return;
  }
  const top = goals.tiers[goals.tiers.length - 1].threshold;
  const fill = el("div", { class: "goal-fill" });
  fill.style.width = `${Math.min(100, (100 * goals.value) / top)}%`;
  progress.replaceChildren(
    el("p", {}, el("strong", { id: "goal-value" }, figure(goals, goals.value)), ` of ${figure(goals, top)}`),
    el("div", { class: "goal-track" }, fill),
    el("ol", { class: "goal-tiers" }, ...goals.tiers.map((tier) =>
      el("li", { class: tier.reached ? "goal-tier goal-reached" : "goal-tier" },
        tier.reached ? "✓ " : "", figure(goals, tier.threshold), " · ", tier.label, " ",
        el("span", { class: "muted" }, tier.reward_status ? `(${tier.kind}: ${tier.reward_status})` : `(${tier.kind})`)))));
}

async function load(show) {
  try {
    draw(await host.api.get(path(show, "rooms", "/goals")));
  } catch {
    // Shown again at the next event.
  }
}

host.onShowOpened((show) => {
  progress = el("div", { id: "goals-progress", class: "goals-progress" });
  editor = goalsForm(show);
  host.panels.append(el("section", { id: "goals-panel", class: "panel goals-panel", "aria-label": "Sales goals" },
    el("h3", {}, "Sales goals"), progress, editor));
  load(show);
});

host.onShowClosed(() => { progress = editor = null; });

for (const type of ["goals_set", "goal_progress", "goal_reached"]) {
  host.on(type, () => host.show && load(host.show));
}
