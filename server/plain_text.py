"""Text people type, made safe to show to others: bidirectional controls removed.

Unicode's bidirectional controls (U+202A-U+202E embeddings and overrides, U+2066-U+2069
isolates, the U+200E/U+200F and U+061C marks) change the order in which the text *after*
them is drawn: a chat line or a name holding U+202E shows reversed, and can make a message
read as something it does not say. Names, chat, announcements and titles need none of them
(a right-to-left script is drawn right to left without them), so they are removed.
"""

from __future__ import annotations

import re
from typing import Any

BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(text: str) -> str:
    """``text`` without bidirectional control characters."""
    return BIDI_CONTROLS.sub("", text)


def without_bidi_controls_in(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings...) with every string cleaned."""
    if isinstance(value, str):
        return BIDI_CONTROLS.sub("", value)
    if isinstance(value, dict):
        return {key: without_bidi_controls_in(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_bidi_controls_in(item) for item in value]
    return value
