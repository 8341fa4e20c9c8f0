// The host console: log in, create a show with its line-up, go live, launch offers, moderate,
// watch the live dashboard, end the show and download its report.
import { Api, RoomSocket, el, money } from "./common.js";
import { dispatch, host, showClosed, showOpened, showRefreshed } from "./console_features.js";

const $ = (id) => document.getElementById(id);
const api = new Api();
let current = null; // room id of the open show
let figures = null; // its latest dashboard figures
let socket = null;
let poller = null;

// ------------------------------------------------------------------ notices and views

function notify(text, kind = "error") {
  const node = $("notice");
  node.textContent = text;
  node.dataset.kind = kind;
  node.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { node.hidden = true; }, 6000);
}

function show(view) {
  for (const id of ["login", "home", "show"]) $(id).hidden = id !== view;
}

/** Run a host action; a failure is shown in plain words, a lost session goes to login. */
async function act(action, done) {
  try {
    const result = await action();
    if (done) notify(done, "ok");
    return result;
  } catch (error) {
    if (error.status === 401) {
      signedOut(error);
    } else {
      notify(error.message);
    }
    return null;
  }
}

/** Back to the login form, saying why: the server tells when a new password ended the
 * session ("Your password was changed, so this session was signed out..."). */
function signedOut(error) {
  show("login");
  notify(error.code === "session_expired" ? error.message
    : "Your session has ended; please log in again.");
}

// Features call the API with the console's own client: it carries the session's CSRF token.
host.api = api;
host.act = act;
host.notify = notify;

// ------------------------------------------------------------------ login

$("login-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  try {
    const me = await api.post("/api/host/login", {
      host_id: $("login-host").value.trim(),
      password: $("login-password").value,
    });
    $("login-password").value = "";
    $("notice").hidden = true; // the last failed attempt's error is over
    signedIn(me);
  } catch (error) {
    notify(error.message);
  }
});

$("logout").addEventListener("click", async () => {
  await act(() => api.post("/api/host/logout"));
  api.csrfToken = null;
  $("who").textContent = "";
  $("logout").hidden = true;
  leaveShow();
  show("login");
});

function signedIn(me) {
  api.csrfToken = me.csrf_token;
  $("who").textContent = me.display_name;
  $("logout").hidden = false;
  const wanted = new URLSearchParams(location.search).get("show");
  if (wanted) openShow(wanted);
  else loadHome();
}

// ------------------------------------------------------------------ shows

async function loadHome() {
  leaveShow();
  show("home");
  history.replaceState(null, "", "/console");
  const data = await act(() => api.get("/api/shows"));
  if (!data) return;
  const list = $("show-list");
  list.replaceChildren(
    ...data.shows.map((s) =>
      el("li", {},
        el("button", { type: "button", class: "link", onclick: () => openShow(s.room_id) }, s.title),
        " ", el("span", { class: "pill", "data-state": s.status }, s.status),
        " ", el("span", { class: "muted" }, s.room_id))),
  );
  if (!data.shows.length) list.append(el("li", { class: "muted" }, "No shows yet: create your first one below."));
  if (!$("new-products").children.length) addProductRow($("new-products"));
}

const PRODUCT_FIELDS = [
  ["title", "Product", "text", "", { required: true, maxlength: 200 }],
  ["sku", "SKU", "text", "", { required: true, pattern: "[A-Za-z0-9_.:\\-]{1,64}" }],
  ["image_url", "Image URL (https)", "url", "", {}],
  ["price", "Price", "number", "19.99", { required: true, min: 0, step: "0.01" }],
  ["currency", "Currency", "text", "EUR", { required: true, pattern: "[A-Z]{3}", maxlength: 3 }],
  ["stock", "Stock", "number", "100", { required: true, min: 1 }],
  ["per_user_limit", "Limit per viewer", "number", "1", { required: true, min: 1 }],
  ["hold_minutes", "Minutes to pay", "number", "5", { required: true, min: 1, max: 1440 }],
  ["countdown_seconds", "Countdown (s)", "number", "10", { required: true, min: 0, max: 3600 }],
  ["window_minutes", "Sale window (min)", "number", "10", { required: true, min: 1 }],
  // A hot offer's stock spread over several Redis shards (docs/scaling.md); 1 for most.
  ["buckets", "Buckets (hot offer)", "number", "1", { required: true, min: 1, max: 64 }],
];

