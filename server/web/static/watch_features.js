// How a feature of the viewer page (the bag, groups, giveaways, coupons, polls, orders...)
// plugs into the room without editing watch.js: each feature is its own module, loaded by
// a <script type="module"> line in watch.html, that listens to room events here, puts its
// cards in the page's slots and sends on the room's socket.
//
//   import { viewer } from "./watch_features.js";
//   viewer.on("giveaway_started", (event) => ...);
//   viewer.onSignedIn((me) => ...);
//   viewer.cards.append(card);           // over the stage, e.g. a countdown card
//   viewer.panels.append(section);       // below the offer, e.g. the bag or my orders
//   viewer.paymentExtras.push(() => ({ coupon_id })); // merged into each confirm
//   viewer.onTick((now) => ...);         // redraw a countdown on the page's one clock
//
// watch.js owns the socket and the signed-in viewer and calls the listeners; features never
// import each other.
import { Api } from "./common.js";

const listeners = new Map();
const signedInListeners = [];
const tickListeners = [];
let lastTick = null; // the clock reading of the last tick
const failedTicks = new WeakSet();

export const viewer = {
  roomId: decodeURIComponent(location.pathname.split("/").pop()),
  api: new Api(),
  /** The signed-in viewer {token, user_id, display_name}, or null. */
  me: null,
  /** The room's offers by id, as the last snapshot and events left them (read only). */
  offers: new Map(),
  /** Slot over the stage for cards with a countdown (giveaways, coupon drops, polls...). */
  get cards() { return document.getElementById("cards"); },
  /** Slot below the offer card for longer panels (bag, wallet, my orders...). */
  get panels() { return document.getElementById("panels"); },
  /** Functions whose results are merged into every payment (confirm) the page sends. */
  paymentExtras: [],
  /** Send a message on the room's socket (queued by watch.js until it is connected). */
  send: (message) => { throw new Error(`the room socket is not ready for ${message.type}`); },
  /** Show a one-line notice over the stage. */
  announce: (text) => {},
  /** Ask the viewer to join (pick a nickname) before doing something that needs it. */
  askToJoin: () => {},
  /** The server's clock in ms (watch.js sets it from the room socket's readings). */
  now: () => Date.now(),
  /** The reading of the last tick: what every countdown shows until the next one. A redraw
   * between ticks (an event came) uses it too, or it would run a moment ahead of the rest. */
  shownNow: () => lastTick ?? viewer.now(),

  /** Call ``listener(event)`` for every room event of this type ("*" for every event). */
  on(type, listener) {
    if (!listeners.has(type)) listeners.set(type, []);
    listeners.get(type).push(listener);
  },

  /** Call ``listener(now)`` five times a second. Every countdown of the page redraws from
   * the same reading of the clock, so no two of them ever show different seconds (the offer
   * card's "ends in 9:59" beside the bag's "10:00"). */
  onTick(listener) {
    tickListeners.push(listener);
  },

  /** Call ``listener(me)`` once the viewer is signed in (at once if they already are). */
  onSignedIn(listener) {
    signedInListeners.push(listener);
    if (this.me) listener(this.me);
  },
};

/** Called by watch.js for each room event: one feature failing never stops the others. */
export function dispatch(event) {
  for (const type of [event.type, "*"]) {
    for (const listener of listeners.get(type) || []) {
      try {
        listener(event);
      } catch (error) {
        console.error(`livesale: the ${type} listener failed`, error);
      }
    }
  }
}

/** Every countdown redrawn on one fresh reading of the clock: five times a second (watch.js
 * calls it), and whenever an event changes what a countdown decides (a sale opening). */
export function ticked() {
  lastTick = viewer.now();
  for (const listener of tickListeners) {
    try {
      listener(lastTick);
    } catch (error) {
      // Once per countdown, not five times a second.
      if (!failedTicks.has(listener)) console.error("livesale: a countdown failed", error);
      failedTicks.add(listener);
    }
  }
}

/** Called by watch.js when the viewer signs in. */
export function signedIn(me) {
  if (viewer.me?.user_id === me.user_id) return;
  viewer.me = me;
  for (const listener of signedInListeners) listener(me);
}

/** The extra fields features add to a payment. */
export function paymentFields() {
  return Object.assign({}, ...viewer.paymentExtras.map((extra) => extra() || {}));
}
