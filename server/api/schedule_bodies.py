"""Request bodies of a show's set-up: its schedule, its preview and its video."""

from __future__ import annotations

from typing import Annotated

from .bodies import Body, EpochMs, _shown_to_others, _text

#: An https:// address (an image, say), or "" for none.
HttpsUrl = Annotated[
    str, _text(r"(https://[^\s\"'<>]{1,492})?", "an https:// address of at most 500 characters")
]
#: An HLS address: https:// (a CDN or media server), http:// (a media server on the local
#: network), or a path on this server such as /media/ROOM/index.m3u8; "" for none.
StreamUrl = Annotated[
    str,
    _text(
        r"((https?://|/)[^\s\"'<>]{1,492})?",
        "an http(s):// address or a /path of at most 500 characters",
    ),
]
Description = Annotated[str, _text(r"[^\x00-\x09\x0b-\x1f]{0,1000}", "at most 1000 characters")]


class ShowSetup(Body):
    """Some of a show's set-up; a field left out is kept, "" (or 0) clears it."""

    starts_at_ms: EpochMs | None = None
    cover_url: HttpsUrl | None = None
    description: Description | None = None
    stream_url: StreamUrl | None = None
    replay_url: StreamUrl | None = None

    def __post_init__(self) -> None:
        if self.description:
            self.description = _shown_to_others(self.description, "description", "some text")

    def changes(self) -> dict[str, str | int]:
        """The show store's fields this body changes."""
        fields = {
            "starts_at": self.starts_at_ms,
            "cover_url": self.cover_url,
            "description": self.description,
            "stream_url": self.stream_url,
            "replay_url": self.replay_url,
        }
        return {name: value for name, value in fields.items() if value is not None}
