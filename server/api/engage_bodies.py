"""Request bodies and socket messages of polls, questions and tiered goals."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from ..errors import ErrorCode
from .bodies import Body, _shown_to_others, _text, _whole

#: Text people read: on one line, not only spaces.
PollText = Annotated[
    str, _text(r"(?=[\s\S]*\S)[^\x00-\x1f]{1,200}", "1-200 characters on one line")
]
AnswerText = Annotated[
    str, _text(r"(?=[\s\S]*\S)[^\x00-\x1f]{1,80}", "1-80 characters on one line")
]
ANSWERS_HINT = "a list of 2-4 answers of 1-80 characters on one line"
PollId = Annotated[str, _text(r"[0-9]{1,12}", "a poll id")]
AnswerNumber = Annotated[int, _whole(0, 3), Meta(description="The answer's position, from 0.")]
MessageOffset = Annotated[str, _text(r"\d{1,15}-\d{1,10}", "a chat message's offset")]
MAX_TIERS = 10


class CreatePoll(Body):
    """A poll: a question, 2-4 answers, and how long it takes votes once started."""

    question: PollText
    answers: Annotated[
        list[AnswerText],
        Meta(
            min_length=2,
            max_length=4,
            extra={"message": f"'answers' must be {ANSWERS_HINT}."},
        ),
    ]
    window_seconds: Annotated[int, _whole(10, 600)] = 60
    #: May a viewer change their vote while the poll is open?
    allow_change: bool = False
    #: Start taking votes at once (else start it later).
    start: bool = True

    def __post_init__(self) -> None:
        self.question = _shown_to_others(self.question, "question", "1-200 characters")
        self.answers = [
            _shown_to_others(answer, "answers", ANSWERS_HINT).strip() for answer in self.answers
        ]


class Vote(Body):
    """A viewer's vote: the answer's position in the poll, from 0."""

    answer: AnswerNumber


class PollVoteMessage(Body):
    """``{"type": "poll_vote"}``: vote over the room socket."""

    __invalid__ = (
        ErrorCode.INVALID_MESSAGE,
        None,
        'A vote is {"type": "poll_vote", "poll_id": "1", "answer": 0}.',
    )
    poll_id: PollId
    answer: int


class MarkQuestion(Body):
    """A chat message to mark as a question, by its offset (its ``chat`` event's)."""

    message_offset: MessageOffset


class QuestionMarkMessage(Body):
    """``{"type": "question_mark"}``: mark a chat message (by its offset) as a question."""

    __invalid__ = (
        ErrorCode.INVALID_MESSAGE,
        None,
        'Marking a question is {"type": "question_mark", "message_offset": "1700-0"}.',
    )
    message_offset: MessageOffset


class AnswerQuestion(Body):
    """The host's answer, pinned with the question on every viewer's screen."""

    answer: Annotated[str, _text(r"(?=[\s\S]*\S)[^\x00-\x08\x0b-\x1f]{1,500}", "1-500 characters")]

    def __post_init__(self) -> None:
        self.answer = _shown_to_others(self.answer, "answer", "1-500 characters")


class GoalTier(Body):
    """One tier: reaching ``threshold`` starts ``reward`` (once)."""

    threshold: Annotated[int, _whole(1, 10**12)]
    #: ``{"kind": "announcement", "text": ...}``, or another registered kind with its fields.
    reward: dict[str, Any]
    #: What viewers' progress bar says of the reward (default: its text, title or kind).
    label: AnswerText | None = None


class SetGoals(Body):
    """A show's goals: tiers of one figure, each threshold above the one before."""

    #: ``units``: units sold; ``gmv``: sold units times unit price, in ``currency``.
    metric: Literal["units", "gmv"]
    tiers: Annotated[
        list[GoalTier],
        Meta(
            min_length=1,
            max_length=MAX_TIERS,
            extra={"message": f"'tiers' must be a list of 1-{MAX_TIERS} tiers."},
        ),
    ]
    #: With ``gmv``: its currency (offers in others do not count); by default the one
    #: currency of the show's offers. Not used with ``units``.
    currency: Annotated[str, _text(r"[A-Z]{3}", "an ISO 4217 code such as EUR")] | None = None
