// My orders: every hold and order of the signed-in viewer, in this show and the others,
// with where it stands (held and until when, paid, shipped with carrier and tracking
// number, delivered, refunded). Fulfilment's news arrives as private order_status events.
import { clock, el, money } from "./common.js";
import { viewer } from "./watch_features.js";

const LABELS = {
  held: "to pay", paid: "paid", shipped: "shipped", delivered: "delivered",
  refunded: "refunded", cancelled: "given up", expired: "ran out",
};

const list = el("ol", { class: "orders-list" });
const status = el("p", { class: "order-line", hidden: true });
const summary = el("summary", {}, "My orders");
const panel = el("details", { id: "my-orders", class: "my-orders", hidden: true }, summary, status, list);
viewer.panels.append(panel);
let orders = [];
let shownClocks = ""; // the "Pay within" countdowns as last drawn
let loading = null;
let again = false; // something changed while a read was under way: read once more after it
/**
 * Holds this page was just answered, named in the next reads until a list has them: the
 * read may reach another server process than the one that answered the press, and a new
 * hold reaches the buyer's orders a moment after its answer (the server lists a named hold
 * that is the viewer's at once). Hold id -> when answered.
 */
const justMade = new Map();
const JUST_MADE_MS = 60_000;
const MOST_NAMED = 20;

function ordersUrl() {
  const now = Date.now();
  for (const [holdId, at] of justMade) if (now - at > JUST_MADE_MS) justMade.delete(holdId);
  const named = [...justMade.keys()].slice(-MOST_NAMED);
  const query = new URLSearchParams(named.map((holdId) => ["hold", holdId]));
  return named.length ? `/api/me/orders?${query}` : "/api/me/orders";
}

async function load() {
  if (!viewer.me || !panel.open) return;
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      const response = await fetch(ordersUrl(), {
        headers: { Authorization: `Bearer ${viewer.me.token}` },
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error?.message || "Your orders could not be read.");
      orders = body.orders;
      for (const order of orders) justMade.delete(order.hold_id);
      status.hidden = orders.length > 0;
      status.textContent = "Nothing yet: what you reserve or buy shows here.";
      draw();
    } catch (error) {
      status.hidden = false;
      status.textContent = error.message || "No connection to the server.";
    } finally {
      loading = null;
      if (again) {
        again = false;
        load();
      }
    }
  })();
  return loading;
}

function line(label, value) {
  return el("p", { class: "order-line" }, `${label} `, el("b", {}, value));
}

function orderItem(order, now) {
  const details = [];
  const prize = order.kind === "prize"; // a giveaway's prize: won, no price
  details.push(el("p", { class: "order-line" },
    prize ? "Giveaway prize · free" : `${order.quantity} × ${money(order.unit_price, order.currency)}`,
    order.room_id !== viewer.roomId ? " · " : "",
    order.room_id !== viewer.roomId ? el("a", { href: `/watch/${encodeURIComponent(order.room_id)}` }, order.room_id) : ""));
  if (order.state === "held") {
    const left = order.pay_by_ms - now;
    details.push(line("Pay within", left > 0 ? clock(left, Math.floor) : "0:00"));
  }
  if (order.carrier) details.push(line("Carrier", order.carrier));
  if (order.tracking) details.push(line("Tracking number", order.tracking));
  if (order.order_id) details.push(el("p", { class: "order-line" }, `Order ${order.order_id}`));
  return el(
    "li",
    { class: "order-item", "data-order": order.order_id || order.hold_id, "data-kind": order.kind },
    el("div", { class: "order-head" },
      el("span", { class: "order-title" }, order.title),
      el("span", { class: "order-state", "data-state": order.state },
        prize && order.state === "paid" ? "won" : LABELS[order.state] || order.state)),
    ...details,
  );
}

/** What each "Pay within" of the list says at ``now``. */
function payClocks(now) {
  return orders.filter((o) => o.state === "held").map((o) => clock(Math.max(0, o.pay_by_ms - now), Math.floor)).join();
}

function draw(now = viewer.shownNow()) {
  shownClocks = payClocks(now);
  list.replaceChildren(...orders.map((order) => orderItem(order, now)));
  const open = orders.filter((o) => o.state === "held").length;
  summary.textContent = open ? `My orders · ${open} to pay` : "My orders";
}

panel.addEventListener("toggle", () => { if (panel.open) load(); });
viewer.onSignedIn(() => {
  panel.hidden = false;
  load();
});

viewer.on("order_status", (event) => {
  const order = orders.find((o) => o.order_id === event.order_id);
  const title = order ? order.title : "Your order";
  const what = { shipped: "has shipped", delivered: "was delivered", refunded: "was refunded" }[event.status] || event.status;
  viewer.announce(`${title} ${what}${event.tracking ? ` (tracking ${event.tracking})` : ""}.`);
  load();
});
viewer.on("reserve_result", (event) => {
  if (event.outcome === "reserved" && event.hold) justMade.set(event.hold.hold_id, Date.now());
  load();
});
for (const type of ["confirm_result", "cancel_result", "purchase", "prize_claimed"]) {
  viewer.on(type, () => load());
}
// "Pay within" counts down with the page's other clocks: redrawn when what it says changes.
viewer.onTick((now) => {
  if (panel.open && payClocks(now) !== shownClocks) draw(now);
});
