// An upcoming show's preview on the viewer page: its cover, title and description, how long
// until it starts, and Remind me (a signed-in viewer asks once; the operator's notification
// service is told before the start and when the host goes live).
import { clock, el } from "./common.js";
import { viewer } from "./watch_features.js";

const roomPath = `/api/rooms/${encodeURIComponent(viewer.roomId)}`;
let room = null;
let wantsReminder = false; // pressed before signing in: asked once they have

const cover = el("img", { class: "preview-cover", alt: "", hidden: true });
const title = el("h2", { id: "preview-title" });
const startsIn = el("p", { id: "starts-in", class: "starts-in" });
const description = el("p", { id: "preview-description", class: "muted" });
const remind = el("button", { id: "remind", class: "remind", type: "button", "aria-pressed": "false" }, "Remind me");
const remindNote = el("p", { id: "remind-note", class: "muted", role: "status" });
const card = el("section", { id: "preview", class: "preview", "aria-label": "Upcoming show", hidden: true },
  cover, title, startsIn, description, remind, remindNote);

/** A call with the signed-in viewer's token (the page's Api sends no Authorization). */
async function call(method, path) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${viewer.me.token}`, "Content-Type": "application/json" },
    body: method === "POST" ? "{}" : undefined,
  });
  const data = await response.json();
  if (!response.ok) throw Object.assign(new Error(data.error?.message || "That did not work."), data.error);
  return data;
}

function reminded(count) {
  remind.setAttribute("aria-pressed", "true");
  remind.disabled = true;
  remind.textContent = "✓ We will remind you";
  remindNote.textContent = count > 1 ? `${count} viewers asked to be reminded.` : "";
}

async function askReminder() {
  try {
    const answer = await call("POST", `${roomPath}/reminders`);
    reminded(answer.viewers);
  } catch (error) {
    remindNote.textContent = error.message;
  }
}

remind.addEventListener("click", () => {
  if (!viewer.me) {
    wantsReminder = true;
    remindNote.textContent = "Pick a nickname below, and we will remind you.";
    viewer.askToJoin();
    return;
  }
  askReminder();
});

async function signedInViewer() {
  if (!viewer.me || !room || room.status !== "draft") return;
  if (wantsReminder) {
    wantsReminder = false;
    askReminder();
    return;
  }
  try {
    if ((await call("GET", `${roomPath}/reminders/me`)).asked) reminded(0);
  } catch { /* not asked, as far as the page knows */ }
}
viewer.onSignedIn(signedInViewer);

function tick(now = viewer.shownNow()) {
  if (!room || room.status !== "draft") return;
  const left = room.starts_at_ms - now;
  if (!room.starts_at_ms) startsIn.textContent = "Starting soon";
  else if (left > 0) startsIn.textContent = `Starts in ${left >= 86_400_000 ? `${Math.floor(left / 86_400_000)} d ` : ""}${clock(left % 86_400_000)}`;
  else startsIn.textContent = "Starting any moment now";
}
viewer.onTick(tick);

function draw() {
  card.hidden = !room || room.status !== "draft";
  if (card.hidden) return;
  title.textContent = room.title;
  description.textContent = room.description || "";
  description.hidden = !room.description;
  cover.hidden = !room.cover_url;
  if (room.cover_url && cover.getAttribute("src") !== room.cover_url) cover.src = room.cover_url;
  if (room.starts_at_ms) {
    startsIn.title = new Date(room.starts_at_ms).toLocaleString();
  }
  tick();
}

async function load() {
  try {
    room = await viewer.api.get(roomPath);
  } catch {
    return;
  }
  draw();
  signedInViewer();
}

viewer.cards.prepend(card);
viewer.on("show_live", () => { if (room) room.status = "live"; draw(); });
viewer.on("show_ended", () => { if (room) room.status = "ended"; draw(); });
viewer.on("show_setup", (event) => { if (room) { room = { ...room, ...event }; draw(); } });
load();
