// The viewer's room page: watch, chat, like, and buy at zero.
import { Api, RoomSocket, clock, el, money, randomKey } from "./common.js";
import { dispatch, paymentFields, signedIn, ticked, viewer } from "./watch_features.js";

const $ = (id) => document.getElementById(id);
const roomId = decodeURIComponent(location.pathname.split("/").pop());
const api = new Api();
const storageKey = "livesale.viewer";

const state = {
  me: null, // {token, user_id, display_name}
  offers: viewer.offers, // shared with the page's feature modules (read only there)
  pinnedOfferId: null,
  hold: null, // my current hold {hold_id, offer_id, quantity, pay_by_ms}
  pendingReserve: null, // a press without an answer yet: re-sent on reconnect, same key
  pendingConfirm: null,
  sent: { reserve: null, confirm: null }, // the request id each pending message went with
  tries: { reserve: 0, confirm: 0 }, // sends of each that Redis could not take (retriable)
  holdNotice: null, // said before the hold's countdown while a payment is retried or failed
  muted: false,
  units: new Map(), // offer id -> units I hold or bought (the per-person limit counts them)
  quantity: 1, // the stepper's choice for the offer on the card
  pendingOffer: null, // the offer of the last press answered
};

function savedViewer() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && saved.expires_at_ms > Date.now()) return saved;
  } catch { /* a bad entry is the same as none */ }
  return null;
}

state.me = savedViewer();
const socket = new RoomSocket(roomId, {
  token: state.me?.token,
  onEvent: handle,
  onStatus: showStatus,
});
viewer.send = (message) => socket.send(message);
viewer.now = () => socket.now();
viewer.announce = (text) => announce(text);
viewer.askToJoin = () => {
  $("join").hidden = false;
  $("nickname").focus();
};

function showStatus(status) {
  const ended = document.body.dataset.show === "ended";
  if (ended && status !== "banned") return; // the page says "ended", not the socket's state
  const upcoming = document.body.dataset.show === "draft";
  const labels = { connecting: "connecting…", live: upcoming ? "upcoming" : "live", reconnecting: "reconnecting…", banned: "removed" };
  $("status").textContent = labels[status] || status;
  $("status").dataset.state = status;
  if (status === "live") {
    // A press or a payment whose answer was lost goes again with the same key: the server
    // answers it once, however often it is sent.
    sendPending("reserve");
    sendPending("confirm");
  }
  if (status === "banned") {
    showChatError("The host removed you from this room.");
    $("chat-form").hidden = true;
  }
}

// ------------------------------------------------------------------ events

function handle(event) {
  switch (event.type) {
    case "hello":
      break;
    case "snapshot":
      state.offers.clear();
      for (const offer of event.offers) state.offers.set(offer.id, offer);
      state.pinnedOfferId = event.pinned_offer_id;
      showPinned(event.pinned_message);
      drawOffer();
      refreshUnits(); // a first connect, or too far behind for the purchase events missed
      break;
    case "chat":
      addMessage(event);
      break;
    case "chat_deleted":
      document.querySelector(`[data-offset="${CSS.escape(event.message_offset)}"]`)?.remove();
      break;
    case "user_muted":
      if (event.user_id === state.me?.user_id) {
        state.muted = event.muted;
        if (event.muted) showChatError("The host muted you in this room.");
        else hideChatError();
      }
      break;
    case "user_banned":
      for (const node of document.querySelectorAll(`[data-user="${CSS.escape(event.user_id)}"]`)) node.remove();
      break;
    case "announcement":
      announce(event.text);
      break;
    case "pinned_message":
      showPinned(event.pinned_message);
      break;
    case "pinned_offer":
      state.pinnedOfferId = event.pinned_offer_id;
      drawOffer();
      break;
    case "offer_added":
    case "offer_paused":
    case "offer_closed":
      state.offers.set(event.offer.id, event.offer);
      drawOffer();
      break;
    case "offer_announced":
      state.offers.set(event.offer.id, event.offer);
      if (!state.pinnedOfferId) state.pinnedOfferId = event.offer.id;
      drawOffer();
      break;
    case "offer_open":
      if (event.offer) state.offers.set(event.offer.id, event.offer);
      else patchOffer(event.offer_id, { state: "open", closes_at_ms: event.closes_at_ms });
      drawOffer();
      break;
    case "stock":
      patchOffer(event.offer_id, { available: event.available, held: event.held, sold: event.sold, total: event.total });
      drawOffer();
      break;
    case "sold_out":
      patchOffer(event.offer_id, { available: 0 });
      drawOffer();
      break;
    case "counts":
      $("viewers").textContent = `${event.viewers} watching`;
      $("likes").textContent = event.likes;
      break;
    case "show_live":
      document.body.dataset.show = "live";
      if ($("status").dataset.state === "live") $("status").textContent = "live";
      announce("The show is live!");
      break;
    case "show_ended":
      showState("ended");
      announce("The show has ended. Thank you for watching!");
      clearTimeout(announce.timer);
      break;
    case "reserve_result":
      state.tries.reserve = 0;
      state.pendingOffer = state.pendingReserve?.offer_id;
      state.pendingReserve = null;
      reserveAnswer(event);
      break;
    case "confirm_result":
      state.tries.confirm = 0;
      state.holdNotice = null;
      state.pendingConfirm = null;
      confirmAnswer(event);
      break;
    case "cancel_result":
      state.hold = null;
      showPurchase("You gave the item up; it is back on sale.");
      refreshUnits();
      break;
    case "purchase":
      purchaseNews(event);
      break;
    case "auth_ok":
      showChat();
      if (state.me) signedIn(state.me);
      refreshUnits();
      break;
    case "chat_ack":
      $("chat-text").value = "";
      hideChatError();
      break;
    case "error":
      if (!pendingFailed(event)) socketError(event);
      break;
  }
  dispatch(event);
}

