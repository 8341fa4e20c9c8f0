"""``livesale-bench chaos``: a flash sale under load while a worker, the relays, Redis and
Kafka are broken, reconciled at the end.

The short run checks that the command breaks everything it says it does and that nothing was
lost or doubled; the other tests check that its reconciliation does notice a lost or doubled
order or hold (a reconciliation that cannot fail proves nothing).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtests.chaos_buyers import Hold, Ledger
from loadtests.chaos_reconcile import Check, RedisHolds, check_buyers, check_kafka
from stockkeeper.audit import Record

ROOT = Path(__file__).parents[1]
ACTIONS = ["kill_worker", "kafka_outage", "kill_relay", "redis_shutdown", "redis_crash"]


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_a_short_chaos_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """Guards against units or orders lost or doubled when a worker, a relay (killed while
    draining a backlog, and one killed holding a batch during a Kafka outage), Redis (a
    clean restart and a crash) and Kafka (stopped past the relays' timeout) are broken
    during a flash sale under load."""
    out = tmp_path / "chaos.json"
    command = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from loadtests.cli import main; main()",
            "chaos",
            *("--minutes", "0.7", "--buyers", "16", "--hold-seconds", "3"),
            *("--relay-timeout", "3", "--kafka-outage", "6", "--down", "2"),
            *("--out", str(out)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = command.communicate(timeout=110)
    except subprocess.TimeoutExpired:
        command.terminate()  # it stops the Redis and Kafka it started, then exits
        output, _ = command.communicate(timeout=30)
        pytest.fail(f"The chaos run took over 110 s:\n{output[-4000:]}")
    assert command.returncode == 0, output[-6000:]
    report = orjson.loads(out.read_bytes())
    assert [event["action"] for event in report["schedule"]] == ACTIONS
    assert [c["line"] for c in report["checks"] if not c["ok"]] == []
    assert report["passed"]
    # The flash offers sold out, and the buyers were told so while the sale went on.
    assert report["first_sold_out_at_s"] is not None
    assert report["orders"] == report["figures"]["kafka"]["orders_read_committed"] > 0
    assert report["answers"]["reserve 409 sold_out"] > 0


def _hold(status: str, quantity: int = 1, order_id: str = "", **more: str) -> dict[str, str]:
    hold = {"status": status, "quantity": str(quantity), "user_id": "ann", **more}
    if order_id:
        hold["order_id"] = order_id
    return hold


def _order(order_id: str, hold_id: str, quantity: int = 1) -> Record:
    value: dict[str, Any] = {
        "order_id": order_id,
        "hold_id": hold_id,
        "offer_id": hold_id.split("-")[0],
        "quantity": quantity,
    }
    return Record(0, order_id.encode(), value)


def _failed(checks: list[Check]) -> list[str]:
    return [c.line.split(":")[1].split("(")[0].strip() for c in checks if not c.ok]


def _books() -> dict[str, RedisHolds]:
    return {
        "1": RedisHolds(
            {
                "1-a": _hold("confirmed", 2, "o1-a"),
                "1-b": _hold("confirmed", 1, "o1-b"),
                "1-c": _hold("expired", 1, **{"refund:psp-1-c": "hold_expired"}),
            }
        )
    }


def test_the_reconciliation_passes_kafka_holding_each_order_once() -> None:
    orders = [_order("o1-a", "1-a", 2), _order("o1-b", "1-b")]
    refunds = [Record(0, b"1-c:psp-1-c", {"refund_id": "1-c:psp-1-c"})]
    assert _failed(check_kafka(orders, refunds, _books(), "kafka")) == []


def test_the_reconciliation_notices_orders_doubled_lost_or_unknown_in_kafka() -> None:
    """Guards against a reconciliation that passes whatever Kafka holds."""
    doubled = [_order("o1-a", "1-a", 2), _order("o1-a", "1-a", 2), _order("o1-b", "1-b")]
    assert _failed(check_kafka(doubled, [], _books(), "kafka")) == [
        "no order twice in Kafka",
        "offer 1",
        "every refund owed",
    ]
    lost = [_order("o1-a", "1-a", 2)]
    refunds = [Record(0, b"1-c:psp-1-c", {"refund_id": "1-c:psp-1-c"})]
    assert _failed(check_kafka(lost, refunds, _books(), "kafka")) == [
        "every confirmed order in Kafka",
        "offer 1",
    ]
    stranger = [_order("o1-a", "1-a", 2), _order("o1-b", "1-b"), _order("o9-z", "9-z")]
    assert _failed(check_kafka(stranger, refunds, _books(), "kafka")) == [
        "no order in Kafka that Redis does not hold as confirmed"
    ]


def test_the_reconciliation_notices_what_buyers_were_told_and_redis_does_not_hold() -> None:
    """Guards against a reconciliation that trusts Redis alone: a hold or an order a buyer
    was given must be there, and every hold there must have been given to its buyer."""
    orders = [_order("o1-a", "1-a", 2), _order("o1-b", "1-b")]
    refunds = [Record(0, b"1-c:psp-1-c", {"refund_id": "1-c:psp-1-c"})]
    ledger = Ledger()
    ledger.holds = {
        "1-a": Hold("1-a", "1", "ann", 2, "confirmed", "o1-a"),
        "1-b": Hold("1-b", "1", "ann", 1, "confirmed", "o1-b"),
        "1-c": Hold("1-c", "1", "ann", 1, "refund_due"),
    }
    ledger.refunds = {"1-c:psp-1-c"}
    assert _failed(check_buyers(ledger, _books(), orders, refunds)) == []

    ledger.holds["1-d"] = Hold("1-d", "1", "ann", 1, "cancelled")
    ledger.holds["1-b"].order_id = "o1-other"
    ledger.refunds.add("1-b:psp-again-1-b")
    assert _failed(check_buyers(ledger, _books(), orders, refunds)) == [
        "every hold a buyer was given is in Redis",
        "every order a buyer was told of is in Redis and Kafka",
        "every hold a buyer was told ended is ended",
        "every payment a buyer was told is owed back is in Kafka",
    ]
    del ledger.holds["1-a"], ledger.holds["1-d"]
    ledger.holds["1-b"].order_id = "o1-b"
    ledger.refunds = {"1-c:psp-1-c"}
    assert _failed(check_buyers(ledger, _books(), orders, refunds)) == [
        "every hold in Redis was given to its buyer"
    ]
