// The shopping bag: every offer of the show below the stage, with its state, price (the
// regular price struck through when there is a deal), stock and countdown. The pinned
// offer stays on the card over it; tapping any offer here opens a stepper and a Buy
// button that reserves that offer (through watch.js, so paying works as on the card).
import { clock, el, money } from "./common.js";
import { ticked, viewer } from "./watch_features.js";

const list = el("ol", { class: "bag-list" });
const count = el("span", { class: "muted" });
const section = el(
  "section",
  { id: "bag", class: "bag", "aria-label": "Products in this show", hidden: true },
  el("h2", {}, "Shopping bag ", count),
  list,
);
viewer.panels.append(section);

const rows = new Map(); // offer id -> the row's nodes
let pinnedId = null;
let chosenId = null; // the offer whose Buy is open
let quantity = 1;

function stateOf(offer, now) {
  if (offer.state === "draft") return { text: "Coming up", open: false };
  if (offer.state === "paused") return { text: "Paused", open: false };
  if (offer.state === "closed" || (offer.closes_at_ms && now >= offer.closes_at_ms)) return { text: "Ended", open: false };
  if (now < offer.opens_at_ms) return { text: `Starts in ${clock(offer.opens_at_ms - now)}`, open: false };
  if (offer.available <= 0) return { text: "Sold out", open: false };
  const ends = offer.closes_at_ms ? ` · ends in ${clock(offer.closes_at_ms - now)}` : "";
  return { text: `On sale${ends}`, open: true };
}

function buildRow(offer) {
  const nodes = {
    thumb: el("img", { class: "bag-thumb", alt: "" }),
    title: el("span", { class: "bag-title" }),
    badge: el("span", { class: "bag-badge", hidden: true }, "LIVE"),
    now: el("span", { class: "now" }),
    was: el("s", { hidden: true }),
    state: el("span", { class: "bag-state" }),
    bar: el("div"),
    less: el("button", { type: "button", "aria-label": "One less" }, "−"),
    value: el("output", {}, "1"),
    more: el("button", { type: "button", "aria-label": "One more" }, "+"),
    buy: el("button", { type: "button", class: "buy" }, "Buy"),
    note: el("p", { class: "bag-note", hidden: true }),
  };
  nodes.row = el(
    "button",
    { type: "button", class: "bag-row", "aria-expanded": "false" },
    nodes.thumb,
    el(
      "span",
      { class: "bag-main" },
      el("span", {}, nodes.title, nodes.badge),
      el("span", { class: "bag-price" }, nodes.now, nodes.was, nodes.state),
      el("span", { class: "bag-stock", "aria-hidden": "true" }, nodes.bar),
    ),
  );
  nodes.stepper = el("div", { class: "stepper", role: "group", "aria-label": "Quantity" }, nodes.less, nodes.value, nodes.more);
  nodes.panel = el("div", { class: "bag-buy", hidden: true }, nodes.stepper, nodes.buy, nodes.note);
  nodes.item = el("li", { class: "bag-item", "data-offer": offer.id }, nodes.row, nodes.panel);
  nodes.row.addEventListener("click", () => {
    if (chosenId !== offer.id) quantity = 1;
    chosenId = chosenId === offer.id ? null : offer.id;
    draw();
  });
  nodes.less.addEventListener("click", () => { quantity -= 1; draw(); });
  nodes.more.addEventListener("click", () => { quantity += 1; draw(); });
  nodes.buy.addEventListener("click", () => {
    if (!viewer.me) {
      viewer.askToJoin();
      return;
    }
    viewer.buy(offer.id, quantity);
    draw();
  });
  return nodes;
}

function drawRow(nodes, offer, now) {
  nodes.item.dataset.pinned = offer.id === pinnedId ? "yes" : "no";
  nodes.badge.hidden = offer.id !== pinnedId;
  nodes.title.textContent = offer.title;
  nodes.thumb.hidden = !offer.image_url;
  if (offer.image_url && nodes.thumb.getAttribute("src") !== offer.image_url) nodes.thumb.src = offer.image_url;
  nodes.now.textContent = money(offer.unit_price, offer.currency);
  const deal = offer.compare_at_price > offer.unit_price;
  nodes.was.hidden = !deal;
  nodes.was.textContent = deal ? money(offer.compare_at_price, offer.currency) : "";
  const { text, open } = stateOf(offer, now);
  nodes.state.textContent = text;
  nodes.state.dataset.open = open ? "yes" : "no";
  const share = offer.total ? offer.available / offer.total : 0;
  nodes.bar.style.width = `${Math.round(share * 100)}%`;
  nodes.bar.dataset.low = share <= 0.1 ? "yes" : "no";
  nodes.row.setAttribute("aria-label", `${offer.title}: ${text}, ${offer.available} of ${offer.total} left`);

  const chosen = chosenId === offer.id;
  nodes.row.setAttribute("aria-expanded", chosen ? "true" : "false");
  nodes.panel.hidden = !chosen;
  if (!chosen) return;
  const left = viewer.unitsLeft ? viewer.unitsLeft(offer) : offer.per_user_limit;
  const most = Math.min(left, offer.available);
  quantity = Math.max(1, Math.min(quantity, most || 1));
  nodes.value.textContent = String(quantity);
  nodes.stepper.hidden = !open || most <= 1;
  nodes.less.disabled = quantity <= 1;
  nodes.more.disabled = quantity >= most;
  const busy = viewer.busy ? viewer.busy() : false;
  let note = "";
  if (open && left <= 0) note = `You have the most one person may buy (${offer.per_user_limit}).`;
  else if (open && busy) note = "Pay for (or give up) your reservation above first.";
  else if (!open) note = text === "Sold out" ? "Sold out — unpaid items may come back." : "";
  nodes.buy.disabled = !open || left <= 0 || busy;
  nodes.buy.textContent = open && left <= 0 ? "Limit reached" : quantity > 1 ? `Buy ${quantity}` : "Buy";
  nodes.note.textContent = note;
  nodes.note.hidden = !note;
}

function draw(now = viewer.shownNow()) {
  const offers = [...viewer.offers.values()];
  section.hidden = offers.length === 0;
  count.textContent = offers.length ? `· ${offers.length} item${offers.length > 1 ? "s" : ""}` : "";
  for (const offer of offers) {
    let nodes = rows.get(offer.id);
    if (!nodes) {
      nodes = buildRow(offer);
      rows.set(offer.id, nodes);
    }
    drawRow(nodes, offer, now);
  }
  // In the room's order (the snapshot's, then as offers are added).
  const wanted = offers.map((offer) => rows.get(offer.id).item);
  if (wanted.some((item, i) => list.children[i] !== item)) list.replaceChildren(...wanted);
}

viewer.on("snapshot", (event) => { pinnedId = event.pinned_offer_id; draw(); });
viewer.on("pinned_offer", (event) => { pinnedId = event.pinned_offer_id; draw(); });
viewer.on("offer_announced", (event) => { pinnedId = pinnedId || event.offer.id; draw(); });
for (const type of ["offer_added", "offer_open", "offer_paused", "offer_closed", "stock", "sold_out",
  "reserve_result", "confirm_result", "cancel_result", "purchase"]) {
  // A fresh reading for every countdown: the sale may have opened a moment ago.
  viewer.on(type, () => setTimeout(ticked));
}
viewer.onTick(draw); // countdowns, and the viewer's units as watch.js learns them
