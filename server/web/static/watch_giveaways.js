// Giveaways on the viewer page: a card over the stage while a giveaway is open (countdown,
// entry count, one tap to enter, or to post its keyword), the draw's result with what
// verifies it, and for a winner a private "you won" card with the shipping form.
// docs/giveaways.md.
import { clock, el } from "./common.js";
import { dispatch, viewer } from "./watch_features.js";

const roomPath = `/api/rooms/${encodeURIComponent(viewer.roomId)}`;
const cards = new Map(); // giveaway id -> {data, card, button, count, note, timer}
const claimCards = new Map(); // giveaway id -> claim card

const RULES = {
  any: () => "Anyone watching can enter",
  keyword: (g) => `Post “${g.keyword}” in the chat to enter`,
  watched: (g) => `For viewers who watched ${clock(g.min_watch_s * 1000)}`,
  bought: () => "For buyers in this show",
};

/** A call with the signed-in viewer's token (the page's Api sends no Authorization). */
async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${viewer.me.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json();
  if (!response.ok) throw Object.assign(new Error(data.error?.message || "That did not work."), data.error);
  return data;
}

function short(hex) {
  return hex ? `${hex.slice(0, 10)}…` : "";
}

// ------------------------------------------------------------------ the live card

function showCard(giveaway) {
  const id = giveaway.giveaway_id;
  if (cards.has(id) || giveaway.state === "draft") return cards.get(id);
  const timer = el("span", { class: "giveaway-timer", role: "timer" });
  const count = el("span", { class: "giveaway-count" });
  const note = el("p", { class: "giveaway-note", role: "status" });
  const keyword = giveaway.rule === "keyword";
  const button = el("button", { type: "button", class: "giveaway-tap", "data-giveaway": id },
    keyword ? `Send “${giveaway.keyword}”` : "Enter");
  const proof = el("p", { class: "giveaway-proof" }, "Draw commitment ", el("code", {}, short(giveaway.commitment)));
  const card = el("section", { class: "giveaway-card", id: `giveaway-${id}`, "aria-label": giveaway.title },
    el("div", { class: "giveaway-head" }, el("strong", { class: "giveaway-title" }, el("span", { class: "giveaway-badge" }, "Giveaway"), giveaway.title), timer),
    el("p", { class: "giveaway-what" },
      `${giveaway.prizes} ${giveaway.prizes === 1 ? "winner" : "winners"} · ${RULES[giveaway.rule](giveaway)}`),
    el("div", { class: "giveaway-foot" }, button, count), note, proof);
  const entry = { data: giveaway, card, button, count, note, timer };
  cards.set(id, entry);
  button.addEventListener("click", () => enter(id));
  drawCount(entry, giveaway.entries);
  if (giveaway.me?.entered) entered(id);
  viewer.cards.append(card);
  tick();
  return entry;
}

function drawCount(entry, entries) {
  entry.count.textContent = `${entries} ${entries === 1 ? "entry" : "entries"}`;
}

function enter(id) {
  const entry = cards.get(id);
  if (!entry) return;
  if (!viewer.me) {
    entry.note.textContent = "Pick a nickname below to enter.";
    viewer.askToJoin();
    return;
  }
  entry.button.disabled = true;
  if (entry.data.rule === "keyword") {
    // Posting the keyword is the entry; the chat_ack says which giveaways it entered.
    viewer.send({ type: "chat", text: entry.data.keyword, request_id: `giveaway:${id}` });
  } else {
    viewer.send({ type: "giveaway_enter", giveaway_id: id, request_id: `giveaway:${id}` });
  }
}

function entered(id) {
  const entry = cards.get(id);
  if (!entry) return;
  entry.button.disabled = true;
  entry.button.textContent = "You're in ✓";
  entry.card.classList.add("giveaway-entered");
  entry.note.textContent = "Good luck! Winners are drawn when the countdown ends.";
}

function drawnCard(event) {
  const entry = cards.get(event.giveaway_id) || showCard({ ...event, state: "open", giveaway_id: event.giveaway_id, prizes: event.winners.length || 1, rule: "any", entries: event.entries });
  if (!entry) return;
  entry.data.ends_at_ms = 0;
  entry.card.classList.add("giveaway-drawn");
  entry.button.remove();
  entry.timer.textContent = event.round ? `Redraw ${event.round}` : "Drawn";
  drawCount(entry, event.entries);
  const names = event.winners.map((w) => w.name);
  const mine = viewer.me && event.winners.some((w) => w.user_id === viewer.me.user_id);
  entry.note.replaceChildren(
    names.length ? el("span", {}, "Winners: ", el("strong", { class: "giveaway-winners" }, names.join(", "))) : "Nobody entered.");
  entry.card.querySelector(".giveaway-proof").replaceChildren(
    "Seed ", el("code", {}, short(event.seed)), " · ",
    el("a", { href: event.verify_url, target: "_blank", rel: "noopener" }, "check the draw"));
  if (!mine) setTimeout(() => { entry.card.remove(); cards.delete(event.giveaway_id); }, 20000);
}