function addProductRow(container) {
  const index = container.children.length + 1;
  const fields = PRODUCT_FIELDS.map(([name, label, type, value, extra]) =>
    el("label", {}, label, el("input", { name, type, value, ...extra, "data-field": name })));
  const remove = el("button", { type: "button", class: "link", onclick: () => row.remove() }, "remove");
  const row = el("fieldset", { class: "product" }, el("legend", {}, `Product ${index} `, remove), ...fields);
  container.append(row);
}

function productOf(row) {
  const value = (name) => row.querySelector(`[data-field="${name}"]`).value.trim();
  const product = {
    title: value("title"),
    sku: value("sku"),
    unit_price: Math.round(parseFloat(value("price")) * 100),
    currency: value("currency").toUpperCase(),
    stock: parseInt(value("stock"), 10),
    per_user_limit: parseInt(value("per_user_limit"), 10),
    hold_seconds: parseInt(value("hold_minutes"), 10) * 60,
    countdown_seconds: parseInt(value("countdown_seconds"), 10),
    window_seconds: parseInt(value("window_minutes"), 10) * 60,
    buckets: parseInt(value("buckets"), 10),
  };
  if (value("image_url")) product.image_url = value("image_url");
  return product;
}

$("add-product-row").addEventListener("click", () => addProductRow($("new-products")));

$("new-show").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const body = {
    room_id: $("new-room").value.trim(),
    title: $("new-title").value.trim(),
    products: [...$("new-products").children].map(productOf),
  };
  const created = await act(() => api.post("/api/shows", body), "Show created.");
  if (created) {
    $("new-show").reset();
    $("new-products").replaceChildren();
    openShow(created.room_id);
  }
});

// ------------------------------------------------------------------ one show

async function openShow(roomId) {
  leaveShow();
  current = roomId;
  history.replaceState(null, "", `/console?show=${encodeURIComponent(roomId)}`);
  show("show");
  $("host-chat").replaceChildren();
  $("report").hidden = true;
  if (!$("add-product-fields").children.length) addProductRow($("add-product-fields"));
  await refresh();
  socket = new RoomSocket(roomId, { console: true, onEvent: roomEvent, onStatus: () => {} });
  socket.connect();
  poller = setInterval(refresh, 1000);
}

function leaveShow() {
  if (current) showClosed();
  figures = null;
  clearInterval(poller);
  socket?.close();
  socket = null;
  current = null;
}

$("back").addEventListener("click", loadHome);

async function refresh() {
  if (!current) return;
  const roomId = current;
  let data;
  try {
    data = await api.get(`/api/shows/${encodeURIComponent(roomId)}`);
  } catch (error) {
    if (error.status === 401) { leaveShow(); signedOut(error); }
    else if (error.status === 404 || error.status === 403) { notify(error.message); loadHome(); }
    return;
  }
  if (roomId !== current) return;
  const first = figures?.room_id !== data.room_id;
  figures = data;
  drawShow(data);
  if (first) showOpened(data);
  else showRefreshed(data);
}

function gmvText(gmv) {
  const parts = Object.entries(gmv).map(([currency, amount]) => money(amount, currency));
  return parts.length ? parts.join(" + ") : money(0, "EUR");
}

