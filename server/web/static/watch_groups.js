// Group buying on the viewer page (docs/groups.md): on a group offer, "Start a group" and
// the open groups closest to full with "Join"; the invitation link /watch/<room>?group=<id>
// opens the page on that group: members' names, seats left, the window's countdown, then
// formed, or failed and refunded. Start, join and pay go over HTTP with the viewer's token.
import { ApiError, clock, el, money, randomKey } from "./common.js";
import { viewer } from "./watch_features.js";

const invited = new URLSearchParams(location.search).get("group");
let panel = null;
/** Open groups by offer id, as last read. */
const openGroups = new Map();
/** The group the page is on (invited to, or the viewer's own), and the viewer's seat in it. */
let focus = null;
let seat = null;
let note = "";

function storageKey() {
  return `livesale:group-seat:${viewer.roomId}:${viewer.me?.user_id || ""}`;
}

function loadSeat() {
  try {
    seat = JSON.parse(localStorage.getItem(storageKey()) || "null");
  } catch {
    seat = null;
  }
}

function saveSeat() {
  localStorage.setItem(storageKey(), JSON.stringify(seat));
}

async function call(method, path, body) {
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  if (viewer.me?.token) headers.Authorization = `Bearer ${viewer.me.token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body && JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { error: { code: "offline", message: "No connection to the server." } });
  }
  const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Offers whose group terms were set since the page loaded (viewer.offers is read only). */
const withTerms = new Map();

function offerOf(id) {
  const offer = viewer.offers.get(id);
  return offer ? { ...offer, ...withTerms.get(id) } : withTerms.get(id);
}

function groupOffers() {
  const ids = new Set([...viewer.offers.keys(), ...withTerms.keys()]);
  return [...ids].map(offerOf).filter((o) => o.group_size > 0 && o.state !== "closed");
}

function seatsText(group) {
  if (group.state === "formed") return "Group formed!";
  if (group.state === "failed") return "Did not fill in time";
  return group.seats_left === 1 ? "1 seat left" : `${group.seats_left} seats left`;
}

function names(group) {
  return group.members.map((m) => m.name).join(", ") || "nobody yet";
}

async function act(action, done) {
  if (!viewer.me) {
    note = "Pick a nickname below to join a group.";
    viewer.askToJoin();
    draw();
    return;
  }
  try {
    await action();
    if (done) note = done;
  } catch (error) {
    note = error.message;
    if (error.code === "already_in_group" && error.details.group_id) await show(error.details.group_id);
  }
  draw();
  refreshOpen();
}

async function seated(answer) {
  focus = answer.group;
  seat = { group_id: answer.group.id, hold_id: answer.hold.hold_id, pay_by_ms: answer.hold.pay_by_ms, paid: false };
  saveSeat();
}

function start(offer) {
  act(async () => seated(await call("POST", `/api/offers/${offer.id}/groups`,
    { idempotency_key: randomKey("group-start-") })), "You started a group: share the link!");
}

function join(group) {
  act(async () => seated(await call("POST", `/api/groups/${group.id}/members`,
    { idempotency_key: randomKey("group-join-") })), "You are in! Pay to keep your seat.");
}

function pay() {
  act(async () => {
    const answer = await call("POST", `/api/holds/${seat.hold_id}/confirm`, { payment_ref: randomKey("demo-pay-") });
    seat.paid = true;
    saveSeat();
    note = answer.outcome === "paid" ? "Paid. Your order is placed when the group forms." : "Paid! Your order is confirmed.";
  }, "");
}

async function show(groupId) {
  try {
    focus = await call("GET", `/api/groups/${encodeURIComponent(groupId)}`);
  } catch (error) {
    note = error.message;
  }
  draw();
}

async function refreshOpen() {
  for (const offer of groupOffers()) {
    try {
      const found = await call("GET", `/api/offers/${offer.id}/groups`);
      openGroups.set(offer.id, found.groups);
    } catch {
      // Read again at the next group event.
    }
  }
  draw();
}

function focusCard() {
  if (!focus) return null;
  const offer = offerOf(focus.offer_id);
  const mine = seat && seat.group_id === focus.id;
  const result = {
    formed: "The group formed: every paid member's order is placed.",
    failed: "The group did not fill in time: every payment is refunded and the units are back on sale.",
  }[focus.state];
  const link = new URL(focus.invite_url, location.origin).href;
  return el("div", { class: `group-focus group-${focus.state}`, id: "group-focus", "data-state": focus.state },
    el("div", { class: "group-head" },
      el("strong", {}, `${focus.leader_name}'s group`),
      el("span", { class: "group-seats" }, seatsText(focus)),
      focus.state === "forming" ? el("span", { class: "group-timer", "data-ends": focus.ends_at_ms }, "") : null),
    el("p", { class: "group-price" }, `${focus.size} people · ${money(focus.price, offer?.currency || "EUR")} each`),
    el("ul", { class: "group-members" },
      ...focus.members.map((m) => el("li", { class: "member" }, m.name)),
      ...Array.from({ length: focus.seats_left }, () => el("li", { class: "member empty" }, "?"))),
    result ? el("p", { class: "group-result" }, result) : null,
    el("div", { class: "group-actions" },
      !mine && focus.state === "forming"
        ? el("button", { type: "button", id: "group-join", onclick: () => join(focus) }, "Join this group") : null,
      mine && !seat.paid && focus.state !== "failed"
        ? el("button", { type: "button", id: "group-pay", onclick: pay }, `Pay ${money(focus.price, offer?.currency || "EUR")} (demo)`) : null,
      focus.state === "forming"
        ? el("button", { type: "button", class: "link", onclick: () => navigator.clipboard?.writeText(link).then(() => { note = "Invitation link copied."; draw(); }) }, "Copy invitation link")
        : null),
    focus.state === "forming" ? el("p", { class: "muted group-link" }, link) : null);
}

