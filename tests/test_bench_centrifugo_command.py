"""The pure parts of ``livesale-bench centrifugo``: its options, Centrifugo's generated
configuration, the clients' joining and counting on Centrifugo's frames, and the end check.

Nothing here builds or runs Centrifugo (the command does, and is not part of the suite).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtests import bench_centrifugo, centrifugo_runs, centrifugo_server
from loadtests.centrifugo_args import rows, servers
from loadtests.centrifugo_report import saturation_lines, shortfalls, table
from loadtests.cli import parser
from loadtests.room_clients import TICK, Totals, Viewer, joined, text_frame

UPGRADED = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"


def _push(n: int, at_ms: int) -> bytes:
    """A publication as Centrifugo writes it: the published data passed through as is."""
    data = orjson.dumps({"type": "tick", "at_ms": at_ms, "n": n})
    return b'{"push":{"channel":"bench:room","pub":{"data":' + data + b',"offset":%d}}}' % n


def test_the_command_runs_the_three_rows_of_the_issue_by_default() -> None:
    args = parser().parse_args(["centrifugo"])
    assert args.module == "bench_centrifugo"
    assert args.rows == [(2000, 20.0), (5000, 20.0), (10_000, 10.0)]
    assert args.servers == ["livesale", "centrifugo"]
    assert (args.saturate, args.batch_ms, args.no_history, args.out) == (False, None, False, None)


def test_rows_servers_and_saturation_are_chosen_on_the_command_line() -> None:
    args = parser().parse_args(
        [
            "centrifugo",
            *("--rows", "500x10, 1000X2.5", "--seconds", "3", "--servers", "centrifugo"),
            *("--saturate", "--saturate-viewers", "800", "--step", "2", "--out", "f.json"),
        ]
    )
    assert args.rows == [(500, 10.0), (1000, 2.5)]
    assert args.servers == ["centrifugo"]
    assert (args.seconds, args.saturate, args.saturate_viewers, args.step) == (3.0, True, 800, 2)
    assert args.out == "f.json"


@pytest.mark.parametrize("text", ["2000", "x20", "2000x0", "0x20", "ax20", "", ","])
def test_a_row_that_is_not_viewers_x_rate_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        rows(text)


def test_only_the_two_known_servers_can_be_chosen() -> None:
    assert servers("centrifugo,livesale") == ["centrifugo", "livesale"]
    with pytest.raises(argparse.ArgumentTypeError):
        servers("nats")


def test_centrifugo_is_configured_for_anonymous_viewers_of_one_namespace_on_loopback() -> None:
    config = centrifugo_server.config(18123, "the-key")
    assert config["http_server"] == {"address": "127.0.0.1", "port": 18123}
    assert config["http_api"] == {"key": "the-key"}
    assert config["client"]["allow_anonymous_connect_without_token"] is True
    [namespace] = config["channel"]["namespaces"]
    assert namespace["name"] == "bench" == centrifugo_server.CHANNEL.split(":")[0]
    assert namespace["allow_subscribe_for_anonymous"] is True
    # History on (as a livesale room keeps its events), the same length as a room's.
    assert namespace["history_size"] == 2000
    assert (
        "history_size"
        not in centrifugo_server.config(1, "k", history=False)["channel"]["namespaces"][0]
    )
    assert config["health"] == {"enabled": True}


def test_a_centrifugo_viewer_connects_and_subscribes_in_one_frame() -> None:
    frame = text_frame(centrifugo_server.hello())
    assert frame[0] == 0x81  # a text frame
    assert frame[1] & 0x80  # masked, as a client's must be
    connect, subscribe = (orjson.loads(line) for line in frame[6:].split(b"\n"))
    assert connect == {"id": 1, "connect": {"name": "livesale-bench"}}
    assert subscribe == {"id": 2, "subscribe": {"channel": "bench:room"}}


def test_the_cache_of_centrifugo_is_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = centrifugo_server.cache_dir("v6.9.1")
    assert cache == tmp_path / "livesale" / "centrifugo" / "v6.9.1"
    env = centrifugo_server.go_env(cache)
    for name in ("GOBIN", "GOPATH", "GOMODCACHE", "GOCACHE"):
        assert env[name].startswith(str(cache))


def test_without_go_the_install_fails_in_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SystemExit) as exited:
        centrifugo_server.install("v6.9.1")
    message = str(exited.value.code)
    assert "Go is missing" in message
    assert "\n" not in message


def test_a_joined_viewer_is_one_whose_subscribe_was_answered() -> None:
    ready = centrifugo_server.SUBSCRIBED
    assert joined(UPGRADED[:20], ready) == -1
    assert joined(UPGRADED + b'{"id":1,"connect":{}}', ready) == -1
    answered = UPGRADED + b'{"id":1,"connect":{}}\n{"id":2,"subscribe":{}}'
    assert answered[joined(answered, ready) :] == b":{}}"
    # livesale's room needs no more than the upgrade.
    assert joined(UPGRADED + b"{}", b"") == len(UPGRADED)
    with pytest.raises(ConnectionError, match="permission denied"):
        joined(UPGRADED + b'{"id":2,"error":{"code":103,"message":"permission denied"}}', ready)
    with pytest.raises(ConnectionError, match="404"):
        joined(b"HTTP/1.1 404 Not Found\r\n\r\n", ready)


class _Recorded:
    """Stands in for a socket's transport: keeps what the viewer writes."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False


