"""The server's errors, and every stable error code the API and room sockets answer.

Domain code (rooms, shows, hosts, tokens, the line-up) raises these; they say what went
wrong and whether a retry can help, never an HTTP status. server/api/errors.py turns them,
the stock keeper's errors and aiohttp's HTTP errors into answers in one place.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every code a client may see in ``{"error": {"code": ...}}`` or a socket's ``error``.

    Clients switch on these, so they never change; docs/api.md lists each one (tested).
    """

    # A body or socket message that cannot be read.
    INVALID_JSON = "invalid_json"
    INVALID_BODY = "invalid_body"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    OUT_OF_RANGE = "out_of_range"
    # Reservation and payment outcomes that are not a success.
    SOLD_OUT = "sold_out"
    LIMIT_REACHED = "limit_reached"
    NOT_OPEN = "not_open"
    PAUSED = "paused"
    CLOSED = "closed"
    INVALID = "invalid"
    HOLD_EXPIRED = "hold_expired"
    ALREADY_CONFIRMED = "already_confirmed"
    # The stock keeper's errors (stockkeeper/errors.py `code`).
    STOCK_ERROR = "stock_error"
    STOCK_UNAVAILABLE = "stock_unavailable"
    UNKNOWN_OFFER = "unknown_offer"
    UNKNOWN_HOLD = "unknown_hold"
    INVALID_STATE = "invalid_state"
    INVALID_WINDOW = "invalid_window"
    INSUFFICIENT_STOCK = "insufficient_stock"
    # Viewers' tokens.
    TOKEN_REQUIRED = "token_required"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    DEMO_DISABLED = "demo_disabled"
    # Hosts' sign-in.
    HOST_AUTH_REQUIRED = "host_auth_required"
    INVALID_HOST_TOKEN = "invalid_host_token"
    SESSION_EXPIRED = "session_expired"
    CSRF_FAILED = "csrf_failed"
    INVALID_LOGIN = "invalid_login"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    UNKNOWN_TOKEN = "unknown_token"
    # Rooms and shows.
    UNKNOWN_ROOM = "unknown_room"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    NOT_YOUR_ROOM = "not_your_room"
    OFFER_NOT_IN_ROOM = "offer_not_in_room"
    INVALID_OFFSET = "invalid_offset"
    UNKNOWN_SHOW = "unknown_show"
    SHOW_EXISTS = "show_exists"
    SHOW_ENDED = "show_ended"
    SHOW_NOT_LIVE = "show_not_live"
    SHOW_NOT_ENDED = "show_not_ended"
    # A room socket's messages, chat and its moderation.
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_CHAT = "invalid_chat"
    BLOCKED_WORD = "blocked_word"
    BANNED = "banned"
    MUTED = "muted"
    SLOW_MODE = "slow_mode"
    RATE_LIMITED = "rate_limited"
    # HTTP itself, and the server's own health.
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BODY_TOO_LARGE = "body_too_large"
    HTTP_ERROR = "http_error"
    INTERNAL_ERROR = "internal_error"
    NOT_READY = "not_ready"
    # Tiered sales goals (server/goals/).
    UNKNOWN_REWARD = "unknown_reward"
    THRESHOLDS_NOT_INCREASING = "thresholds_not_increasing"
    GOAL_REACHED = "goal_reached"
    CURRENCY_NEEDED = "currency_needed"
    INVALID_REWARD = "invalid_reward"
    # Polls and questions (server/polls/, server/questions/).
    UNKNOWN_POLL = "unknown_poll"
    POLL_NOT_OPEN = "poll_not_open"
    POLL_CLOSED = "poll_closed"
    ALREADY_VOTED = "already_voted"
    UNKNOWN_ANSWER = "unknown_answer"
    UNKNOWN_MESSAGE = "unknown_message"
    UNKNOWN_QUESTION = "unknown_question"
    # Show schedules and reminders (server/shows/schedule.py, reminders.py).
    SHOW_ALREADY_LIVE = "show_already_live"
    # The show's team (server/shows/team.py).
    ROLE_FORBIDS = "role_forbids"
    UNKNOWN_HOST = "unknown_host"
    OWNER_NOT_MEMBER = "owner_not_member"
    NOT_ON_TEAM = "not_on_team"
    # Coupons and red packets (server/coupons/).
    UNKNOWN_DROP = "unknown_drop"
    DROP_STATE = "drop_state"
    DROP_NOT_LIVE = "drop_not_live"
    CLAIM_WINDOW_OVER = "claim_window_over"
    ALREADY_CLAIMED = "already_claimed"
    DROP_EXHAUSTED = "drop_exhausted"
    UNKNOWN_COUPON = "unknown_coupon"
    COUPON_EXPIRED = "coupon_expired"
    COUPON_USED = "coupon_used"
    COUPON_IN_USE = "coupon_in_use"
    CREDIT_IN_USE = "credit_in_use"
    COUPON_MIN_SPEND = "coupon_min_spend"
    COUPON_WRONG_OFFER = "coupon_wrong_offer"
    # Giveaways (server/giveaways/); a claim after its window is claim_window_over.
    UNKNOWN_GIVEAWAY = "unknown_giveaway"
    GIVEAWAY_NOT_OPEN = "giveaway_not_open"
    GIVEAWAY_CLOSED = "giveaway_closed"
    ENTRY_RULE_NOT_MET = "entry_rule_not_met"
    GIVEAWAY_NOT_DRAWN = "giveaway_not_drawn"
    NOT_A_WINNER = "not_a_winner"
    CLAIM_WINDOW_OPEN = "claim_window_open"
    NOTHING_TO_REDRAW = "nothing_to_redraw"
    # Group buying (stockkeeper/groups.py, server/api/groups.py; issue 15).
    NOT_GROUP_OFFER = "not_group_offer"
    HOT_OFFER = "hot_offer"
    GROUP_PRICE_NOT_LOWER = "group_price_not_lower"
    GROUPS_STARTED = "groups_started"
    UNKNOWN_GROUP = "unknown_group"
    GROUP_FULL = "group_full"
    GROUP_FAILED = "group_failed"
    ALREADY_IN_GROUP = "already_in_group"
    ALREADY_HOLDING = "already_holding"


#: What a client is told of a bug on our side, over HTTP and room sockets alike.
INTERNAL_ERROR_MESSAGE = "Something went wrong on our side; try again."


class LivesaleError(Exception):
    """Root of the server's errors: a stable code, a message for people, and details that
    travel with it to the client."""

    #: True when the same request may succeed if simply sent again.
    retriable = False

    def __init__(
        self, code: ErrorCode, message: str, *, retriable: bool | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        if retriable is not None:
            self.retriable = retriable


class Invalid(LivesaleError):
    """The request cannot be carried out as sent (a bad field, a message that breaks a rule)."""


class Unauthorized(LivesaleError):
    """Who is asking is unknown: no credentials, or ones that are forged or out of date."""


class Forbidden(LivesaleError):
    """The caller is known but may not do this (another host's room, a banned viewer)."""


class NotFound(LivesaleError):
    """There is no such thing (room, show, token...)."""


class Conflict(LivesaleError):
    """The thing is not in a state that allows this (a show that has ended, say)."""


class RateLimited(LivesaleError):
    """Too much, too fast: the same request succeeds later (the details say when)."""

    retriable = True