function offerBlock(offer) {
  const alone = offer.compare_at_price || offer.unit_price;
  const listed = (openGroups.get(offer.id) || []).filter((g) => g.id !== focus?.id);
  const mineHere = seat && focus && focus.offer_id === offer.id && seat.group_id === focus.id && focus.state !== "failed";
  return el("div", { class: "group-offer", "data-offer": offer.id },
    el("p", { class: "group-deal" },
      el("strong", {}, `Team up: ${offer.group_size} people pay ${money(offer.group_price, offer.currency)} each`),
      " ", el("s", { class: "was-price" }, money(alone, offer.currency))),
    mineHere ? null : el("button", { type: "button", class: "group-start", onclick: () => start(offer) }, "Start a group"),
    listed.length ? el("ul", { class: "group-list" }, ...listed.map((g) =>
      el("li", { class: "group-row", "data-group": g.id },
        el("span", { class: "group-who" }, `${g.leader_name}'s group · ${names(g)}`),
        el("span", { class: "group-seats" }, seatsText(g)),
        el("span", { class: "group-timer", "data-ends": g.ends_at_ms }, ""),
        el("button", { type: "button", onclick: () => join(g) }, "Join")))) : null);
}

function draw() {
  if (!panel) {
    panel = el("section", { class: "group-panel", id: "groups", "aria-live": "polite" });
    viewer.panels.append(panel);
  }
  const offers = groupOffers();
  panel.hidden = !offers.length && !focus;
  const parts = [el("h2", {}, "Group deals"), focusCard(), ...offers.map(offerBlock),
    note ? el("p", { class: "group-note", role: "status" }, note) : null];
  panel.replaceChildren(...parts.filter(Boolean));
  tick();
}

function tick(now = viewer.shownNow()) {
  for (const node of panel?.querySelectorAll(".group-timer") || []) {
    node.textContent = `ends in ${clock(Number(node.dataset.ends) - now)}`;
  }
}
viewer.onTick(tick);

function groupNews(event) {
  const group = event.group;
  if (focus && focus.id === group.id) focus = group;
  if (!focus && seat && seat.group_id === group.id) focus = group;
  if (event.type === "group_failed" && seat?.group_id === group.id) note = "Your group did not fill in time; your payment is refunded.";
  if (event.type === "group_formed" && seat?.group_id === group.id) note = "Your group formed!";
  refreshOpen();
}

for (const type of ["snapshot", "offer_added", "offer_announced", "offer_open", "offer_closed"]) {
  viewer.on(type, () => refreshOpen());
}
viewer.on("group_terms", (event) => {
  const { group_price, group_size, group_window_s, group_open } = event.offer;
  withTerms.set(event.offer.id, viewer.offers.has(event.offer.id)
    ? { group_price, group_size, group_window_s, group_open } : event.offer);
  refreshOpen();
});
for (const type of ["group_started", "group_updated", "group_formed", "group_failed"]) viewer.on(type, groupNews);
viewer.onSignedIn(async () => {
  loadSeat();
  if (seat && !invited) await show(seat.group_id);
  draw();
});
if (invited) show(invited);
