// Group buying in the host console (docs/groups.md): per offer its deal price (the
// compare-at price struck through), a form to make it a group offer (group price, size,
// window, open groups), and its groups forming, formed and failed, updated by the room's
// group events.
import { el, money } from "./common.js";
import { host } from "./console_features.js";

let body = null;
let timer = null;

function roomPath(show, rest) {
  return `/api/rooms/${encodeURIComponent(show.room_id)}${rest}`;
}

function termsForm(show, offer) {
  const form = el("form", { class: "group-terms-form", "data-offer": offer.id },
    el("label", {}, "Group price (cents)", el("input", { name: "group_price", type: "number", min: 0, max: Math.max(offer.unit_price - 1, 0), value: offer.group_price || Math.floor(offer.unit_price * 0.8), required: true })),
    el("label", {}, "Size (2-50)", el("input", { name: "group_size", type: "number", min: 2, max: 50, value: offer.group_size || 3, required: true })),
    el("label", {}, "Window (1-60 min)", el("input", { name: "window_minutes", type: "number", min: 1, max: 60, value: Math.round((offer.group_window_s || 600) / 60), required: true })),
    el("label", { class: "inline" }, el("input", { name: "open_groups", type: "checkbox", checked: offer.group_size ? offer.group_open : true }), "Open groups"),
    el("button", { type: "submit" }, offer.group_size ? "Update terms" : "Sell in groups"));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const terms = {
      group_price: Number(form.elements.group_price.value),
      group_size: Number(form.elements.group_size.value),
      window_minutes: Number(form.elements.window_minutes.value),
      open_groups: form.elements.open_groups.checked,
    };
    await host.act(() => host.api.post(`/api/offers/${offer.id}/group-terms`, terms), "Group terms set.");
    load(show);
  });
  return form;
}

function offerRow(show, offer, groups) {
  const price = [el("span", { class: "price" }, money(offer.unit_price, offer.currency))];
  if (offer.compare_at_price > offer.unit_price) {
    price.push(el("s", { class: "was-price" }, money(offer.compare_at_price, offer.currency)),
      el("span", { class: "saving" }, `save ${money(offer.compare_at_price - offer.unit_price, offer.currency)}`));
  }
  const counts = groups
    ? el("p", { class: "group-counts", "data-offer": offer.id },
      el("span", { class: "pill", "data-state": "forming" }, `${groups.forming} forming`), " ",
      el("span", { class: "pill", "data-state": "formed" }, `${groups.formed} formed`), " ",
      el("span", { class: "pill", "data-state": "failed" }, `${groups.failed} failed`))
    : null;
  const list = groups && groups.groups.length
    ? el("table", {}, el("tbody", {}, ...groups.groups.slice(0, 12).map((g) => el("tr", { "data-group": g.id, "data-state": g.state },
      el("td", {}, `${g.leader_name}'s group`),
      el("td", {}, g.members.map((m) => m.name).join(", ")),
      el("td", {}, g.state === "forming" ? `${g.seats_left} left` : g.state)))))
    : null;
  return el("div", { class: "group-console-offer" },
    el("h4", {}, offer.title, " ", ...price,
      offer.group_size ? el("span", { class: "muted" }, ` · groups of ${offer.group_size} at ${money(offer.group_price, offer.currency)}`) : null),
    counts, list,
    offer.buckets > 1 ? el("p", { class: "muted" }, "Split in buckets for a rush: no groups.")
      : groups && groups.groups.length ? el("p", { class: "muted" }, "Terms are fixed once a group has started.")
        : termsForm(show, offer));
}

async function load(show) {
  if (!body) return;
  try {
    const [offers, groups] = await Promise.all([
      host.api.get(roomPath(show, "/offers")),
      host.api.get(roomPath(show, "/groups")),
    ]);
    const byOffer = new Map(groups.offers.map((o) => [o.offer_id, o]));
    const rows = offers.offers.filter((o) => o.state !== "closed" || byOffer.has(o.id));
    body.replaceChildren(...rows.map((offer) => offerRow(show, offer, byOffer.get(offer.id))));
    if (!rows.length) body.append(el("p", { class: "muted" }, "No offers yet."));
  } catch {
    // Loaded again at the next group event.
  }
}

function later(show) {
  clearTimeout(timer);
  timer = setTimeout(() => load(show), 300);
}

host.onShowOpened((show) => {
  body = el("div", { id: "groups-console-body" });
  host.panels.append(el("section", { class: "panel groups-console", id: "groups-console" },
    el("h3", {}, "Deals and groups"), body));
  load(show);
});
host.onShowClosed(() => { body = null; });
for (const type of ["group_started", "group_updated", "group_formed", "group_failed", "group_terms", "offer_added"]) {
  host.on(type, () => host.show && later(host.show));
}