function drawShow(data) {
  $("show-title").textContent = data.title;
  $("show-status").textContent = data.status;
  $("show-status").dataset.state = data.status;
  $("watch-link").href = data.watch_url;
  $("watch-link").textContent = location.origin + data.watch_url;
  $("go-live").hidden = data.status !== "draft";
  $("end-show").hidden = data.status === "ended";
  $("add-product-box").hidden = data.status === "ended";
  $("t-viewers").textContent = data.viewers;
  $("t-peak").textContent = data.viewers_peak;
  $("t-chat").textContent = data.chat_per_minute;
  $("t-likes").textContent = data.likes;
  $("t-reservations").textContent = data.reservations;
  $("t-orders").textContent = data.orders;
  $("t-gmv").textContent = gmvText(data.gmv);
  $("t-conversion").textContent = `${(data.conversion * 100).toFixed(1)}%`;
  $("t-holds").textContent = data.holds_pending;
  $("offer-rows").replaceChildren(...data.offers.map((offer) => offerRow(offer, data.status)));
  // The report is the owner's (a team member's role cannot download it: docs/hosts.md).
  if (data.status === "ended" && (data.rights || ["download_report"]).includes("download_report")) showReport();
}

function offerRow(offer, showStatus) {
  const id = offer.offer_id;
  const live = showStatus === "live";
  const button = (label, onclick, kind = "secondary") => el("button", { type: "button", class: kind, onclick }, label);
  const quantity = el("input", { type: "number", min: 1, value: 10, class: "qty" });
  const actions = [];
  if (offer.state === "draft" && live) actions.push(button("Launch", () => launch(id), "primary"));
  // "scheduled": launched, its countdown still running.
  const launched = offer.state === "open" || offer.state === "scheduled";
  if (launched) actions.push(button("Pause", () => offerAction(id, "pause", "Paused.")));
  if (offer.state === "paused") actions.push(button("Resume", () => offerAction(id, "resume", "Back on sale.")));
  if (launched || offer.state === "paused") {
    actions.push(button("Close", () => offerAction(id, "close", "Sale closed.")));
  }
  if (showStatus !== "ended") {
    actions.push(button("Pin", () => pinOffer(id)));
    actions.push(el("span", { class: "restock" }, el("label", { class: "restock-label" }, "Units ", quantity),
      button("Restock", () => offerAction(id, "restock", "Restocked.", { quantity: +quantity.value })),
      button("Pull", () => offerAction(id, "pull", "Stock pulled.", { quantity: +quantity.value }))));
  }
  const warning = offer.low_stock ? el("div", { class: "warning" }, `Low stock: ${offer.available} left`) : null;
  return el("tr", { "data-offer": id },
    el("td", {}, el("b", {}, offer.title), el("div", { class: "muted" }, offer.sku), warning),
    el("td", {}, el("span", { class: "pill", "data-state": offer.state }, offer.state)),
    el("td", {}, money(offer.unit_price, offer.currency)),
    el("td", {}, `${offer.sold} / ${offer.total}`, el("div", { class: "muted" }, `${Math.round(offer.sell_through * 100)}% sold`)),
    el("td", {}, String(offer.available)),
    el("td", {}, String(offer.held)),
    el("td", { class: "row-actions" }, ...actions));
}

const roomPath = () => `/api/rooms/${encodeURIComponent(current)}`;
const showPath = () => `/api/shows/${encodeURIComponent(current)}`;

async function launch(offerId) {
  await act(() => api.post(`${showPath()}/offers/${offerId}/launch`), "Launched: the countdown is running.");
  refresh();
}

async function offerAction(offerId, action, done, body = {}) {
  await act(() => api.post(`/api/offers/${offerId}/${action}`, body), done);
  refresh();
}

async function pinOffer(offerId) {
  await act(() => api.post(`${roomPath()}/pinned-offer`, { offer_id: offerId }), "Pinned for every viewer.");
}

$("go-live").addEventListener("click", async () => {
  await act(() => api.post(`${showPath()}/live`), "You are live.");
  refresh();
});

$("end-show").addEventListener("click", async () => {
  if (!confirm("End the show? Every offer still on sale closes.")) return;
  await act(() => api.post(`${showPath()}/end`), "The show has ended.");
  refresh();
});