function patchOffer(offerId, fields) {
  const offer = state.offers.get(offerId);
  if (offer) Object.assign(offer, fields);
}

// ------------------------------------------------------------------ the offer card

function currentOffer() {
  if (state.pinnedOfferId && state.offers.has(state.pinnedOfferId)) return state.offers.get(state.pinnedOfferId);
  return null;
}

function drawOffer() {
  const offer = currentOffer();
  $("offer").hidden = !offer;
  if (!offer) return;
  $("offer-title").textContent = offer.title;
  $("offer-price").textContent = money(offer.unit_price, offer.currency);
  // A deal price: the regular price struck through, and the saving (docs/groups.md).
  const saving = offer.compare_at_price > offer.unit_price ? offer.compare_at_price - offer.unit_price : 0;
  $("offer-was").hidden = $("offer-saving").hidden = !saving;
  $("offer-was").textContent = saving ? money(offer.compare_at_price, offer.currency) : "";
  $("offer-saving").textContent = saving ? `Save ${money(saving, offer.currency)}` : "";
  $("offer-limit").textContent = offer.per_user_limit > 1 ? `up to ${offer.per_user_limit} each` : "1 per person";
  const image = $("offer-image");
  image.hidden = !offer.image_url;
  if (offer.image_url && image.getAttribute("src") !== offer.image_url) image.src = offer.image_url;
  const share = offer.total ? offer.available / offer.total : 0;
  $("stock-bar").style.width = `${Math.round(share * 100)}%`;
  $("stock-bar").dataset.low = share <= 0.1 ? "yes" : "no";
  $("stock-text").textContent = offer.available > 0 ? `${offer.available} of ${offer.total} left` : "None left";
  tick();
}

/** Redraw the card (and every other countdown of the page) now, on a fresh reading of the
 * clock: an event may have opened the sale a moment ago, and Buy must not wait for the
 * next tick. */
function tick() {
  ticked();
}

