"""Whole inputs parsed in blocks, on one core or several: the same events, in input order, as one pass."""

from __future__ import annotations

import io
import random
from pathlib import Path

import orjson
import pytest

from shipper.parse.multiline import Grouper
from shipper.parse.packs import load_packs
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.framing import READ_BYTES as BLOCK_BYTES
from shipper.pipeline.parallel import parse_inputs


def _mailbox_log(path: Path, entries: int) -> list[str]:
    """A Zimbra mailbox.log (its path names the multi-line pack) with stack traces of every length, so
    entries straddle block boundaries; the entries as a grouper over the whole file sees them."""
    rng = random.Random(7)
    lines = []
    for n in range(entries):
        stamp = f"2026-11-28 {n // 1000 % 24:02}:{n // 60 % 60:02}:{n % 60:02},{n % 1000:03}"
        if rng.random() < 0.2:
            lines.append(f"{stamp} ERROR [ImapServer-{n}] [ip=192.0.2.{n % 250};] imap - boom {n}")
            lines.append("java.io.IOException: broken pipe")
            frames = rng.randint(1, 60)
            lines += [f"\tat com.zimbra.cs.imap.ImapHandler.run(ImapHandler.java:{k})" for k in range(frames)]
        else:
            lines.append(
                f"{stamp} INFO  [LmtpServer-{n}] [name=u{n}@example.com;] lmtp - Delivering message:"
                f" size=1234 bytes, nrcpts=1, sender=s{n}@example.org, msgid=<{n}@example.org>"
            )
    path.write_text("\n".join(lines) + "\n")
    spec = next(p.multiline for p in load_packs() if p.source == "zimbra_mailbox")
    grouper = Grouper(spec)
    raws = [g.raw for line in lines for g in grouper.feed(0, 0, line.encode())]
    return [r.decode() for r in raws + [g.raw for g in grouper.flush(force=True)]]


@pytest.mark.parametrize("workers", [1, 2])
def test_multi_line_entries_are_whole_across_blocks_and_workers(tmp_path: Path, workers: int):
    log = tmp_path / "opt" / "zimbra" / "log" / "mailbox.log"
    log.parent.mkdir(parents=True)
    expected = _mailbox_log(log, 12_000)
    assert log.stat().st_size > 4 * BLOCK_BYTES  # several blocks, so boundaries are crossed
    out = tmp_path / "events.ndjson"
    with log.open("rb") as stream, out.open("wb") as sink:
        coverage = list(parse_inputs(iter([(log, stream)]), ParseSettings(timezone="UTC"), sink, workers))
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [e["event"]["original"] for e in events] == expected
    assert sum(sum(c.hits.values()) for c in coverage) == len(expected)
    traces = [e for e in events if "\n" in e["event"]["original"]]
    assert traces and all("multiline" in e["tags"] for e in traces)
    assert {e["event"]["dataset"] for e in events} == {"mail.zimbra.mailbox"}


def test_a_stream_of_a_multi_line_source_is_joined_as_its_file(tmp_path: Path):
    """stdin names no pack, but its lines tell Zimbra's mailbox.log: its stack trace is one event."""
    text = b"2026-11-28 10:00:01,002 ERROR [ImapServer-2] [] imap - boom\njava.io.IOException: broken pipe\n"
    sink = io.BytesIO()
    list(parse_inputs(iter([(None, io.BytesIO(text))]), ParseSettings(timezone="UTC"), sink))
    events = [orjson.loads(line) for line in sink.getvalue().splitlines()]
    assert [e["event"]["original"] for e in events] == [text.decode().rstrip("\n")]
    assert events[0]["event"]["dataset"] == "mail.zimbra.mailbox"


@pytest.mark.parametrize("workers", [2, 3])
def test_folding_commands_get_the_same_events_in_the_same_order_from_a_pool(tmp_path: Path, workers: int):
    """parse_events with parser processes: every sample file, a multi-line file across blocks and a
    simulated Postfix log give the events one process gives, in order."""
    from shipper.pipeline.parallel import parse_events
    from tests.mailsim import Simulation

    mailbox = tmp_path / "opt" / "zimbra" / "log" / "mailbox.log"
    mailbox.parent.mkdir(parents=True)
    _mailbox_log(mailbox, 6_000)
    simulated = tmp_path / "mail.log"
    simulated.write_text(Simulation().run(1500).text())
    samples = sorted(Path(__file__).resolve().parents[2].joinpath("samples").rglob("*.log"))
    paths = [*samples, mailbox, simulated]
    settings = ParseSettings(timezone="UTC")

    def events(n: int) -> list[dict]:
        streams = [(p, p.open("rb")) for p in paths]
        try:
            return list(parse_events(iter(streams), settings, workers=n))
        finally:
            for _, stream in streams:
                stream.close()

    alone, pooled = events(1), events(workers)
    assert len(alone) > 20_000
    assert pooled == alone


def test_a_pool_starts_only_for_files_worth_it(tmp_path: Path):
    from shipper.pipeline.parallel import default_workers, pool_size

    small, large = tmp_path / "small.log", tmp_path / "large.log"
    small.write_bytes(b"x\n" * 1000)
    with large.open("wb") as out:
        out.truncate(8 * 2**20)
    assert pool_size(0, [small]) == 1
    assert pool_size(0, [small, large]) == default_workers()
    assert pool_size(0, [Path("-")]) == 1
    assert pool_size(3, [small]) == 3


def _postfix_log(tmp_path: Path) -> Path:
    from tests.mailsim import Simulation

    log = tmp_path / "mail.log"
    log.write_text(Simulation().run(600).text())
    assert log.stat().st_size > 3 * BLOCK_BYTES
    return log


def _events(log: Path, workers: int) -> list[dict]:
    from shipper.pipeline.parallel import parse_events

    with log.open("rb") as stream:
        return list(parse_events(iter([(log, stream)]), ParseSettings(timezone="UTC"), workers=workers))


def test_without_a_scratch_directory_the_rest_is_parsed_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import shipper.pipeline.parallel as parallel

    log = _postfix_log(tmp_path)
    expected = _events(log, 1)
    monkeypatch.setattr(parallel, "_scratch", lambda: str(tmp_path / "no-such-directory"))
    assert _events(log, 2) == expected


def test_a_block_that_cannot_be_written_comes_back_through_the_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import contextlib

    import shipper.pipeline.parallel as parallel

    log = _postfix_log(tmp_path)
    expected = _events(log, 1)
    gone = tmp_path / "gone"

    @contextlib.contextmanager
    def vanished(**_: object):  # the directory the workers are told about does not exist
        yield str(gone)

    monkeypatch.setattr(parallel.tempfile, "TemporaryDirectory", vanished)
    assert _events(log, 2) == expected
    assert not gone.exists()
