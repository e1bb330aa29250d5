"""The correlator against a simulated log whose truth is known message by message (tests/mailsim.py)."""

from __future__ import annotations

import bisect
import itertools
from collections import Counter

import pytest

from shipper.enrich.correlate import Correlator, Transaction
from shipper.parse.packs import load_packs
from shipper.parse.parser import Parser
from tests.mailsim import Simulation, Truth


def correlate(sim: Simulation, every: int = 0) -> tuple[list[Transaction], dict[int, int]]:
    """Every transaction, and (every `every` lines) how many were open after the line."""
    parser = Parser(timezone="UTC", reference=sim.end.date())
    correlator = Correlator(load_packs())
    done: list[Transaction] = []
    open_counts = {}
    for i, line in enumerate(sim.lines):
        done += correlator.feed(parser.parse_doc(line.text)[0])
        if every and i % every == 0:
            open_counts[i] = len({id(tx) for tx in correlator.open.values()})
    done += list(correlator.finish())
    return done, open_counts


@pytest.fixture(scope="module")
def simulated() -> tuple[Simulation, dict[tuple[str, str, str], Transaction], list[Transaction]]:
    sim = Simulation(seed=11).run(2500)
    done, _ = correlate(sim)
    return sim, {(tx.host, tx.ids[0], tx.start[:19]): tx for tx in done}, done


def key(truth: Truth) -> tuple[str, str, str]:
    return truth.host, truth.ids[0], truth.start.strftime("%Y-%m-%dT%H:%M:%S")


def test_the_simulation_holds_every_hard_case(simulated):
    sim, _, _ = simulated
    truth = sim.truth
    starts = Counter((t.host, t.ids[0]) for t in truth)
    assert any(n > 1 for n in starts.values()), "a queue ID reused on one host"
    by_qid = Counter(t.ids[0] for t in truth if not t.parent)
    assert any(len({t.host for t in truth if t.ids[0] == q}) > 1 for q in by_qid), "a queue ID on both hosts"
    fates = Counter(f for t in truth for f in t.recipients.values())
    assert {"sent", "bounced", "expired", "deferred", "rejected"} <= set(fates)
    assert any(len(set(t.recipients.values())) > 1 for t in truth), "recipients with different fates"
    assert any(len(t.ids) == 2 for t in truth), "content-filter hops"
    assert any(t.parent for t in truth), "bounce notifications"
    assert any(t.deferrals and t.recipients and set(t.recipients.values()) == {"sent"} for t in truth)
    assert {t.start.year for t in truth} == {2025, 2026}, "Dec 31 -> Jan 1"
    texts = [line.text for line in sim.lines]
    assert any(
        ": from=<" in a and ", size=" in a and ": to=<" in b and a.split(": ")[1] == b.split(": ")[1]
        for b, a in itertools.pairwise(texts)
    ), "a delivery logged before its message's from= line"


def test_every_message_is_reconstructed_exactly(simulated):
    sim, by_key, done = simulated
    assert len(done) == len(sim.truth)
    wrong = []
    for truth in sim.truth:
        tx = by_key.get(key(truth))
        assert tx is not None, f"no transaction for {truth}"
        got = {
            "ids": tx.ids, "sender": tx.sender, "message_id": tx.message_id, "client_ip": tx.client_ip,
            "client_domain": tx.client_domain, "user": tx.user, "size": tx.size, "parent": tx.parent,
            "recipients": {r.address: r.status for r in tx.recipients.values()}, "deferrals": tx.deferrals,
            "complete": tx.complete, "status": tx.doc()["mail"]["status"],
        }  # fmt: skip
        expected = {
            "ids": truth.ids, "sender": truth.sender, "message_id": truth.message_id, "client_ip": truth.client_ip,
            "client_domain": truth.client_domain, "user": truth.user, "size": truth.size, "parent": truth.parent,
            "recipients": truth.recipients, "deferrals": truth.deferrals, "complete": truth.complete,
            "status": truth.status,
        }  # fmt: skip
        if got != expected:
            wrong.append((truth.ids, {k: (got[k], expected[k]) for k in got if got[k] != expected[k]}))
    assert wrong == []


def test_stable_document_ids_and_years(simulated):
    sim, by_key, _ = simulated
    again, _ = correlate(sim)
    assert sorted(tx.doc_id() for tx in again) == sorted(tx.doc_id() for tx in by_key.values())
    assert len({tx.doc_id() for tx in again}) == len(again)


def test_memory_follows_the_messages_in_flight_not_the_length_of_the_log():
    """Three days of mail: what the correlator holds never exceeds the messages that really were open at
    that moment (their first line seen, their last not yet), and at the end only stuck mail is left."""
    sim = Simulation(seed=5, hours=72).run(5000)
    done, open_counts = correlate(sim, every=97)
    spans = sorted((tx.start, tx.end) for tx in done if tx.complete)
    assert len(done) == len(sim.truth)
    stamps = [line.when.strftime("%Y-%m-%dT%H:%M:%SZ") for line in sim.lines]
    starts = [s for s, _ in spans]
    ends = sorted(e for _, e in spans)
    incomplete = [tx for tx in done if not tx.complete]
    peak = 0
    for i in open_counts:
        in_flight = bisect.bisect_right(starts, stamps[i]) - bisect.bisect_left(ends, stamps[i])
        stuck_by_then = sum(1 for tx in incomplete if tx.start <= stamps[i])
        assert open_counts[i] <= in_flight + stuck_by_then + 1
        peak = max(peak, open_counts[i])
    assert peak < len(done) / 20
    assert len(incomplete) == sum(1 for t in sim.truth if not t.complete)


def test_a_snapshot_taken_mid_log_and_restored_changes_nothing(simulated):
    """What `shipper run` does across a restart: snapshot the open messages (as JSON), restore them into a
    new correlator, read on. Every message comes out as in one uninterrupted pass."""
    import orjson

    sim, by_key, _ = simulated
    parser = Parser(timezone="UTC", reference=sim.end.date())
    first, done = Correlator(load_packs()), []
    half = len(sim.lines) // 2
    for line in sim.lines[:half]:
        done += first.feed(parser.parse_doc(line.text)[0])
    state = orjson.loads(orjson.dumps(first.snapshot()))
    assert state["transactions"]
    second = Correlator(load_packs())
    assert second.restore(state) == len(state["transactions"])
    for line in sim.lines[half:]:
        done += second.feed(parser.parse_doc(line.text)[0])
    done += list(second.finish())
    assert sorted(tx.doc_id() for tx in done) == sorted(tx.doc_id() for tx in by_key.values())
    assert {tx.doc_id(): tx.doc() for tx in done} == {tx.doc_id(): tx.doc() for tx in by_key.values()}