async def test_a_centrifugo_viewer_counts_every_publication_and_times_each() -> None:
    totals = Totals()
    viewer = Viewer(
        totals,
        True,
        b"GET / HTTP/1.1\r\n\r\n",
        TICK,
        centrifugo_server.hello(),
        centrifugo_server.SUBSCRIBED,
        bench_centrifugo.CENTRIFUGO_AT,
    )
    transport = _Recorded()
    viewer.connection_made(transport)  # type: ignore[arg-type]
    viewer.data_received(UPGRADED)
    # The connect and subscribe commands go out once the upgrade is answered.
    assert transport.written[1] == text_frame(centrifugo_server.hello())
    assert not viewer.upgraded.done()
    # The subscribe answer and a first publication in one read.
    viewer.data_received(b'{"id":1,"connect":{}}\n{"id":2,"subscribe":{}}\n' + _push(0, 1000))
    assert viewer.upgraded.done()
    assert totals.connected == 1
    # Two publications in one frame, the second cut in the middle of its "type":"tick".
    stream = _push(1, 1001) + b"\n" + _push(2, 1002)
    cut = stream.rindex(b'"tick"') - 3
    viewer.data_received(stream[:cut])
    viewer.data_received(stream[cut:])
    assert totals.events == 3
    assert len(totals.latencies_ms) == 3


def _run(name: str, viewers: int, delivered: int, expected: int, held: int) -> dict[str, Any]:
    return {
        "server": name,
        "viewers": viewers,
        "connections_held": held,
        "events_delivered": delivered,
        "expected_deliveries": expected,
        "latency_ms_p50": 10.0,
        "latency_ms_p99": 20.0,
        "server_cpu_share": 0.25,
        "memory_kib_per_viewer": 21.5,
        "deliveries_per_s": 40_000,
    }


def test_a_run_that_lost_events_or_viewers_says_so_and_fails_its_check() -> None:
    results = {
        "rows": [
            {
                "viewers": 2000,
                "events_per_s": 20.0,
                "livesale": _run("livesale", 2000, 120_000, 120_000, 2000),
                "centrifugo": _run("centrifugo", 2000, 119_990, 120_000, 1999),
            }
        ]
    }
    wrong = shortfalls(results)
    assert wrong == [
        "centrifugo, 2000 viewers x 20 events/s: 1999 of 2000 held",
        "centrifugo, 2000 viewers x 20 events/s: 119990 of 120000 events delivered",
    ]
    lines = table(results)
    assert lines[1].split()[-1] == "all"
    assert lines[2].endswith("LOST 10")


