// The show's video on the viewer page's stage: the live HLS stream while the show is live,
// the replay after it. Muted autoplay (what phones allow) with a tap to unmute, playsinline,
// and "reconnecting…" while the stream stalls. Browsers without native HLS (Chromium,
// Firefox) play it through hls.js, served by this server from /vendor/ when the set-up
// installed it; without either the stage says the browser cannot play it.
import { el } from "./common.js";
import { viewer } from "./watch_features.js";

const STALL_MS = 2500;
const RETRY_MS = 3000;

const video = el("video", {
  id: "stage-video", class: "stage-video", muted: true, autoplay: true, playsinline: true,
  "aria-label": "The show's video",
});
video.muted = true; // the attribute alone does not mute a video made by script
const unmute = el("button", { id: "unmute", class: "unmute", type: "button", hidden: true }, "Tap to unmute");
const note = el("p", { id: "video-note", class: "video-note", role: "status", hidden: true });

let source = ""; // the address playing now
let kind = ""; // "live" or "replay"
let hls = null;
let retryTimer = null;

function setState(state, text = "") {
  video.dataset.state = state;
  note.textContent = text;
  note.hidden = !text;
}

// A stall is judged by the clock, not by events: hls.js nudges the playhead over gaps (which
// fires timeupdate) while a live stream that stopped coming is still stuck.
let lastTime = -1;
let lastMove = 0;
setInterval(() => {
  if (!source || video.paused) return;
  if (video.currentTime !== lastTime) {
    lastTime = video.currentTime;
    lastMove = Date.now();
    if (video.dataset.state !== "playing") setState("playing", kind === "replay" ? "Replay" : "");
  } else if (kind === "live" && Date.now() - lastMove > STALL_MS && video.dataset.state !== "reconnecting") {
    setState("reconnecting", "Reconnecting…");
  }
}, 500);

video.addEventListener("error", () => { if (!hls) retry(); });
video.addEventListener("volumechange", () => { unmute.hidden = !video.muted || !source; });
unmute.addEventListener("click", () => {
  video.muted = false;
  unmute.hidden = true;
  video.play().catch(() => {});
});

let hlsModule; // undefined: not tried yet; null: not installed on this server
async function loadHls() {
  if (hlsModule === undefined) {
    try {
      hlsModule = (await import("/vendor/hls.min.mjs")).default;
    } catch {
      hlsModule = null;
    }
  }
  return hlsModule?.isSupported() ? hlsModule : null;
}

function stop() {
  clearTimeout(retryTimer);
  hls?.destroy();
  hls = null;
  video.removeAttribute("src");
  video.load();
}

/** Try the same address again a little later (a stream that is not there yet, a blip). */
function retry() {
  if (!source) return;
  if (kind === "live") setState("reconnecting", "Reconnecting…");
  clearTimeout(retryTimer);
  const again = source;
  retryTimer = setTimeout(() => { if (source === again) play(again, kind, true); }, RETRY_MS);
}

async function play(url, what, again = false) {
  if (!again && url === source && what === kind) return;
  stop();
  source = url;
  kind = what;
  document.body.dataset.video = url ? what : "none";
  if (!url) {
    setState("none");
    unmute.hidden = true;
    return;
  }
  lastMove = Date.now();
  setState("loading", what === "live" ? "Connecting to the live video…" : "Loading the replay…");
  const Hls = await loadHls();
  if (source !== url) return; // another address came meanwhile
  if (Hls) {
    video.dataset.player = "hls.js";
    hls = new Hls({ enableWorker: false, liveSyncDurationCount: 3 });
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else retry();
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.dataset.player = "native";
    video.src = url;
  } else {
    video.dataset.player = "none";
    setState("unsupported", "This browser cannot play the live video.");
    return;
  }
  unmute.hidden = !video.muted;
  video.play().catch(() => {
    // Autoplay refused even muted (a saver mode): a tap starts it.
    unmute.hidden = false;
    unmute.textContent = "▶ Tap to play";
  });
}

function showRoom(room) {
  if (room.status === "live") play(room.stream_url, "live");
  else if (room.status === "ended") play(room.replay_url, "replay");
  else play("", "");
}

let room = null;
async function refresh() {
  try {
    room = await viewer.api.get(`/api/rooms/${encodeURIComponent(viewer.roomId)}`);
  } catch {
    return;
  }
  showRoom(room);
}

const stage = document.querySelector(".stage");
stage.prepend(video);
stage.append(unmute, note);
viewer.on("show_live", refresh);
viewer.on("show_ended", refresh);
viewer.on("show_setup", (event) => {
  if (!room) return;
  room = { ...room, ...event };
  showRoom(room);
});
refresh();
