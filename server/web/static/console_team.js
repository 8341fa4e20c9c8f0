// The show's team in the host console: the console shows only what the caller's role may do
// (moderator, operator, owner: docs/hosts.md); the owner manages the team, reads the audit
// list of who did what, and reconciles the show's stock.
import { el } from "./common.js";
import { host } from "./console_features.js";

let panel = null;

const can = (show, right) => (show.rights || ["view_numbers", "moderate_chat", "run_offers", "go_live", "end_show", "manage_team", "download_report"]).includes(right);
const path = (show, rest = "") => `/api/shows/${encodeURIComponent(show.room_id)}${rest}`;

/** Hide what the role may not do (the API refuses it anyway: 403 role_forbids). */
function applyRole(show) {
  const hide = (selector, hidden) => document.querySelectorAll(selector).forEach((node) => { if (hidden) node.hidden = true; });
  hide("#go-live", !can(show, "go_live"));
  hide("#end-show", !can(show, "end_show"));
  hide("#add-product-box", !can(show, "run_offers"));
  hide("#offer-rows .row-actions > *", !can(show, "run_offers"));
  hide("#announce, #slow-mode, #blocked, #host-chat .mod", !can(show, "moderate_chat"));
  hide("#report-json, #report-csv", !can(show, "download_report"));
  // Other features' panels (stage, coupons, giveaways, polls, goals, groups) are the
  // operator's; a moderator keeps the numbers and the viewers' questions (chat rights).
  if (!can(show, "run_offers")) {
    document.querySelectorAll("#feature-panels > *").forEach((node) => {
      if (!["numbers-panel", "questions-panel"].includes(node.id)) node.hidden = true;
    });
  }
  let badge = document.getElementById("my-role");
  if (!badge) {
    badge = el("span", { id: "my-role", class: "pill role-pill" });
    document.getElementById("show-status")?.after(" ", badge, " ");
  }
  badge.textContent = show.role ? `you: ${show.role}` : "";
  badge.dataset.role = show.role || "";
}

function memberRow(show, member) {
  const remove = el("button", { type: "button", class: "link", onclick: async () => {
    const url = path(show, `/team/${encodeURIComponent(member.host_id)}`);
    if (await host.act(() => host.api.call("DELETE", url).then(() => true), `${member.host_id} left the team.`)) loadTeam(show);
  } }, "remove");
  return el("li", { "data-member": member.host_id }, el("b", {}, member.host_id), " ",
    el("span", { class: "pill", "data-role": member.role }, member.role), " ", remove);
}

async function loadTeam(show) {
  if (!panel) return;
  const team = await host.act(() => host.api.get(path(show, "/team")));
  if (!team || !panel) return;
  const list = panel.querySelector(".team-members");
  list.replaceChildren(el("li", {}, el("b", {}, team.owner), " ", el("span", { class: "pill", "data-role": "owner" }, "owner")),
    ...team.members.map((member) => memberRow(show, member)));
}

async function loadAudit(show) {
  const audit = await host.act(() => host.api.get(path(show, "/audit")));
  if (!audit || !panel) return;
  const rows = audit.entries.slice(-50).reverse().map((entry) => el("tr", {},
    el("td", {}, new Date(entry.at_ms).toLocaleTimeString()), el("td", {}, entry.host_id),
    el("td", {}, entry.role), el("td", {}, entry.action.replaceAll("_", " ")),
    el("td", { class: "muted" }, JSON.stringify(entry.detail ?? "").slice(0, 120))));
  panel.querySelector(".team-audit tbody").replaceChildren(...rows);
  panel.querySelector(".team-audit").hidden = false;
}

async function reconcile(show) {
  const out = panel.querySelector(".reconcile-result");
  out.replaceChildren(el("p", { class: "muted" }, "Checking the books, holds, outbox and Kafka…"));
  const result = await host.act(() => host.api.post(path(show, "/reconcile"), {}));
  if (!result) { out.replaceChildren(); return; }
  const item = (d, kind) => el("li", { class: kind }, el("b", {}, `Offer ${d.offer_id}: ${d.check.replaceAll("_", " ")}`), ` ${d.message}`,
    d.ids.length ? el("div", { class: "muted ids" }, d.ids.slice(0, 10).join(", ")) : null);
  out.replaceChildren(
    el("p", { class: result.ok ? "ok" : "warning", "data-ok": String(result.ok) },
      result.ok ? `Everything adds up (${result.offers.length} offers).` : `${result.differences.length} difference(s) found.`),
    el("ul", { class: "reconcile-items" }, ...result.differences.map((d) => item(d, "difference")), ...result.pending.map((d) => item(d, "pending"))));
}

function teamPanel(show) {
  const hostField = el("input", { name: "host_id", required: true, placeholder: "host account", pattern: "[a-z0-9][a-z0-9_.\\-]{1,31}", "aria-label": "Host account" });
  const role = el("select", { name: "role", "aria-label": "Role" }, el("option", { value: "moderator" }, "moderator"), el("option", { value: "operator" }, "operator"));
  const form = el("form", { class: "row team-add", id: "team-add" }, hostField, role, el("button", { type: "submit" }, "Add to team"));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const id = hostField.value.trim();
    const added = await host.act(() => host.api.put(path(show, `/team/${encodeURIComponent(id)}`), { role: role.value }), `${id} is now ${role.value}.`);
    if (added) { form.reset(); loadTeam(show); }
  });
  return el("section", { class: "panel team-panel", id: "team-panel" },
    el("h2", {}, "Team"),
    el("p", { class: "muted" }, "Moderators run the chat; operators also run the offers and activities. Only you end the show, manage the team and download the report."),
    el("ul", { class: "team-members" }), form,
    el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", id: "audit-load", onclick: () => loadAudit(show) }, "Who did what"),
      el("button", { type: "button", class: "secondary", id: "reconcile", onclick: () => reconcile(show) }, "Reconcile stock")),
    el("div", { class: "team-audit-wrap" }, el("table", { class: "team-audit", hidden: true },
      el("thead", {}, el("tr", {}, ...["Time", "Host", "Role", "Action", "Detail"].map((h) => el("th", {}, h)))), el("tbody"))),
    el("div", { class: "reconcile-result" }));
}

host.onShowOpened((show) => {
  applyRole(show);
  if (can(show, "manage_team")) {
    panel = teamPanel(show);
    host.panels.append(panel);
    loadTeam(show);
  }
});

host.onShowRefreshed((show) => applyRole(show));

// The chat list is filled as messages come: hide moderation links the role may not use.
host.on("chat", () => { if (host.show) applyRole(host.show); });

host.onShowClosed(() => {
  panel = null;
  document.getElementById("my-role")?.remove();
});