/** Countdown and buy button at ``now``, the server's clock: every tick (200 ms). */
function drawCard(now) {
  const offer = currentOffer();
  if (!offer) return;
  const button = $("buy");
  let text = "";
  let canBuy = false;
  if (offer.state === "draft") text = "Coming up soon";
  else if (offer.state === "paused") text = "Paused by the host — hold on";
  else if (offer.state === "closed" || (offer.closes_at_ms && now >= offer.closes_at_ms)) text = "The sale has ended";
  else if (now < offer.opens_at_ms) text = `Starts in ${clock(offer.opens_at_ms - now)}`;
  else if (offer.available <= 0) text = "Sold out — unpaid items may come back";
  else {
    text = offer.closes_at_ms ? `On sale · ends in ${clock(offer.closes_at_ms - now)}` : "On sale now";
    canBuy = true;
  }
  const left = unitsLeft(offer);
  const limitReached = canBuy && left <= 0;
  if (limitReached) canBuy = false; // stays off after paying too: the limit counts what was bought
  $("offer-state").textContent = text;
  $("offer-state").dataset.open = canBuy ? "yes" : "no";
  button.disabled = !canBuy || Boolean(state.pendingReserve) || Boolean(state.hold);
  button.textContent = state.pendingReserve ? "Reserving…"
    : limitReached ? `Limit reached · ${offer.per_user_limit} per person`
      : canBuy ? (state.quantity > 1 ? `Buy ${state.quantity} now` : "Buy now") : "Buy";
  drawQuantity(canBuy && !state.hold && !state.pendingReserve ? Math.min(left, offer.available) : 0);
  if (state.hold) {
    const left = state.hold.pay_by_ms - now;
    const reserved = state.holdNotice || `Reserved ${state.hold.quantity} × ${titleOf(state.hold.offer_id)}.`;
    $("purchase-text").textContent = left > 0
      ? `${reserved} Pay within ${clock(left, Math.floor)}.`
      : "Your reservation ran out.";
  }
}
viewer.onTick(drawCard);
setInterval(ticked, 200); // every countdown of the page, on one reading of the clock

function titleOf(offerId) {
  return state.offers.get(offerId)?.title || "item";
}

$("buy").addEventListener("click", () => {
  const offer = currentOffer();
  if (offer) buy(offer, state.quantity);
});

function buy(offer, quantity) {
  if (!state.me) {
    $("join").hidden = false;
    $("nickname").focus();
    return;
  }
  if (state.pendingReserve || state.hold) return;
  state.pendingReserve = {
    type: "reserve",
    offer_id: offer.id,
    quantity,
    idempotency_key: randomKey("press-"),
  };
  sendPending("reserve");
  tick();
}

// ------------------------------------------------------------------ my units: limit and quantity

/** Units of ``offer`` I may still take: its per-person limit less what I hold or bought. */
function unitsLeft(offer) {
  if (!state.me) return offer.per_user_limit;
  return Math.max(0, offer.per_user_limit - (state.units.get(offer.id) || 0));
}

/** Ask the server what I hold or bought of each offer of the room (after each change). */
async function refreshUnits() {
  if (!state.me) return;
  try {
    const response = await fetch(`/api/me/rooms/${encodeURIComponent(roomId)}/offers`, {
      headers: { Authorization: `Bearer ${state.me.token}` },
    });
    if (!response.ok) return;
    const { offers } = await response.json();
    state.units.clear();
    for (const mine of offers) state.units.set(mine.offer_id, mine.units_already);
    tick();
  } catch { /* offline: the next purchase event asks again */ }
}

/** The stepper, from 1 to ``most`` (hidden when only one can be taken). */
function drawQuantity(most) {
  state.quantity = Math.max(1, Math.min(state.quantity, most || 1));
  $("qty").hidden = most <= 1;
  $("qty-value").textContent = String(state.quantity);
  $("qty-less").disabled = state.quantity <= 1;
  $("qty-more").disabled = state.quantity >= most;
}

$("qty-less").addEventListener("click", () => { state.quantity -= 1; tick(); });
$("qty-more").addEventListener("click", () => { state.quantity += 1; tick(); });

viewer.buy = (offerId, quantity) => {
  const offer = state.offers.get(offerId);
  if (offer) buy(offer, quantity);
};
viewer.unitsLeft = unitsLeft;
viewer.busy = () => Boolean(state.pendingReserve || state.hold);

function reserveAnswer(answer) {
  showStockOf(answer);
  if (answer.outcome === "reserved") {
    if (!answer.replayed) {
      const { offer_id: offerId, quantity } = answer.hold;
      state.units.set(offerId, (state.units.get(offerId) || 0) + quantity);
    }
    refreshUnits();
    state.hold = answer.hold;
    state.holdNotice = null;
    showPurchase("", { pay: true, cancel: true });
    tick();
    return;
  }
  const error = answer.error || {};
  if (error.code === "limit_reached" && state.pendingOffer) state.units.set(state.pendingOffer, error.units_already);
  const messages = {
    sold_out: "Sold out — every item is taken. Unpaid ones may come back in a few minutes.",
    limit_reached: `You already have the most one person may buy (${error.limit ?? 1}).`,
    not_open: "Not yet! Wait for the countdown.",
    paused: "The host paused the sale; try again in a moment.",
    closed: "The sale has ended.",
    token_required: "Join with a nickname to buy.",
    stock_unavailable: "We could not reach the shop just now. Please press again.",
  };
  showPurchase(messages[error.code] || error.message || "That did not work; please try again.");
  tick();
}

