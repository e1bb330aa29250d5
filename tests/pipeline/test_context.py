"""An input's context: multi-line events, the reference date, identity."""

from __future__ import annotations

import os
from datetime import date

from shipper.parse.multiline import Grouper, MultilineSpec
from shipper.parse.packs import load_packs
from shipper.pipeline.context import STDIN_IDENTITY, InputContext
from shipper.pipeline.framing import MAX_LINE_BYTES, Block


def grouped(data: bytes, spec: MultilineSpec) -> list[tuple[str, list[str]]]:
    ctx = InputContext(packs=load_packs(), path=None)
    ctx.grouper = Grouper(spec)
    frames = ctx.frames(Block(0, data).lines()) + ctx.flush(force=True)
    return [(f.text, f.tags) for f in frames]


def test_frames_tag_what_they_join_and_cut():
    events = grouped(b"S1\nc\nS2\nS3\nc\nc\nc\n", MultilineSpec(start="^S", max_lines=3))
    assert events == [("S1\nc", ["multiline"]), ("S2", []), ("S3\nc\nc", ["truncated", "multiline"]), ("c", [])]


def test_a_line_cut_at_the_limit_marks_its_multi_line_event_truncated():
    events = grouped(b"S1\n" + b"x" * (MAX_LINE_BYTES + 10) + b"\nS2\n", MultilineSpec(start="^S", max_bytes=1 << 20))
    assert events[0][1] == ["truncated", "multiline"] and events[1] == ("S2", [])


def test_a_forced_pack_joins_multi_line_events_from_a_stream_too():
    """stdin with --source zimbra_mailbox is grouped as the file mailbox.log is (it once was not)."""
    assert InputContext(packs=load_packs(), path=None, source="zimbra_mailbox").grouper is not None
    assert InputContext(packs=load_packs(), path="/opt/zimbra/log/mailbox.log").grouper is not None
    assert InputContext(packs=load_packs(), path=None).grouper is None


def test_the_reference_date_is_the_inputs_last_write_as_of_each_block(tmp_path):
    log = tmp_path / "mail.log"
    log.write_text("x\n")
    os.utime(log, (1767225600, 1767225600))  # 2026-01-01 00:00 UTC
    ctx = InputContext(packs=load_packs(), path=str(log), last_write=lambda: log.stat().st_mtime)
    first = ctx.reference()
    os.utime(log, (1772323200, 1772323200))  # 2026-03-01: the file was written again
    assert first <= date(2026, 1, 1) and ctx.reference() >= date(2026, 2, 28)
    fixed = InputContext(packs=load_packs(), path=str(log), reference=date(2025, 5, 5), last_write=lambda: 0.0)
    assert fixed.reference() == date(2025, 5, 5)
    assert InputContext(packs=load_packs(), path=None).reference() == date.today()


def test_identity_is_the_first_line_or_stdins_constant():
    ctx = InputContext(packs=load_packs(), path="/var/log/mail.log")
    assert ctx.identity is None
    ctx.learn_identity(Block(0, b"first line\nsecond\n"))
    ctx.learn_identity(Block(18, b"later\n"))
    assert ctx.identity == b"first line"
    assert InputContext(packs=load_packs(), path=None).identity == STDIN_IDENTITY
