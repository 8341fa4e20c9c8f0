"""The ``livesale`` commands as an operator meets them: one clear line when Redis or Kafka is
missing, never an installer; a clean stop on SIGTERM; the benchmarks' own command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from deploy.stack import free_port, port_open
from server.settings import CommandSettings, Settings
from stockkeeper.settings import StockSettings

LIVESALE = [sys.executable, "-c", "from server.cli import main; main()"]
LIVESALE_BENCH = [sys.executable, "-c", "from loadtests.cli import main; main()"]
START_THE_STACK = "Start the local stack with `livesale stack up` or set"


def clean_env(**values: str) -> dict[str, str]:
    """This environment without any LIVESALE_* variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESALE_")}
    return {**env, **values}


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_serve_against_a_closed_redis_port_exits_with_one_line() -> None:
    """Guards against `livesale serve` installing and starting Redis (apt-get) when it finds
    none, or failing later with a traceback: it says what it tried and what to do."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = run([*LIVESALE, "serve"], clean_env(LIVESALE_REDIS_URL=url))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"livesale: cannot reach Redis at {url} (Connection refused). "
        f"{START_THE_STACK} LIVESALE_REDIS_URL."
    ]
    assert done.stdout == ""


def test_serve_with_its_relay_against_a_closed_kafka_port_exits_with_one_line(
    stock_settings: StockSettings,
) -> None:
    """Guards against `livesale serve` building and starting a Kafka broker when it finds
    none: with the relay on, an unreachable Kafka is one line and a non-zero exit."""
    bootstrap = f"127.0.0.1:{free_port()}"
    env = clean_env(LIVESALE_REDIS_URL=stock_settings.redis_url, LIVESALE_KAFKA_BOOTSTRAP=bootstrap)
    done = run([*LIVESALE, "serve"], env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"livesale: cannot reach Kafka at {bootstrap} (Connection refused). "
        f"{START_THE_STACK} LIVESALE_KAFKA_BOOTSTRAP."
    ]


def test_a_password_in_the_redis_url_is_not_shown() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    done = run([*LIVESALE, "serve"], clean_env(LIVESALE_REDIS_URL=url))
    assert done.returncode == 1
    assert "hunter2" not in done.stderr
    assert "redis://:***@127.0.0.1:" in done.stderr


@pytest.mark.parametrize("command", [["relay"], ["fulfil"]])
def test_relay_and_fulfil_against_a_closed_kafka_port_exit_with_one_line(
    command: list[str], stock_settings: StockSettings
) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    env = clean_env(LIVESALE_REDIS_URL=stock_settings.redis_url, LIVESALE_KAFKA_BOOTSTRAP=bootstrap)
    done = run([*LIVESALE, *command], env)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"livesale: cannot reach Kafka at {bootstrap} (Connection refused).")


def test_host_against_a_closed_redis_port_exits_with_one_line() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = run([*LIVESALE, "host", "tokens", "anyone"], clean_env(LIVESALE_REDIS_URL=url))
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"livesale: cannot reach Redis at {url}")


def test_serve_without_its_relay_does_not_need_kafka(stock_settings: StockSettings) -> None:
    port = free_port()
    env = clean_env(
        LIVESALE_REDIS_URL=stock_settings.redis_url,
        LIVESALE_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        LIVESALE_PORT=str(port),
        LIVESALE_VIEWER_SECRET="secret",
        LIVESALE_SESSION_SECRET="secret",
    )
    server = subprocess.Popen(
        [*LIVESALE, "serve", "--no-relay"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            assert resp.status == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_the_relay_stops_cleanly_on_sigterm(stock_settings: StockSettings) -> None:
    """Guards the asyncio.Runner set-up of `livesale relay`: a signal cancels its main task,
    whose clean-up runs (it logs what it published), and the exit status is 0."""
    env = clean_env(
        LIVESALE_REDIS_URL=stock_settings.redis_url,
        LIVESALE_KAFKA_BOOTSTRAP=stock_settings.kafka_bootstrap,
        LIVESALE_ORDERS_TOPIC=stock_settings.orders_topic,
        LIVESALE_REFUNDS_TOPIC=stock_settings.refunds_topic,
    )
    relay = subprocess.Popen(
        [*LIVESALE, "relay", "--name", "sigterm-test"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert relay.stderr is not None
    try:
        started = relay.stderr.readline()
        assert "Outbox relay sigterm-test" in started, started
        time.sleep(0.5)
    finally:
        relay.send_signal(signal.SIGTERM)
        _, rest = relay.communicate(timeout=30)
    assert relay.returncode == 0, rest
    assert "Outbox relay sigterm-test stopped after 0 events" in rest
    assert "Traceback" not in rest


def test_the_bench_command_names_the_missing_dev_extras_in_one_line() -> None:
    """Guards against a traceback (ModuleNotFoundError: psutil) from `livesale-bench` where
    only the runtime dependencies are installed."""
    hide_psutil = "import sys; sys.modules['psutil'] = None; "
    command = [sys.executable, "-c", hide_psutil + "from loadtests.cli import main; main()"]
    done = run([*command, "costs"], clean_env())
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("livesale-bench: the benchmarks need the development extras (psutil")


def test_the_bench_command_lists_every_benchmark() -> None:
    done = run([*LIVESALE_BENCH, "--help"], clean_env())
    assert done.returncode == 0, done.stderr
    assert "{reserve,costs,room,buckets,loadtest,groups,relay,chaos,centrifugo}" in done.stdout


def test_the_product_command_has_no_benchmarks() -> None:
    done = run([*LIVESALE, "--help"], clean_env())
    assert done.returncode == 0, done.stderr
    listed = set(done.stdout.split("{", 1)[1].split("}", 1)[0].split(","))
    assert {"serve", "relay", "fulfil", "stack", "token", "host", "stream"} <= listed
    assert not listed & {"reserve", "costs", "room", "buckets", "loadtest", "chaos"}


def test_settings_record_which_secrets_were_set() -> None:
    unset = Settings.from_env({})
    assert (unset.viewer_secret_set, unset.session_secret_set) == (False, False)
    assert unset.viewer_token_secret  # made up for this run
    both = Settings.from_env({"LIVESALE_VIEWER_SECRET": "v", "LIVESALE_SESSION_SECRET": "s"})
    assert (both.viewer_secret_set, both.session_secret_set) == (True, True)
    assert (both.viewer_token_secret, both.session_secret) == ("v", "s")


def test_command_settings_read_the_command_lines_own_variables() -> None:
    assert CommandSettings.from_env({}) == CommandSettings("INFO", 1, None)
    env = {"LIVESALE_LOG_LEVEL": "DEBUG", "LIVESALE_WORKERS": "4", "LIVESALE_HOST_PASSWORD": "pw"}
    assert CommandSettings.from_env(env) == CommandSettings("DEBUG", 4, "pw")
