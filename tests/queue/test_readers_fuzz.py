"""Hostile-input fuzzing of the queue readers: random and adversarial senders, recipients and reasons inside
otherwise valid listings of every format. Never a crash, never a message lost from the listing, and every
address read back as the MTA printed it."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.queue import readers

NOW = datetime(2026, 11, 29, 1, 0, 0).astimezone()
HOSTILE = ['"', "<", ">", "[", "]", "/", "\\", " ", "(", ")", "*", "!", "@", ":", ";", ",", "=", "\t", "[/]",
           "[link=x]", "*** frozen ***", " bouncing", "D ", "MAILER-DAEMON", "-- 1 Kbytes in 1 Request."]  # fmt: skip
_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_characters="\x7f\x85\u2028\u2029"), max_size=12
)
_piece = st.one_of(st.sampled_from(HOSTILE), _text)
_atom = st.from_regex(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,8}){0,2}", fullmatch=True
)
_quoted = st.lists(_piece, min_size=1, max_size=4).map(
    lambda parts: '"' + "".join(parts).replace("\\", "\\\\").replace('"', '\\"').replace("\t", " ") + '"'
)
_domain = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True),
    st.from_regex(r"\[(\d{1,3}\.){3}\d{1,3}\]|\[IPv6:[0-9a-f:]{2,20}\]", fullmatch=True),
)
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", st.one_of(_atom, _quoted), _domain)
REASON = st.lists(_piece, min_size=1, max_size=6).map(lambda parts: "".join(parts).replace("\t", " ").strip() or "x")
MESSAGES = st.lists(
    st.tuples(ADDRESS, st.lists(ADDRESS, min_size=1, max_size=3), REASON, st.booleans()), min_size=1, max_size=6
)


def _check(found: readers.Listing, messages: list, with_reasons: bool = False) -> None:
    assert not found.skipped
    assert len(found) == len(messages)
    for message, (sender, recipients, reason, _) in zip(found, messages, strict=True):
        assert message.sender == sender
        assert [r.address for r in message.recipients] == recipients
        if with_reasons:
            assert message.reason == reason


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_postqueue_j(messages):
    lines = [
        json.dumps({"queue_name": "deferred", "queue_id": f"ED6F7990{n:03X}", "arrival_time": 1795912730,
                    "message_size": 293, "sender": sender,
                    "recipients": [{"address": r, "delay_reason": reason} for r in recipients]})
        for n, (sender, recipients, reason, _) in enumerate(messages)
    ]  # fmt: skip
    _check(readers.postfix_json("\n".join(lines) + "\n", NOW), messages, with_reasons=True)


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_postqueue_p(messages):
    out = ["-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"]
    for n, (sender, recipients, reason, held) in enumerate(messages):
        out.append(f"ED6F7990{n:03X}{'!' if held else ''}     293 Sun Nov 29 00:38:50  {sender}")
        out.append(f"{' ' * 20}({reason})")
        out += [f"{' ' * 41}{r}" for r in recipients]
        out.append("")
    out.append(f"-- 1 Kbytes in {len(messages)} Request{'s' if len(messages) > 1 else ''}.")
    _check(readers.postfix_text("\n".join(out) + "\n", NOW), messages, with_reasons=True)


@settings(max_examples=200, deadline=None)
@given(MESSAGES, st.sampled_from(["", " (www-data)", " *** frozen ***", " (nobody) *** frozen ***"]))
def test_exim_bp(messages, suffix):
    out = []
    for n, (sender, recipients, _, delivered) in enumerate(messages):
        out.append(f"{n + 1}h  1.2K 1xXSD6-0000{n:02d}-0Y <{sender}>{suffix}")
        out += [("        D " if delivered and i == 0 else "          ") + r for i, r in enumerate(recipients)]
        out.append("")
    found = readers.exim_bp("\n".join(out), NOW)
    _check(found, messages)
    assert all(m.queue == ("frozen" if "frozen" in suffix else "queued") for m in found)
    assert [m.age_seconds for m in found] == [timedelta(hours=n + 1).seconds for n in range(len(messages))]


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_sendmail_mailq(messages):
    out = [f"\t\t/var/spool/mqueue ({len(messages)} requests)",
           "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------"]  # fmt: skip
    for n, (sender, recipients, reason, _) in enumerate(messages):
        out.append(f"0ASAe1Xa0021{n:02d}     2142 Sat Nov 28 10:40 <{sender}>")
        out.append(f"{' ' * 17}({reason})")
        out += [f"\t\t\t\t\t <{r}>" for r in recipients]
    out.append(f"\t\tTotal requests: {len(messages)}")
    _check(readers.sendmail_mailq("\n".join(out) + "\n", NOW), messages, with_reasons=True)


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_qmail_qread(messages):
    out = []
    for n, (sender, recipients, _, bouncing) in enumerate(messages):
        out.append(f"28 Nov 2026 10:02:00 GMT  #{1234570 + n}  9021  <{sender}>{' bouncing' if bouncing else ''}")
        out += [f"\tremote\t{r}" for r in recipients]
    found = readers.qmail_qread("\n".join(out) + "\n", NOW)
    _check(found, messages)
    assert [m.queue == "bouncing" for m in found] == [b for *_, b in messages]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE)), max_size=8))
def test_garbage_never_crashes_a_reader(lines):
    """Not a listing at all: QueueError or a (possibly empty) listing, never another exception."""
    text = "\n".join(lines)
    for reader in (readers.postfix_json, readers.postfix_text, readers.exim_bp, readers.sendmail_mailq,
                   readers.qmail_qread):  # fmt: skip
        with contextlib.suppress(readers.QueueError):
            reader(text, NOW)
