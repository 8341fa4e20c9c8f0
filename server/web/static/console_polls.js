// Polls and questions in the host console: ask a poll (2-4 answers, a window, whether a
// vote may change), start and end it, watch its results live; the viewers' questions,
// most asked first, each with "Pin with answer". docs/interactive.md.
import { el } from "./common.js";
import { host } from "./console_features.js";

let pollList = null;
let questionList = null;

function showPath(show, rest = "") {
  return `/api/shows/${encodeURIComponent(show.room_id)}${rest}`;
}

function roomPath(show, rest = "") {
  return `/api/rooms/${encodeURIComponent(show.room_id)}${rest}`;
}

// ------------------------------------------------------------------ polls

function pollForm(show) {
  const answer = (i) => el("input", { name: `answer${i}`, maxlength: 80, placeholder: `Answer ${i + 1}${i > 1 ? " (optional)" : ""}`, required: i < 2 });
  const form = el("form", { class: "poll-form", id: "poll-form" },
    el("label", {}, "Question", el("input", { name: "question", maxlength: 200, required: true, placeholder: "Which colour next?" })),
    el("div", { class: "poll-form-answers" }, answer(0), answer(1), answer(2), answer(3)),
    el("div", { class: "row" },
      el("label", {}, "Window (10-600 s)", el("input", { name: "window_seconds", type: "number", min: 10, max: 600, value: 60 })),
      el("label", { class: "inline" }, el("input", { name: "allow_change", type: "checkbox" }), "Viewers may change their vote"),
      el("label", { class: "inline" }, el("input", { name: "start", type: "checkbox", checked: true }), "Start now")),
    el("button", { type: "submit" }, "Ask the room"));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const answers = [0, 1, 2, 3].map((i) => form.elements[`answer${i}`].value.trim()).filter(Boolean);
    const body = {
      question: form.elements.question.value.trim(),
      answers,
      window_seconds: Number(form.elements.window_seconds.value),
      allow_change: form.elements.allow_change.checked,
      start: form.elements.start.checked,
    };
    const made = await host.act(() => host.api.post(showPath(show, "/polls"), body), "Poll created.");
    if (made) form.reset();
    loadPolls(show);
  });
  return form;
}

function pollRow(show, poll) {
  const total = poll.counts.reduce((a, b) => a + b, 0);
  const act = (verb, label) => el("button", {
    type: "button", class: "link", "data-action": `${verb}-poll-${poll.poll_id}`,
    onclick: async () => {
      await host.act(() => host.api.post(showPath(show, `/polls/${poll.poll_id}/${verb}`)), `${label}.`);
      loadPolls(show);
    },
  }, label);
  const bars = poll.answers.map((answer, i) => {
    const share = total ? Math.round((100 * poll.counts[i]) / total) : 0;
    const fill = el("span", { class: "poll-fill" });
    fill.style.width = `${share}%`;
    return el("div", { class: "poll-result" }, fill,
      el("span", { class: "poll-label" }, answer), el("span", { class: "poll-share" }, `${poll.counts[i]} · ${share}%`));
  });
  return el("li", { class: `poll-row poll-${poll.state}`, id: `poll-row-${poll.poll_id}` },
    el("div", { class: "row" }, el("strong", {}, poll.question), " ",
      el("span", { class: "pill", "data-state": poll.state }, poll.state), " ",
      el("span", { class: "muted" }, `${total} ${total === 1 ? "vote" : "votes"}${poll.allow_change ? " · changes allowed" : ""}`),
      poll.state === "draft" ? act("start", "Start") : null,
      poll.state === "open" ? act("end", "End") : null),
    ...bars);
}

async function loadPolls(show) {
  if (!pollList) return;
  try {
    const found = await host.api.get(roomPath(show, "/polls"));
    pollList.replaceChildren(...found.polls.map((poll) => pollRow(show, poll)));
    if (!found.polls.length) pollList.append(el("li", { class: "muted" }, "No polls yet."));
  } catch {
    // Shown again at the next event.
  }
}

// ------------------------------------------------------------------ questions

function questionRow(show, question) {
  const answer = el("input", { name: "answer", maxlength: 500, required: true, placeholder: "Your answer", value: question.answer || "" });
  const form = el("form", { class: "row question-answer" }, answer,
    el("button", { type: "submit", "data-action": `pin-${question.message_offset}` }, question.pinned ? "Pinned ✓" : "Pin with answer"));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    await host.act(() => host.api.post(showPath(show, `/questions/${question.message_offset}/answer`), { answer: answer.value }), "Pinned with your answer.");
    loadQuestions(show);
  });
  return el("li", { class: question.pinned ? "question-row question-pinned" : "question-row" },
    el("p", {}, el("span", { class: "asked", title: "viewers asking this" }, `? ${question.marks}`), " ", el("b", {}, question.name), ": ", question.text),
    form);
}

async function loadQuestions(show) {
  if (!questionList) return;
  try {
    const found = await host.api.get(showPath(show, "/questions"));
    questionList.replaceChildren(...found.questions.map((q) => questionRow(show, q)));
    if (!found.questions.length) questionList.append(el("li", { class: "muted" }, "No questions yet: viewers tap “Ask ?” on a chat message."));
  } catch {
    // Shown again at the next event.
  }
}

host.onShowOpened((show) => {
  pollList = el("ul", { id: "poll-list", class: "poll-list" });
  questionList = el("ul", { id: "question-list", class: "question-list" });
  const unpin = el("button", {
    type: "button", class: "link", onclick: async () => {
      await host.act(() => host.api.post(showPath(show, "/questions/pinned/clear")), "Unpinned.");
      loadQuestions(show);
    },
  }, "Unpin");
  host.panels.append(
    el("section", { id: "polls-panel", class: "panel polls-panel", "aria-label": "Polls" },
      el("h3", {}, "Polls"), pollForm(show), pollList),
    el("section", { id: "questions-panel", class: "panel questions-panel", "aria-label": "Questions" },
      el("h3", {}, "Questions ", unpin), questionList));
  loadPolls(show);
  loadQuestions(show);
});

host.onShowClosed(() => { pollList = questionList = null; });

for (const type of ["poll_opened", "poll_results", "poll_closed"]) {
  host.on(type, () => host.show && loadPolls(host.show));
}
for (const type of ["question_marked", "question_answered", "question_unpinned"]) {
  host.on(type, () => host.show && loadQuestions(host.show));
}
