"""The draw algorithm (server/giveaways/draw.py) and ``livesale verify-draw``: the winners
are a fixed function of the seed and the sorted entries, every index equally likely, and a
record that was tampered with in any way does not verify."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from server.giveaways import draw
from server.giveaways.verify import verify

SEED = bytes(range(32))
ROOT = Path(__file__).resolve().parent.parent


def record(entries: list[str], prizes: int, rounds: int = 1, seed: bytes = SEED) -> dict[str, Any]:
    """A draw's record as GET /api/giveaways/{id}/draw answers it, made with draw.py."""
    sorted_entries = draw.canonical(entries)
    list_hash = draw.entries_hash(sorted_entries)
    made: list[dict[str, Any]] = []
    earlier: list[str] = []
    for r in range(rounds):
        winners = draw.pick(seed, list_hash, r, draw.pool(sorted_entries, earlier, []), prizes)
        made.append({"round": r, "prizes": prizes, "excluded": [], "winners": winners})
        earlier += winners
    return {
        "algorithm": draw.ALGORITHM,
        "giveaway_id": "7",
        "room_id": "room-1",
        "title": "Mug",
        "prizes": prizes,
        "commitment": draw.commitment(seed),
        "seed": seed.hex(),
        "entries_hash": list_hash,
        "entries": sorted_entries,
        "rounds": made,
    }


def test_the_winners_follow_the_documented_steps_exactly() -> None:
    """The algorithm written out again from docs/giveaways.md, independently of draw.py."""
    entries = sorted(f"u{n}" for n in range(50))
    list_hash = hashlib.sha256("\n".join(entries).encode()).hexdigest()
    pool = list(entries)
    for i in range(5):
        n = len(pool) - i
        c = 0
        while True:
            message = bytes.fromhex(list_hash) + b"".join(x.to_bytes(4, "big") for x in (0, i, c))
            x = int.from_bytes(hmac.new(SEED, message, hashlib.sha256).digest(), "big")
            if x < 2**256 - 2**256 % n:
                break
            c += 1
        j = i + x % n
        pool[i], pool[j] = pool[j], pool[i]
    assert draw.pick(SEED, list_hash, 0, entries, 5) == pool[:5]


def test_winners_are_distinct_and_at_most_the_entrants() -> None:
    entries = draw.canonical(f"viewer-{n}" for n in range(30))
    list_hash = draw.entries_hash(entries)
    assert len(set(draw.pick(SEED, list_hash, 0, entries, 30))) == 30
    assert sorted(draw.pick(SEED, list_hash, 0, entries[:3], 100)) == entries[:3]
    assert draw.pick(SEED, list_hash, 0, [], 5) == []


def test_another_seed_or_round_draws_others() -> None:
    entries = draw.canonical(f"u{n}" for n in range(1000))
    list_hash = draw.entries_hash(entries)
    first = draw.pick(SEED, list_hash, 0, entries, 10)
    assert draw.pick(bytes(32), list_hash, 0, entries, 10) != first
    assert draw.pick(SEED, list_hash, 1, entries, 10) != first
    assert draw.pick(SEED, list_hash, 0, entries, 10) == first


def test_every_entrant_is_about_equally_likely_to_win() -> None:
    """Guards against a biased pick (e.g. modulo bias or an off-by-one that never picks the
    last entrant): 3,000 draws of one winner among 6, each near 500."""
    entries = [f"u{n}" for n in range(6)]
    list_hash = draw.entries_hash(entries)
    wins = Counter(
        draw.pick(n.to_bytes(32, "big"), list_hash, 0, entries, 1)[0] for n in range(3000)
    )
    assert set(wins) == set(entries)
    assert all(400 < count < 600 for count in wins.values()), wins


def test_uniform_rejects_the_top_sliver() -> None:
    # n = 3 * 2**254 leaves a quarter of the space above the limit: some draws need c > 0,
    # and every answer is still below n.
    n = 3 * 2**254
    answers = [draw.uniform(SEED, "00" * 32, 0, i, n) for i in range(40)]
    assert all(0 <= a < n for a in answers)


def test_a_faithful_record_verifies_with_its_redraws() -> None:
    verdict = verify(record([f"u{n}" for n in range(200)], prizes=3, rounds=3))
    assert verdict.verified, verdict.problems
    assert len({w for ws in verdict.winners for w in ws}) == 9


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r.update(seed="11" * 32), "commitment"),
        (lambda r: r["entries"].append("zz-late"), "entries hash"),
        (lambda r: r["entries"].reverse(), "sorted"),
        (lambda r: r["rounds"][0]["winners"].reverse(), "round 0"),
        (lambda r: r["rounds"][0].update(winners=r["entries"][:2]), "round 0"),
        (lambda r: r["rounds"][1]["excluded"].append("nobody"), "never entered"),
        (lambda r: r.update(algorithm="coin-flip"), "algorithm"),
        (lambda r: r.update(rounds=[]), "no rounds"),
    ],
)
def test_a_tampered_record_does_not_verify(change: Any, problem: str) -> None:
    tampered = copy.deepcopy(record([f"u{n}" for n in range(20)], prizes=2, rounds=2))
    change(tampered)
    verdict = verify(tampered)
    assert not verdict.verified
    assert any(problem in p for p in verdict.problems), verdict.problems


def test_an_excluded_entrant_is_never_drawn() -> None:
    faithful = record([f"u{n}" for n in range(5)], prizes=4)
    winners = faithful["rounds"][0]["winners"]
    entries = faithful["entries"]
    excluded = [winners[0]]
    pool = draw.pool(entries, [], excluded)
    faithful["rounds"][0] = {
        "round": 0,
        "prizes": 4,
        "excluded": excluded,
        "winners": draw.pick(SEED, faithful["entries_hash"], 0, pool, 4),
    }
    verdict = verify(faithful)
    assert verdict.verified, verdict.problems
    assert excluded[0] not in verdict.winners[0]


def _verify_draw(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", "verify-draw", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_the_command_prints_the_winners_and_verified(tmp_path: Path) -> None:
    faithful = record([f"u{n}" for n in range(12)], prizes=2)
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(faithful))
    done = _verify_draw(str(path))
    assert done.returncode == 0, done.stderr
    assert f"round 0 winners: {', '.join(faithful['rounds'][0]['winners'])}" in done.stdout
    assert done.stdout.strip().endswith("verified")


def test_the_command_says_does_not_match_with_exit_1() -> None:
    tampered = record([f"u{n}" for n in range(12)], prizes=2)
    tampered["rounds"][0]["winners"] = ["u0", "u1"]
    done = _verify_draw("-", stdin=json.dumps(tampered))
    assert done.returncode == 1
    assert "does not match: round 0" in done.stdout


def test_the_command_says_what_it_cannot_read_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    done = _verify_draw(str(tmp_path / "bad.json"))
    assert done.returncode == 2
    assert "cannot read" in done.stderr
