// Coupons and red packets on the viewer page: a card over the stage while a coupon drop or
// a red packet rain is live (countdown, one tap to claim or grab), the wallet below the
// offer (claimed coupons, red packet credit), and the coupon picker merged into every
// payment (viewer.paymentExtras). docs/coupons.md.
import { clock, el, money, randomKey } from "./common.js";
import { viewer } from "./watch_features.js";

const roomPath = `/api/rooms/${encodeURIComponent(viewer.roomId)}`;
const live = new Map(); // drop or rain id -> {kind, data, card, button, count, note}
let wallet = { coupons: [], packets: [], credit: 0 };
let chosenCoupon = "";
let useCredit = true;

function currency() {
  for (const offer of viewer.offers.values()) return offer.currency;
  return "EUR";
}

function describeDrop(drop) {
  const off = drop.percent_off != null ? `${drop.percent_off}% off` : `${money(drop.amount_off, currency())} off`;
  const min = drop.min_spend ? ` over ${money(drop.min_spend, currency())}` : "";
  return `${off}${min}`;
}

/** A call with the signed-in viewer's token (the page's Api sends no Authorization). */
async function call(method, path) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${viewer.me.token}` },
  });
  const data = await response.json();
  if (!response.ok) throw Object.assign(new Error(data.error?.message || "That did not work."), data.error);
  return data;
}

// ------------------------------------------------------------------ live cards

function showCard(kind, data) {
  const id = kind === "drop" ? data.drop_id : data.rain_id;
  if (live.has(id)) return;
  const badge = el("span", { class: "coupon-badge" }, kind === "drop" ? "Coupon" : "Red packets");
  const title = el("strong", { class: "coupon-title" }, badge, " ", data.title);
  const what = el("p", { class: "coupon-what" },
    kind === "drop" ? describeDrop(data) : `${data.packets} red packet${data.packets === 1 ? "" : "s"}, ${money(data.pool, currency())} in all`);
  const timer = el("span", { class: "coupon-timer", role: "timer" });
  const count = el("span", { class: "coupon-count" });
  const note = el("p", { class: "coupon-note", role: "status" });
  const button = el("button", { type: "button", class: "coupon-tap", "data-id": id },
    kind === "drop" ? "Claim" : "Grab!");
  const card = el("section", { class: `coupon-card coupon-${kind}`, id: `card-${id}`, "aria-label": data.title },
    el("div", { class: "coupon-head" }, title, timer), what, el("div", { class: "coupon-foot" }, button, count), note);
  const entry = { kind, data, card, button, count, note, key: randomKey("tap-") };
  live.set(id, entry);
  button.addEventListener("click", () => tap(id));
  drawCount(entry, kind === "drop" ? data.claimed : data.grabbed, kind === "drop" ? data.quota : data.packets);
  viewer.cards.append(card);
  tick();
}

function drawCount(entry, done, total) {
  entry.count.textContent = entry.kind === "drop" ? `${done}/${total} claimed` : `${done}/${total} grabbed`;
}

function tap(id) {
  const entry = live.get(id);
  if (!entry) return;
  if (!viewer.me) {
    entry.note.textContent = "Pick a nickname below to claim.";
    viewer.askToJoin();
    return;
  }
  entry.button.disabled = true;
  // The same key on a retry of this tap: the server answers the same coupon or packet.
  const message = entry.kind === "drop"
    ? { type: "coupon_claim", drop_id: id, idempotency_key: entry.key }
    : { type: "red_packet_grab", rain_id: id, idempotency_key: entry.key };
  viewer.send({ ...message, request_id: `wallet:${id}` });
}

function claimed(event, id, text) {
  const entry = live.get(id);
  if (!entry) return;
  if (entry.kind === "drop") drawCount(entry, event.claimed, event.quota);
  else drawCount(entry, event.grabbed, event.packets);
  entry.button.textContent = "✓";
  entry.note.textContent = text;
  entry.card.classList.add("coupon-won");
  refreshWallet();
}

function endCard(id, text) {
  const entry = live.get(id);
  if (!entry) return;
  live.delete(id);
  entry.button.disabled = true;
  if (!entry.card.classList.contains("coupon-won")) entry.note.textContent = text;
  setTimeout(() => entry.card.remove(), 4000);
}

function tick(now = viewer.shownNow()) {
  for (const entry of live.values()) {
    const ends = entry.data.ends_at_ms || now;
    // Never more than the window: a device clock a little behind the server's shows no more.
    const left = Math.min(ends - now, ends - (entry.data.starts_at_ms || ends));
    entry.card.querySelector(".coupon-timer").textContent = clock(left);
  }
}
viewer.onTick(tick);

viewer.on("coupon_drop_started", (event) => showCard("drop", event.drop));
viewer.on("red_packet_rain_started", (event) => showCard("rain", event.rain));
viewer.on("coupon_drop_claimed", (event) => {
  const entry = live.get(event.drop_id);
  if (entry) drawCount(entry, event.claimed, event.quota);
});
viewer.on("red_packet_rain_grabbed", (event) => {
  const entry = live.get(event.rain_id);
  if (entry) drawCount(entry, event.grabbed, event.packets);
});
viewer.on("coupon_drop_ended", (event) => endCard(event.drop_id, "This drop is over."));
viewer.on("red_packet_rain_ended", (event) => endCard(event.rain_id, "The rain is over."));
viewer.on("coupon_claim_result", (event) =>
  claimed(event, event.drop_id, "Claimed! It is in your wallet for checkout."));
viewer.on("red_packet_grab_result", (event) =>
  claimed(event, event.rain_id, `You got ${money(event.amount, currency())} of credit!`));
viewer.on("error", (event) => {
  const id = String(event.request_id || "").replace(/^wallet:/, "");
  const entry = event.request_id?.startsWith("wallet:") && live.get(id);
  if (!entry) return;
  entry.note.textContent = event.message;
  if (event.code === "already_claimed") entry.card.classList.add("coupon-won");
  else entry.button.disabled = event.code !== "token_required";
});

// ------------------------------------------------------------------- wallet

const creditLine = el("p", { id: "wallet-credit", class: "wallet-credit" });
const couponList = el("ul", { id: "wallet-coupons", class: "wallet-coupons" });
const picker = el("select", { id: "coupon-picker", "aria-label": "Coupon for this payment" });
const creditBox = el("input", { id: "use-credit", type: "checkbox", checked: true });
const payWith = el("div", { class: "wallet-pay" },
  el("label", {}, "Pay with ", picker),
  el("label", {}, creditBox, " use my red packet credit"));
const panel = el("section", { id: "wallet", class: "wallet", "aria-label": "Your coupons and credit", hidden: true },
  el("h3", {}, "Your wallet"), creditLine, couponList, payWith);

picker.addEventListener("change", () => { chosenCoupon = picker.value; });
creditBox.addEventListener("change", () => { useCredit = creditBox.checked; });

function drawWallet() {
  const usable = wallet.coupons.filter((c) => c.status === "active" || c.status === "locked");
  panel.hidden = !wallet.coupons.length && !wallet.packets.length;
  creditLine.textContent = `Red packet credit: ${money(wallet.credit, currency())}`;
  couponList.replaceChildren(...wallet.coupons.map((c) =>
    el("li", { class: `wallet-coupon wallet-${c.status}` },
      el("strong", {}, describeDrop(c)), " ", c.title, " · ",
      c.status === "active" ? `until ${new Date(c.expires_at_ms).toLocaleTimeString()}` : c.status)));
  if (!usable.some((c) => c.coupon_id === chosenCoupon)) chosenCoupon = usable[0]?.coupon_id || "";
  picker.replaceChildren(el("option", { value: "" }, "no coupon"),
    ...usable.map((c) => el("option", { value: c.coupon_id, selected: c.coupon_id === chosenCoupon }, describeDrop(c))));
  creditBox.disabled = wallet.credit <= 0;
}

async function refreshWallet() {
  if (!viewer.me) return;
  try {
    wallet = await call("GET", `${roomPath}/wallet`);
    drawWallet();
  } catch {
    // The next claim or payment refreshes it.
  }
}

viewer.paymentExtras.push(() => {
  const extra = {};
  if (chosenCoupon) extra.coupon_id = chosenCoupon;
  if (useCredit && wallet.credit > 0) extra.use_credit = true;
  return extra;
});
viewer.on("confirm_result", () => refreshWallet());
viewer.onSignedIn(() => refreshWallet());
viewer.panels.append(panel);

// A page that joins in the middle of a drop or a rain shows its card too.
viewer.api.get(`${roomPath}/coupon-drops`).then((found) => {
  for (const drop of found.drops) showCard("drop", drop);
  for (const rain of found.rains) showCard("rain", rain);
}).catch(() => {});