/**
 * The stock as the press left it, shown at once: the room's stock events are paced and may
 * come a moment after the answer. Only a fall is taken from an answer: stock that comes
 * back (a restock, a lapsed hold) always has a stock event of its own, and an answer that
 * overtook a later event must not raise the count again.
 */
function showStockOf(answer) {
  const offer = state.offers.get(answer.hold?.offer_id ?? state.pendingOffer);
  const available = answer.outcome === "reserved" ? answer.available : answer.error?.available;
  if (offer && typeof available === "number" && available < offer.available) {
    offer.available = available;
    drawOffer();
  }
}

$("pay").addEventListener("click", () => {
  if (!state.hold) return;
  state.holdNotice = null;
  state.pendingConfirm = {
    type: "confirm", hold_id: state.hold.hold_id, payment_ref: randomKey("demo-pay-"), ...paymentFields(),
  };
  sendPending("confirm");
  $("pay").disabled = true;
  $("pay").textContent = "Paying…";
});

$("cancel").addEventListener("click", () => {
  if (state.hold) socket.send({ type: "cancel", hold_id: state.hold.hold_id });
});

function confirmAnswer(answer) {
  refreshUnits(); // a payment too late gave the units back
  $("pay").disabled = false;
  $("pay").textContent = "Pay now (demo)";
  if (answer.outcome === "confirmed") {
    state.hold = null;
    showPurchase(`Paid! Your order ${answer.order_id} is confirmed.`);
  } else {
    state.hold = null;
    showPurchase(answer.error?.message || "The payment did not go through.");
  }
  tick();
}

function purchaseNews(event) {
  // The same buyer on another device, or the hold lapsing while this page was open.
  if (event.status === "confirmed" && state.hold?.hold_id === event.hold_id) {
    state.hold = null;
    showPurchase(`Paid! Your order ${event.order_id} is confirmed.`);
  } else if ((event.status === "expired" || event.status === "hold_expired") && state.hold?.hold_id === event.hold_id) {
    state.hold = null;
    showPurchase("Your reservation ran out and the item went back on sale.");
  }
  refreshUnits();
  tick();
}

function showPurchase(text, { pay = false, cancel = false } = {}) {
  $("purchase").hidden = false;
  $("purchase-text").textContent = text;
  $("pay").hidden = !pay;
  $("cancel").hidden = !cancel;
}

// ------------------------------------------------------------------ chat

function addMessage(event) {
  const list = $("messages");
  const mine = event.user_id === state.me?.user_id;
  list.append(
    el("li", { "data-offset": event.offset, "data-user": event.user_id, class: mine ? "mine" : null },
      el("b", {}, event.name), " ", el("span", { class: "text" }, event.text)),
  );
  while (list.children.length > 200) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

function announce(text) {
  const node = $("announcement");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { node.hidden = true; }, 15000);
}

function showPinned(text) {
  $("pinned").textContent = text ? `📌 ${text}` : "";
  $("pinned").hidden = !text;
}

function showChatError(text) {
  $("chat-error").textContent = text;
  $("chat-error").hidden = false;
}

function hideChatError() {
  $("chat-error").hidden = true;
}

function socketError(event) {
  const messages = {
    muted: "The host muted you in this room.",
    banned: "The host removed you from this room.",
    slow_mode: `Slow mode is on: wait ${Math.ceil((event.retry_after_ms || 0) / 1000)} s.`,
    rate_limited: "You are sending messages too fast.",
    blocked_word: "That message contains a word this room does not allow.",
    token_required: "Join with a nickname first.",
    token_expired: "Your sign-in expired; join again.",
  };
  if (event.code === "token_expired" || event.code === "invalid_token") {
    localStorage.removeItem(storageKey);
    state.me = null;
    $("join").hidden = false;
    $("chat-form").hidden = true;
  }
  showChatError(messages[event.code] || event.message);
}

// ------------------------------------------------------------------ a press or payment that failed

/** The most times a press or a payment goes again while Redis is out of reach. */
const MOST_TRIES = 5;