// ------------------------------------------------------------- the winner's claim

function field(label, name, attrs = {}) {
  return el("label", { class: "giveaway-field" }, el("span", {}, label),
    el("input", { name, required: true, ...attrs }));
}

function showClaim(won) {
  const id = won.giveaway_id;
  if (claimCards.has(id)) return;
  const note = el("p", { class: "giveaway-note", role: "status" },
    `Tell us where to send it before ${new Date(won.claim_until_ms).toLocaleString()}.`);
  const form = el("form", { class: "giveaway-claim-form", id: `claim-${id}` },
    field("Name", "name", { maxlength: 100, autocomplete: "name" }),
    field("Address", "address", { maxlength: 300, autocomplete: "street-address" }),
    field("City", "city", { maxlength: 100, autocomplete: "address-level2" }),
    field("Postal code", "postal_code", { maxlength: 20, autocomplete: "postal-code" }),
    field("Country (2 letters)", "country", { maxlength: 2, minlength: 2, pattern: "[A-Za-z]{2}", autocomplete: "country", placeholder: "FR" }),
    field("Phone (optional)", "phone", { maxlength: 40, type: "tel", autocomplete: "tel", required: false }),
    el("button", { type: "submit", class: "giveaway-tap" }, "Claim my prize"));
  const card = el("section", { class: "giveaway-card giveaway-won", id: `won-${id}`, "aria-label": `You won ${won.title}` },
    el("div", { class: "giveaway-head" }, el("strong", { class: "giveaway-title" }, el("span", { class: "giveaway-badge" }, "You won"), won.title)),
    note, form);
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const body = Object.fromEntries(["name", "address", "city", "postal_code", "country", "phone"]
      .map((name) => [name, form.elements[name].value.trim()]));
    body.country = body.country.toUpperCase();
    if (!body.phone) delete body.phone;
    form.querySelector("button").disabled = true;
    try {
      const claimed = await call("POST", `/api/giveaways/${id}/claim`, body);
      claimedCard(id, claimed.order_id);
    } catch (error) {
      note.textContent = error.message;
      form.querySelector("button").disabled = false;
    }
  });
  claimCards.set(id, card);
  cards.get(id)?.card.remove();
  viewer.cards.append(card);
}

function claimedCard(id, orderId) {
  const card = claimCards.get(id);
  if (!card) return;
  card.querySelector("form")?.remove();
  card.querySelector(".giveaway-note").textContent = `Claimed! Your prize ships soon (order ${orderId}).`;
  // The claim went over HTTP, not the room: tell the page's other parts (My orders).
  dispatch({ type: "prize_claimed", giveaway_id: id, order_id: orderId });
  card.classList.add("giveaway-claimed");
  setTimeout(() => card.remove(), 30000);
}

// ----------------------------------------------------------------- the clock

function tick(now = viewer.shownNow()) {
  for (const entry of cards.values()) {
    if (!entry.data.ends_at_ms) continue;
    const left = entry.data.ends_at_ms - now;
    entry.timer.textContent = left > 0 ? clock(left) : "Drawing…";
    if (left <= 0 && !entry.card.classList.contains("giveaway-entered")) entry.button.disabled = true;
  }
}
viewer.onTick(tick);

viewer.on("giveaway_started", (event) => showCard({ ...event.giveaway, ends_at_ms: event.ends_at_ms }));
viewer.on("giveaway_entries", (event) => {
  const entry = cards.get(event.giveaway_id);
  if (entry && !entry.card.classList.contains("giveaway-drawn")) drawCount(entry, event.entries);
});
viewer.on("giveaway_entered", (event) => {
  entered(event.giveaway_id);
  const entry = cards.get(event.giveaway_id);
  if (entry) drawCount(entry, event.entries);
});
viewer.on("chat_ack", (event) => { for (const id of event.giveaways_entered || []) entered(id); });
viewer.on("giveaway_drawn", drawnCard);
viewer.on("giveaway_won", showClaim);
viewer.on("error", (event) => {
  const request = String(event.request_id || "");
  if (!request.startsWith("giveaway:")) return;
  const entry = cards.get(request.slice("giveaway:".length));
  if (!entry) return;
  entry.note.textContent = event.message;
  entry.button.disabled = event.code !== "token_required";
});

/** Open giveaways (and prizes still to claim) of a page that joins in the middle. */
async function catchUp() {
  try {
    const found = viewer.me ? await call("GET", `${roomPath}/giveaways`) : await viewer.api.get(`${roomPath}/giveaways`);
    const now = viewer.now();
    for (const giveaway of found.giveaways) {
      if (giveaway.state === "open" && giveaway.ends_at_ms > now) showCard(giveaway);
      const me = giveaway.me;
      if (me?.won && !me.order_id && me.claim_until_ms > now) {
        showClaim({ giveaway_id: giveaway.giveaway_id, title: giveaway.title, claim_until_ms: me.claim_until_ms });
      }
    }
  } catch {
    // The room's events bring the next giveaway anyway.
  }
}
viewer.onSignedIn(() => catchUp());
if (!viewer.me) catchUp();
