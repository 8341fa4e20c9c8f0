// The console's "Stage and schedule" panel: the show's start time, cover and description
// (its preview on the front page and the viewer page), the live stream's HLS address and
// the replay's, and how many viewers asked to be reminded.
import { el } from "./common.js";
import { host } from "./console_features.js";

let form = null;
let count = null;
let refreshes = 0;

const path = (show) => `/api/shows/${encodeURIComponent(show.room_id)}/setup`;

/** "2026-11-29T20:15" in the browser's time zone, for a datetime-local input. */
function localInput(ms) {
  if (!ms) return "";
  const date = new Date(ms);
  return new Date(ms - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function field(name, label, attrs = {}) {
  const input = el(attrs.rows ? "textarea" : "input", { name, "data-setup": name, ...attrs });
  return el("label", { class: attrs.wide ? "wide" : null }, label, input);
}

let mediaOrigins = [];

/** A warning when viewers' browsers will refuse to play this address (the pages' policy). */
function checkOrigin(input) {
  const note = input.parentElement.querySelector(".warning") || input.parentElement.appendChild(el("span", { class: "warning" }));
  let origin = "";
  try {
    origin = input.value.trim() ? new URL(input.value.trim(), location.origin).origin : location.origin;
  } catch { /* the server says what is wrong with it */ }
  const allowed = !origin || origin === location.origin || mediaOrigins.includes(origin);
  note.textContent = allowed ? "" : `Viewers' browsers will refuse ${origin}: add it to LIVESALE_MEDIA_ORIGINS.`;
}

/** Show the saved setup. ``saved``: it is what the host just saved, so it replaces every
 * field; otherwise (the first load) a field the host already typed into is left as typed. */
function fill(setup, saved = false) {
  mediaOrigins = setup.media_origins || [];
  const value = (name) => form.querySelector(`[data-setup="${name}"]`);
  const put = (name, text) => {
    const input = value(name);
    if (saved || !input.dataset.edited) input.value = text;
    if (saved) delete input.dataset.edited;
  };
  put("starts_at", localInput(setup.starts_at_ms));
  put("cover_url", setup.cover_url);
  put("description", setup.description);
  put("stream_url", setup.stream_url);
  put("replay_url", setup.replay_url);
  for (const name of ["stream_url", "replay_url"]) checkOrigin(value(name));
  showCount(setup);
}

function showCount(setup) {
  const r = setup.reminders;
  count.textContent = `${r.asked} viewer${r.asked === 1 ? "" : "s"} asked to be reminded`
    + (r.sent_soon || r.sent_live ? ` · sent ${r.sent_soon} before the start, ${r.sent_live} at going live` : "");
}

async function load(show) {
  const setup = await host.act(() => host.api.get(path(show)));
  if (setup && form) fill(setup);
}

host.onShowOpened((show) => {
  count = el("p", { id: "reminder-count", class: "reminder-count" });
  form = el("form", { id: "show-setup", class: "stack" },
    el("div", { class: "setup-grid" },
      field("starts_at", "Starts at (your time)", { type: "datetime-local" }),
      field("cover_url", "Cover image (https)", { type: "url", placeholder: "https://…" }),
      field("stream_url", "Live stream (HLS .m3u8)", { placeholder: "https://…/live.m3u8 or /media/ROOM/index.m3u8", maxlength: 500 }),
      field("replay_url", "Replay after the show (HLS)", { placeholder: "https://…/replay.m3u8", maxlength: 500 }),
      field("description", "Description (on the preview)", { rows: 2, maxlength: 1000, wide: true })),
    el("button", { type: "submit" }, "Save stage and schedule"));
  for (const name of ["stream_url", "replay_url"]) {
    const input = form.querySelector(`[data-setup="${name}"]`);
    input.addEventListener("input", () => checkOrigin(input));
  }
  // What the host types before the saved setup arrives must not be overwritten by it.
  form.addEventListener("input", (typed) => { typed.target.dataset.edited = "yes"; });
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const value = (name) => form.querySelector(`[data-setup="${name}"]`).value.trim();
    const startsAt = value("starts_at");
    const body = {
      starts_at_ms: startsAt ? new Date(startsAt).getTime() : 0,
      cover_url: value("cover_url"),
      description: value("description"),
      stream_url: value("stream_url"),
      replay_url: value("replay_url"),
    };
    const saved = await host.act(() => host.api.call("PATCH", path(host.show), body), "Stage and schedule saved.");
    if (saved) fill(saved, true);
  });
  host.panels.append(el("div", { id: "show-setup-panel", class: "panel" },
    el("h2", {}, "Stage and schedule"), count, form));
  refreshes = 0;
  load(show);
});

// The reminder count moves while the show is announced: read it again every few seconds.
host.onShowRefreshed(async (show) => {
  if (++refreshes % 5 || !count) return;
  try {
    showCount(await host.api.get(path(show)));
  } catch { /* the next refresh tries again */ }
});

host.onShowClosed(() => { form = null; count = null; });
