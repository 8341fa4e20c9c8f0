"""Where the local stack keeps its data and its downloads, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class StackSettings:
    """Where the local stack keeps its downloads and data."""

    #: Downloads kept between runs (the Kafka broker's jars).
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "livesale")
    #: Data, logs and pid files of the local services.
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "state" / "livesale")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackSettings:
        """Read ``LIVESALE_CACHE_DIR`` and ``LIVESALE_STACK_DIR``; unset keeps the default."""
        env = os.environ if env is None else env
        d = cls()
        return cls(
            cache_dir=Path(env.get("LIVESALE_CACHE_DIR", d.cache_dir)),
            state_dir=Path(env.get("LIVESALE_STACK_DIR", d.state_dir)),
        )
