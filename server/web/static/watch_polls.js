// Polls and questions on the viewer page: a poll card over the stage while a poll is open
// (countdown, one tap to vote, live result bars, the final result), an "Ask" button on
// every chat message to mark it as a question for the host, and the question the host
// pinned with its answer. docs/interactive.md.
import { clock, el } from "./common.js";
import { viewer } from "./watch_features.js";

const roomPath = `/api/rooms/${encodeURIComponent(viewer.roomId)}`;
const polls = new Map(); // poll id -> {data, card, bars, note, timer, buttons}
let pinnedCard = null;

function myVotes() {
  try {
    return JSON.parse(sessionStorage.getItem(`livesale:votes:${viewer.roomId}`) || "{}");
  } catch {
    return {};
  }
}

function rememberVote(pollId, answer) {
  const votes = myVotes();
  votes[pollId] = answer;
  sessionStorage.setItem(`livesale:votes:${viewer.roomId}`, JSON.stringify(votes));
}

// ------------------------------------------------------------------ the poll card

function showPoll(poll) {
  if (poll.state === "draft") return null;
  let entry = polls.get(poll.poll_id);
  if (entry) {
    entry.data = { ...entry.data, ...poll };
    drawResults(entry);
    return entry;
  }
  const timer = el("span", { class: "poll-timer", role: "timer" });
  const note = el("p", { class: "poll-note", role: "status" });
  const buttons = poll.answers.map((answer, i) =>
    el("button", { type: "button", class: "poll-answer", "data-answer": i, onclick: () => vote(poll.poll_id, i) },
      el("span", { class: "poll-fill" }),
      el("span", { class: "poll-label" }, answer),
      el("span", { class: "poll-share" })));
  const card = el("section", { class: "poll-card", id: `poll-${poll.poll_id}`, "aria-label": "Poll" },
    el("div", { class: "poll-head" }, el("strong", { class: "poll-question" }, el("span", { class: "poll-tag" }, "POLL"), " ", poll.question), timer),
    el("div", { class: "poll-answers" }, ...buttons),
    el("div", { class: "poll-foot" }, note, el("span", { class: "poll-votes" })));
  entry = { data: poll, card, note, timer, buttons };
  polls.set(poll.poll_id, entry);
  viewer.cards.append(card);
  drawResults(entry);
  tick();
  return entry;
}

function drawResults(entry) {
  const { data } = entry;
  const total = data.counts.reduce((a, b) => a + b, 0);
  const mine = myVotes()[data.poll_id];
  const open = data.state === "open";
  entry.buttons.forEach((button, i) => {
    const share = total ? Math.round((100 * data.counts[i]) / total) : 0;
    button.querySelector(".poll-fill").style.width = `${share}%`;
    button.querySelector(".poll-share").textContent = total ? `${share}%` : "";
    button.classList.toggle("poll-mine", mine === i);
    button.disabled = !open || (mine !== undefined && !data.allow_change);
  });
  entry.card.querySelector(".poll-votes").textContent = `${total} ${total === 1 ? "vote" : "votes"}`;
  entry.card.classList.toggle("poll-closed", !open);
  if (!open) {
    entry.timer.textContent = "Ended";
    const best = Math.max(...data.counts);
    entry.buttons.forEach((button, i) => button.classList.toggle("poll-winner", total > 0 && data.counts[i] === best));
    entry.note.textContent = "Final result";
  } else if (mine !== undefined) {
    entry.note.textContent = data.allow_change ? "You voted · tap another answer to change" : "You voted ✓";
  } else {
    entry.note.textContent = "Tap an answer to vote";
  }
}

function vote(pollId, answer) {
  const entry = polls.get(pollId);
  if (!entry) return;
  if (!viewer.me) {
    entry.note.textContent = "Pick a nickname below to vote.";
    viewer.askToJoin();
    return;
  }
  entry.buttons.forEach((button) => { button.disabled = true; });
  viewer.send({ type: "poll_vote", poll_id: pollId, answer, request_id: `poll:${pollId}` });
}

