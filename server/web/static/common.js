// Shared by the viewer page and the host console: a JSON API client, the room socket with
// resume-on-reconnect and a server clock, and small DOM helpers that only ever set text.

/** Build an element. Children are nodes or strings; strings become text, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function money(minorUnits, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minorUnits / 100);
  } catch {
    return `${(minorUnits / 100).toFixed(2)} ${currency}`;
  }
}

/** "1:05" for 65 s, "0:09" for 9 s; hours when needed. Rounds up unless told to round down. */
export function clock(ms, round = Math.ceil) {
  const total = Math.max(0, round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.details = error;
  }
}

/** JSON API calls; the host console passes its CSRF token for every change. */
export class Api {
  constructor() {
    this.csrfToken = null;
  }

  async call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.csrfToken && method !== "GET") headers["X-CSRF-Token"] = this.csrfToken;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch {
      throw new ApiError(0, { error: { code: "offline", message: "No connection to the server." } });
    }
    const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  get(path) { return this.call("GET", path); }
  post(path, body = {}) { return this.call("POST", path, body); }
  put(path, body = {}) { return this.call("PUT", path, body); }
}

/** A room event's offset ("1700000000000-3") as [milliseconds, sequence]. */
export function offsetKey(offset) {
  const [ms, seq = "0"] = String(offset).split("-");
  return [Number(ms), Number(seq)];
}

/** Whether offset `a` comes after offset `b`: as numbers, so "5-10" is after "5-9". */
export function offsetAfter(a, b) {
  const [aMs, aSeq] = offsetKey(a);
  const [bMs, bSeq] = offsetKey(b);
  return aMs > bMs || (aMs === bMs && aSeq > bSeq);
}

/**
 * A room's WebSocket. Keeps the last offset and, when the connection drops, reconnects with
 * it so nothing is lost; passes each room event on once, dropping one whose offset it has
 * already passed; keeps the offset between the browser's clock and the server's so
 * countdowns end on the server's time.
 */
export class RoomSocket {
  constructor(roomId, { token = null, console = false, onEvent, onStatus }) {
    this.roomId = roomId;
    this.isConsole = console;
    this.token = token;
    this.onEvent = onEvent;
    this.onStatus = onStatus || (() => {});
    this.lastOffset = null;
    this.clockOffsetMs = 0;
    this.retryMs = 500;
    this.ws = null;
    this.closedForGood = false;
    this.requests = 0;
  }

  now() { return Date.now() + this.clockOffsetMs; }

  connect() {
    const params = new URLSearchParams();
    if (this.token) params.set("token", this.token);
    if (this.lastOffset) params.set("since", this.lastOffset);
    if (this.isConsole) params.set("console", "1"); // the host is not counted as a viewer
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/rooms/${encodeURIComponent(this.roomId)}/live?${params}`;
    this.onStatus("connecting");
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => { this.retryMs = 500; this.onStatus("live"); };
    ws.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      for (const event of frame.events || []) this._handle(event);
    };
    ws.onclose = (closed) => {
      if (this.ws !== ws) return;
      if (closed.code === 4003) {
        this.closedForGood = true;
        this.onStatus("banned");
        return;
      }
      if (this.closedForGood) return;
      this.onStatus("reconnecting");
      setTimeout(() => this.connect(), this.retryMs + Math.random() * 300);
      this.retryMs = Math.min(this.retryMs * 2, 8000);
    };
  }

  _handle(event) {
    if (event.server_time_ms) this.clockOffsetMs = event.server_time_ms - Date.now();
    // chat_ack carries the offset of the message it acknowledges, which may still be on
    // its way: it is an answer, not a room event.
    if (event.offset && event.type !== "chat_ack") {
      // Room events come in offset order, so one not after the last was already shown
      // (e.g. resent after a reconnect). A snapshot starts afresh from its own offset.
      if (event.type !== "snapshot" && this.lastOffset && !offsetAfter(event.offset, this.lastOffset)) return;
      this.lastOffset = event.offset;
    }
    this.onEvent(event);
  }

  /** Send a message; returns its request id (answers carry it back). */
  send(message) {
    const requestId = `r${++this.requests}`;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return null;
    this.ws.send(JSON.stringify({ ...message, request_id: requestId }));
    return requestId;
  }

  close() {
    this.closedForGood = true;
    this.ws?.close(1000);
  }
}

export function randomKey(prefix) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
