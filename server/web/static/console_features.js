// How a feature of the host console (groups, giveaways, coupons, goals, polls, team...)
// plugs in without editing console.js: each feature is its own module, loaded by a
// <script type="module"> line in console.html, that adds a panel to the open show and
// listens to the show's room events here.
//
//   import { host } from "./console_features.js";
//   host.onShowOpened((show) => { ... host.panels.append(panel) ... });
//   host.onShowClosed(() => ...);
//   host.on("giveaway_drawn", (event) => ...);
//   const result = await host.act(() => host.api.post(url, body), "Giveaway started");
//
// console.js owns the session, the open show and its socket, and calls the listeners.
import { Api } from "./common.js";

const listeners = new Map();
const opened = [];
const refreshed = [];
const closed = [];

export const host = {
  api: new Api(),
  /** The open show as the console last loaded it ({room_id, title, status, offers...}). */
  show: null,
  /** Slot in the open show's view for feature panels; emptied when the show is left. */
  get panels() { return document.getElementById("feature-panels"); },
  /** Run a host action: failures are shown in plain words, a lost session goes to login. */
  act: async (action, done) => action(),
  /** Show a notice ("ok" or "error"). */
  notify: (text, kind) => {},

  /** Call ``listener(event)`` for every room event of the open show of this type. */
  on(type, listener) {
    if (!listeners.has(type)) listeners.set(type, []);
    listeners.get(type).push(listener);
  },
  /** Call ``listener(show)`` when the host opens a show (build the feature's panel here). */
  onShowOpened(listener) { opened.push(listener); },
  /** Call ``listener(show)`` each time the open show's figures are loaded again (every second). */
  onShowRefreshed(listener) { refreshed.push(listener); },
  /** Call ``listener()`` when the host leaves the show's view. */
  onShowClosed(listener) { closed.push(listener); },
};

function safely(listener, ...args) {
  try {
    listener(...args);
  } catch (error) {
    console.error("livesale: a console feature failed", error);
  }
}

/** Called by console.js for each room event of the open show. */
export function dispatch(event) {
  for (const listener of listeners.get(event.type) || []) safely(listener, event);
}

/** Called by console.js when a show is opened or refreshed. */
export function showOpened(show) {
  host.show = show;
  for (const listener of opened) safely(listener, show);
}

/** Called by console.js each time the open show's figures are loaded again. */
export function showRefreshed(show) {
  host.show = show;
  for (const listener of refreshed) safely(listener, show);
}

/** Called by console.js when the host leaves the show. */
export function showClosed() {
  host.show = null;
  host.panels?.replaceChildren();
  for (const listener of closed) safely(listener);
}
