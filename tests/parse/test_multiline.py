"""Multiline grouping as a pack declares it: start lines, continuation lines, caps and the timeout."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from shipper.parse.multiline import Grouper, MultilineSpec

LOG4J = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} "


def feed_all(grouper: Grouper, lines: list[bytes]) -> list[tuple[int, int, bytes, int, bool]]:
    out, offset = [], 0
    for raw in lines:
        for g in grouper.feed(offset, offset + len(raw) + 1, raw):
            out.append((g.offset, g.end, g.raw, g.lines, g.cut))
        offset += len(raw) + 1
    return out + [(g.offset, g.end, g.raw, g.lines, g.cut) for g in grouper.flush(force=True)]


def test_a_stack_trace_joins_the_line_that_started_it():
    lines = [
        b"2026-11-28 10:00:00,001 INFO  [LmtpServer-1] [name=a@b;] lmtp - Delivering message",
        b"2026-11-28 10:00:01,002 ERROR [ImapServer-2] [] imap - boom",
        b"java.io.IOException: broken pipe",
        b"\tat com.zimbra.cs.imap.ImapHandler.run(ImapHandler.java:123)",
        b"2026-11-28 10:00:02,003 INFO  [Pop3Server-3] [] pop - closed",
    ]
    events = feed_all(Grouper(MultilineSpec(start=LOG4J)), lines)
    assert [e[3] for e in events] == [1, 3, 1]
    assert events[1][2] == b"\n".join(lines[1:4])
    assert events[1][0] == len(lines[0]) + 1  # the event's offset is its first line's
    assert events[1][1] == events[2][0]  # and it ends where the next begins: what the registry advances to


def test_lines_before_the_first_start_form_an_event_of_their_own():
    events = feed_all(Grouper(MultilineSpec(start="^S")), [b"orphan", b"S1", b"c"])
    assert [e[2] for e in events] == [b"orphan", b"S1\nc"]


def test_caps_cut_a_runaway_event():
    grouper = Grouper(MultilineSpec(start="^S", max_lines=3, max_bytes=1024))
    events = feed_all(grouper, [b"S", *[b"c"] * 7])
    assert [e[3] for e in events] == [3, 3, 2]
    assert [e[4] for e in events] == [True, True, False]
    big = feed_all(Grouper(MultilineSpec(start="^S", max_bytes=1024)), [b"S", b"x" * 600, b"y" * 600])
    assert [e[3] for e in big] == [2, 1]


def test_the_open_event_is_shipped_after_the_timeout():
    grouper = Grouper(MultilineSpec(start="^S", timeout="0.1s"))
    assert grouper.feed(0, 3, b"S1") == []
    assert grouper.flush() == []
    time.sleep(0.15)
    assert [g.raw for g in grouper.flush()] == [b"S1"]


@pytest.mark.parametrize("bad", [{"start": "("}, {"start": "^S", "max_lines": 1}, {"start": "^S", "nope": 1}])
def test_bad_declarations_are_refused(bad):
    with pytest.raises(ValidationError):
        MultilineSpec(**bad)
