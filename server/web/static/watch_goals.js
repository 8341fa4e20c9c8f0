// Tiered sales goals on the viewer page: a progress bar over the stage towards the next
// tier and its reward, with every tier as a mark; a reached tier lights up. The figure
// comes in goal_progress events (a few a second at most). docs/interactive.md.
import { el, money } from "./common.js";
import { viewer } from "./watch_features.js";

const roomPath = `/api/rooms/${encodeURIComponent(viewer.roomId)}`;
let goals = null; // {metric, currency, value, tiers: [{threshold, label, reached}]}
let bar = null;

function amount(value) {
  return goals.metric === "gmv" ? money(value, goals.currency) : `${value} sold`;
}

function draw() {
  if (!goals || !goals.tiers.length) { bar?.remove(); bar = null; return; }
  const next = goals.tiers.find((tier) => tier.threshold > goals.value && !tier.reached)
    || goals.tiers.find((tier) => !tier.reached);
  const top = goals.tiers[goals.tiers.length - 1].threshold;
  const base = next ? Math.max(0, ...goals.tiers.filter((t) => t.threshold < next.threshold).map((t) => t.threshold)) : 0;
  const goal = next ? next.threshold : top;
  const share = next ? Math.min(100, (100 * (goals.value - base)) / (goal - base || 1)) : 100;
  const reached = goals.tiers.filter((tier) => tier.reached);
  const node = el("section", { class: "goal-bar", id: "goal-bar", "aria-label": "Sales goal" },
    el("div", { class: "goal-head" },
      el("strong", {}, next ? `Next goal: ${next.label}` : "Every goal reached!"),
      el("span", { class: "goal-figure" }, next ? `${amount(goals.value)} / ${amount(goal)}` : amount(goals.value))),
    el("div", { class: "goal-track", role: "progressbar", "aria-valuemin": base, "aria-valuemax": goal, "aria-valuenow": goals.value },
      el("div", { class: "goal-fill", style: null })),
    reached.length ? el("p", { class: "goal-done" }, "Unlocked: ", reached.map((tier) => tier.label).join(" · ")) : null);
  node.querySelector(".goal-fill").style.width = `${share}%`;
  if (bar) bar.replaceWith(node); else viewer.cards.prepend(node);
  bar = node;
}

function load() {
  viewer.api.get(`${roomPath}/goals`).then((found) => { goals = found; draw(); }).catch(() => {});
}

viewer.on("goals_set", (event) => { goals = event.goals; draw(); });
viewer.on("goal_progress", (event) => {
  if (!goals) return load();
  goals.value = event.value;
  draw();
});
viewer.on("goal_reached", (event) => {
  if (!goals) return load();
  for (const tier of goals.tiers) if (tier.threshold === event.threshold) tier.reached = true;
  goals.value = Math.max(goals.value, event.value);
  draw();
  bar?.classList.add("goal-flash");
  setTimeout(() => bar?.classList.remove("goal-flash"), 3000);
});
load();