$("add-product").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const row = $("add-product-fields").firstElementChild;
  const added = await act(() => api.post(`${showPath()}/products`, productOf(row)), "Added to the line-up.");
  if (added) refresh();
});

$("announce").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const body = { text: $("announce-text").value.trim(), pinned: $("announce-pin").checked };
  if (await act(() => api.post(`${roomPath()}/announcements`, body), body.pinned ? "Pinned." : "Posted.")) {
    $("announce-text").value = "";
  }
});

$("unpin").addEventListener("click", () =>
  act(() => api.post(`${roomPath()}/pinned-message/clear`), "Message unpinned."));

$("slow-mode").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const seconds = +$("slow-seconds").value;
  act(() => api.post(`${roomPath()}/slow-mode`, { seconds }), seconds ? `Slow mode: ${seconds} s.` : "Slow mode off.");
});

$("blocked").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const words = $("blocked-words").value.split("\n").map((w) => w.trim()).filter(Boolean);
  act(() => api.put(`${roomPath()}/blocked-words`, { words }), `${words.length} blocked word(s) saved.`);
});

// ------------------------------------------------------------------ live chat with moderation

function roomEvent(event) {
  dispatch(event);
  const list = $("host-chat");
  if (event.type === "chat") {
    const mod = (label, onclick) => el("button", { type: "button", class: "link", onclick }, label);
    list.append(el("li", { "data-offset": event.offset },
      el("b", {}, event.name), " ", el("span", { class: "text" }, event.text),
      el("span", { class: "mod" },
        mod("delete", () => act(() => api.post(`${roomPath()}/messages/${event.offset}/delete`), "Message deleted.")),
        mod("mute", () => act(() => api.post(`${roomPath()}/mutes`, { user_id: event.user_id, muted: true }), `${event.name} muted.`)),
        mod("ban", () => act(() => api.post(`${roomPath()}/bans`, { user_id: event.user_id }), `${event.name} banned.`)))));
    while (list.children.length > 300) list.firstElementChild.remove();
    list.scrollTop = list.scrollHeight;
  } else if (event.type === "chat_deleted") {
    list.querySelector(`[data-offset="${CSS.escape(event.message_offset)}"]`)?.classList.add("deleted");
  } else if (event.type === "snapshot" && event.slow_mode_s !== undefined) {
    $("slow-seconds").value = String(event.slow_mode_s);
  }
}

// ------------------------------------------------------------------ report

async function showReport() {
  if (!$("report").hidden) return;
  const report = await act(() => api.get(`${showPath()}/report.json`));
  if (!report) return;
  $("report").hidden = false;
  $("report-json").href = `${showPath()}/report.json`;
  $("report-csv").href = `${showPath()}/report.csv`;
  const line = (label, value) => el("tr", {}, el("th", {}, label), el("td", {}, String(value)));
  $("report-body").replaceChildren(
    el("table", { class: "summary" },
      line("Peak viewers", report.viewers_peak),
      line("Orders", report.orders),
      line("Units sold", report.units_sold),
      line("GMV", gmvText(report.gmv)),
      line("Buyers", report.buyers),
      line("Conversion", `${(report.conversion * 100).toFixed(1)}%`),
      line("Chat messages", report.chat_messages),
      line("Likes", report.likes)),
    el("table", { class: "offers" },
      el("thead", {}, el("tr", {}, ...["Product", "Sold", "Sell-through", "Orders", "GMV"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...report.offers.map((o) => el("tr", {},
        el("td", {}, o.title), el("td", {}, `${o.sold} / ${o.total}`),
        el("td", {}, `${Math.round(o.sell_through * 100)}%`), el("td", {}, String(o.orders)),
        el("td", {}, money(o.gmv, o.currency)))))));
}

// ------------------------------------------------------------------ start

(async () => {
  try {
    signedIn(await api.get("/api/host/me"));
  } catch (error) {
    show("login");
    if (error.code === "session_expired") notify(error.message);
  }
})();