/** Send the pending press or payment, noting its request id (its answer may be an error). */
function sendPending(kind) {
  const message = kind === "reserve" ? state.pendingReserve : state.pendingConfirm;
  if (message) state.sent[kind] = socket.send(message);
}

/**
 * A press or a payment answered with an error event instead of its result (Redis out of
 * reach, a message the server refused). One the server says may pass (`retriable`) goes
 * again after a pause, as it was: its key makes a second send take no second unit and charge
 * nothing twice. Any other, or one still failing after MOST_TRIES, is given up and the
 * viewer told. True when the event answered one of them.
 */
function pendingFailed(event) {
  const kind = ["reserve", "confirm"].find((k) => event.request_id && state.sent[k] === event.request_id);
  if (!kind) return false;
  state.sent[kind] = null;
  const pending = kind === "reserve" ? state.pendingReserve : state.pendingConfirm;
  state.tries[kind] += 1;
  if (event.retriable && state.tries[kind] < MOST_TRIES) {
    if (kind === "reserve") showPurchase("The shop is busy — trying again…");
    else state.holdNotice = "The shop is busy — trying your payment again.";
    tick();
    setTimeout(() => {
      const still = kind === "reserve" ? state.pendingReserve : state.pendingConfirm;
      if (still === pending) sendPending(kind);
    }, 1000 * state.tries[kind]);
    return true;
  }
  state.tries[kind] = 0;
  if (kind === "reserve") {
    state.pendingOffer = pending?.offer_id;
    state.pendingReserve = null;
    reserveAnswer({ error: { code: event.code, message: event.message } });
  } else {
    // The hold is still there (a payment never takes it away by failing): pay again.
    state.pendingConfirm = null;
    $("pay").disabled = false;
    $("pay").textContent = "Pay now (demo)";
    const why = event.code === "stock_unavailable" ? "We could not reach the shop just now." : event.message;
    state.holdNotice = `${why} The payment did not go through; your item is still held.`;
    showPurchase("", { pay: true, cancel: true });
    tick();
  }
  return true;
}

$("chat-form").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const text = $("chat-text").value.trim();
  if (text) socket.send({ type: "chat", text });
});

let likesThisSecond = 0;
setInterval(() => { likesThisSecond = 0; }, 1000);
$("like").addEventListener("click", () => {
  if (likesThisSecond++ < 10) socket.send({ type: "like" });
  $("like").classList.remove("pop");
  void $("like").offsetWidth; // restart the animation
  $("like").classList.add("pop");
});

// ------------------------------------------------------------------ joining

function showChat() {
  $("join").hidden = true;
  $("chat-form").hidden = false;
}

$("join").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const name = $("nickname").value.trim();
  if (!name) return;
  try {
    const viewer = await api.post("/api/demo/viewer-token", { display_name: name });
    state.me = { ...viewer, expires_at_ms: Date.now() + 11 * 3600 * 1000 };
    localStorage.setItem(storageKey, JSON.stringify(state.me));
    socket.token = viewer.token;
    socket.send({ type: "auth", token: viewer.token });
  } catch (error) {
    showChatError(error.message);
  }
});

/** The show's state on the page: "draft" (upcoming), "live", "ended" or "none" (no show in
 * this room). The LIVE badge and the join form are only for a show that has not ended. */
function showState(status) {
  document.body.dataset.show = status;
  if (status === "ended" || status === "none") {
    $("join").hidden = true;
    $("chat-form").hidden = true;
    const label = status === "ended" ? "ended" : "no such show";
    $("status").textContent = label;
    $("status").dataset.state = status;
  }
}

async function start() {
  let room = null;
  try {
    room = await api.get(`/api/rooms/${encodeURIComponent(roomId)}`);
    $("title").textContent = room.status ? room.title : "No such show";
    document.title = `${$("title").textContent} · livesale`;
  } catch {
    $("title").textContent = roomId;
  }
  const status = room ? room.status || "none" : "draft";
  showState(status);
  if (status === "none" || status === "ended") {
    // Chat and buying are over (or never were); the video module plays the replay, if any.
    announce(status === "none" ? `There is no show called “${roomId}”.` : "This show has ended.");
    clearTimeout(announce.timer); // it stays: it is what the page is about now
    return;
  }
  if (state.me) {
    showChat();
    signedIn(state.me);
  } else $("join").hidden = false;
  socket.connect();
}

start();
