"""A server process lets itself hold as many sockets as the machine allows."""

from __future__ import annotations

import logging
import resource

import pytest

from server.process import raise_open_files


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 1024), hard))
        assert raise_open_files() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_asking_past_a_hard_limit_it_may_not_raise_says_so_and_keeps_the_most_it_can(
    caplog: pytest.LogCaptureFixture,
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit on open files here")
    try:
        with caplog.at_level(logging.WARNING, logger="server.process"):
            got = raise_open_files(hard + 1)
        if got == hard:  # an unprivileged process (or a container without CAP_SYS_RESOURCE)
            assert "raise the hard limit" in caplog.text
        else:
            assert got == hard + 1
    finally:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        )
