// The home page: live and upcoming shows, and going to a room by its name.
import { Api, el } from "./common.js";

document.getElementById("watch").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const room = document.getElementById("room").value.trim();
  if (room) location.href = `/watch/${encodeURIComponent(room)}`;
});

function when(show) {
  if (show.status === "live") return "LIVE now";
  if (!show.starts_at_ms) return "coming soon";
  const date = new Date(show.starts_at_ms);
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? `today at ${time}` : `${date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })} at ${time}`;
}

async function listShows() {
  let shows = [];
  try {
    shows = (await new Api().get("/api/schedule")).shows;
  } catch {
    return;
  }
  document.getElementById("shows").replaceChildren(...shows.map((show) =>
    el("li", { class: "show-card", "data-room": show.room_id, "data-status": show.status },
      el("a", { href: show.watch_url },
        el("img", { src: show.cover_url || null, alt: "" }),
        el("div", {},
          el("b", {}, show.title), el("br"),
          el("span", { class: show.status === "live" ? "pill" : "when", "data-state": show.status }, when(show)))))));
  document.getElementById("no-shows").hidden = shows.length > 0;
}

listShows();