function tick(now = viewer.shownNow()) {
  for (const entry of polls.values()) {
    if (entry.data.state === "open") entry.timer.textContent = clock(entry.data.closes_at_ms - now);
  }
}
viewer.onTick(tick);

function closePoll(poll) {
  const entry = showPoll(poll);
  if (!entry) return;
  setTimeout(() => { entry.card.remove(); polls.delete(poll.poll_id); }, 30000);
}

// ------------------------------------------------------------------ questions

function askButton(item) {
  if (!item || item.querySelector(".ask")) return;
  const offset = item.dataset.offset;
  item.append(el("button", {
    type: "button", class: "link ask", title: "Ask the host this question", "data-ask": offset,
    onclick: (click) => {
      if (!viewer.me) { viewer.askToJoin(); return; }
      click.currentTarget.disabled = true;
      viewer.send({ type: "question_mark", message_offset: offset, request_id: `question:${offset}` });
    },
  }, "Ask ?"));
}

function messageAt(offset) {
  return document.querySelector(`#messages [data-offset="${CSS.escape(offset)}"]`);
}

function showMarks(offset, marks) {
  const item = messageAt(offset);
  if (!item) return;
  let badge = item.querySelector(".asked");
  if (!badge) {
    badge = el("span", { class: "asked", title: "viewers asking this" });
    item.querySelector(".ask")?.before(badge);
  }
  badge.textContent = `? ${marks}`;
}

function showPinned(question) {
  pinnedCard?.remove();
  pinnedCard = null;
  if (!question) return;
  pinnedCard = el("section", { class: "qa-card", id: "pinned-question", "aria-label": "The host answers" },
    el("p", { class: "qa-question" }, el("b", {}, question.name), " asked: ", question.text),
    el("p", { class: "qa-answer" }, el("b", {}, "Host: "), question.answer));
  viewer.cards.prepend(pinnedCard);
}

// ------------------------------------------------------------------ events

viewer.on("poll_opened", (event) => showPoll(event.poll));
viewer.on("poll_results", (event) => {
  const entry = polls.get(event.poll_id);
  if (entry) { entry.data.counts = event.counts; drawResults(entry); }
});
viewer.on("poll_closed", (event) => closePoll(event.poll));
viewer.on("poll_vote_result", (event) => {
  rememberVote(event.poll_id, event.answer);
  const entry = polls.get(event.poll_id);
  if (entry) { entry.data.counts = event.counts; drawResults(entry); }
});
viewer.on("chat", (event) => askButton(messageAt(event.offset)));
viewer.on("question_marked", (event) => showMarks(event.message_offset, event.marks));
viewer.on("question_mark_result", (event) => {
  const button = messageAt(event.message_offset)?.querySelector(".ask");
  if (button) { button.textContent = "Asked ✓"; button.disabled = true; }
  showMarks(event.message_offset, event.marks);
});
viewer.on("question_answered", (event) => showPinned(event.question));
viewer.on("question_unpinned", () => showPinned(null));
viewer.on("error", (event) => {
  const [kind, id] = String(event.request_id || "").split(":");
  if (kind === "poll" && polls.has(id)) {
    const entry = polls.get(id);
    drawResults(entry);
    entry.note.textContent = event.message;
  } else if (kind === "question") {
    const button = messageAt(event.request_id.slice("question:".length))?.querySelector(".ask");
    if (button) { button.disabled = false; button.title = event.message; }
  }
});

// What was already on when the page opened.
viewer.api.get(`${roomPath}/polls`).then((found) => {
  for (const poll of found.polls.reverse()) if (poll.state === "open") showPoll(poll);
}).catch(() => {});
viewer.api.get(`${roomPath}/questions/pinned`).then((found) => showPinned(found.question)).catch(() => {});