def test_a_server_that_breaks_under_a_row_is_reported_and_only_livesale_breaking_fails() -> None:
    broke = {"server": "centrifugo", "viewers": 19_800, "failed": "ServerDisconnectedError: gone"}
    row = {
        "viewers": 19_800,
        "events_per_s": 10.0,
        "livesale": _run("livesale", 19_800, 1, 1, 19_800),
        "centrifugo": broke,
    }
    assert shortfalls({"rows": [row]}) == []
    assert "broke: ServerDisconnectedError: gone" in table({"rows": [row]})[2]
    row["livesale"] = {**broke, "server": "livesale"}
    assert shortfalls({"rows": [row]}) == [
        "livesale, 19800 viewers x 10 events/s: ServerDisconnectedError: gone"
    ]


def test_a_whole_run_passes_its_check() -> None:
    row = {"viewers": 500, "events_per_s": 10.0, "livesale": _run("livesale", 500, 1, 1, 500)}
    saturation = {"centrifugo": {"viewers": 500, "connections_held": 500}}
    assert shortfalls({"rows": [row], "saturation": saturation}) == []


def test_the_saturation_search_stops_when_the_server_falls_behind_or_deliveries_stop_growing() -> (
    None
):
    assert centrifugo_runs.saturated(80.0, 100_000, 0) == ""
    assert centrifugo_runs.saturated(80.0, 150_000, 100_000) == ""
    assert "fell behind (p99 1,200 ms)" in centrifugo_runs.saturated(1200.0, 150_000, 100_000)
    assert "stopped growing" in centrifugo_runs.saturated(80.0, 102_000, 100_000)


def _saturation(name: str, best: int, saturated: bool) -> dict[str, Any]:
    return {
        "server": name,
        "viewers": 5000,
        "saturated": saturated,
        "saturated_by": "fell behind (p99 1,400 ms)" if saturated else "not saturated in 12 steps",
        "deliveries_per_s_at_saturation": best,
        "connections_held": 5000,
    }


def test_the_ratio_at_saturation_is_called_so_only_when_both_servers_saturated() -> None:
    both = {
        "livesale": _saturation("livesale", 260_000, True),
        "centrifugo": _saturation("centrifugo", 200_000, True),
    }
    results: dict[str, Any] = {"saturation": both}
    assert saturation_lines(results)[-1] == (
        "livesale / Centrifugo at saturation: 1.3 (target >= 1.3)"
    )
    assert results["saturation_ratio"] == 1.3
    both["livesale"] = _saturation("livesale", 260_000, False)
    assert "NOT a saturation ratio" in saturation_lines(results)[-1]


def test_centrifugo_is_built_once_into_the_cache_and_reused_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stand-in ``go`` (a shell script) records how it is called and makes the binary."""
    tools = tmp_path / "tools"
    tools.mkdir()
    go = tools / "go"
    go.write_text(
        '#!/bin/sh\necho "$@ GOBIN=$GOBIN GOMODCACHE=$GOMODCACHE" >> "$GOBIN/../calls"\n'
        'printf "#!/bin/sh\\n" > "$GOBIN/centrifugo"\n'
    )
    go.chmod(0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    binary = centrifugo_server.install("v6.9.1")
    assert binary == tmp_path / "cache/livesale/centrifugo/v6.9.1/bin/centrifugo"
    assert centrifugo_server.install("v6.9.1") == binary
    cache = binary.parent.parent
    [call] = (cache / "calls").read_text().splitlines()
    assert call == (
        f"install github.com/centrifugal/centrifugo/v6@v6.9.1 GOBIN={cache / 'bin'} "
        f"GOMODCACHE={cache / 'gomodcache'}"
    )
    said = capsys.readouterr().out
    assert "building it once" in said
    assert f"reusing {binary}" in said
