"""Queue readers on saved real output (Postfix, Exim) and documented formats (Sendmail, qmail)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shipper.queue import readers
from shipper.queue.model import QueueError

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 29, 1, 0, 0).astimezone()


def text(name: str) -> str:
    return (DATA / name).read_text()


def by_id(messages):
    return {m.queue_id: m for m in messages}


def test_postqueue_p_markers_reasons_and_recipients():
    found = by_id(readers.postfix_text(text("postfix-p.txt"), NOW))
    assert len(found) == 5
    assert found["ED6F799033B"].queue == "active" and found["F130399033C"].queue == "hold"
    refused = found["E561999033A"]
    assert refused.queue == "deferred" and refused.size == 296 and refused.sender == "alice@example.test"
    assert [r.address for r in refused.recipients] == ["bob@remote.test", "carol@remote.test"]
    assert all(r.reason == "connect to 127.0.0.1[127.0.0.1]:1: Connection refused" for r in refused.recipients)
    # a long reason starts in column 0: still the reason, not an entry
    sasl = found["ECD62990339"]
    assert sasl.reason.startswith("SASL authentication failed; server 127.0.0.1")
    assert sasl.diagnosis()[0] == "relay authentication" and "smtp_sasl_password_maps" in sasl.diagnosis()[1]
    assert found["EDBD9990336"].diagnosis()[0] == "mailbox server down"
    assert found["ED6F799033B"].reason is None  # being delivered: no reason yet
    arrival = found["E561999033A"].arrival
    assert (arrival.year, arrival.month, arrival.day, arrival.hour) == (2026, 11, 29, 0)
    assert found["E561999033A"].age_seconds == int((NOW - arrival).total_seconds())


def test_postqueue_j_agrees_with_postqueue_p():
    from_json = by_id(readers.postfix_json(text("postfix-j.ndjson"), NOW))
    from_text = by_id(readers.postfix_text(text("postfix-p.txt"), NOW))
    assert from_json.keys() == from_text.keys()
    for qid, m in from_json.items():
        other = from_text[qid]
        assert (m.size, m.sender, [r.address for r in m.recipients]) == (
            other.size, other.sender, [r.address for r in other.recipients])  # fmt: skip
        assert m.reason == other.reason
        assert m.queue == other.queue or (other.queue == "deferred" and m.queue in ("incoming", "maildrop"))
        assert abs((m.arrival - other.arrival).total_seconds()) < 1


def test_an_empty_postfix_queue():
    assert readers.postfix_text(text("postfix-empty.txt"), NOW) == []
    assert readers.postfix_json("", NOW) == []


def test_a_year_less_arrival_in_the_future_is_last_year():
    listing = text("postfix-p.txt")
    new_year = datetime(2027, 1, 1, 0, 10).astimezone()
    assert readers.postfix_text(listing, new_year)[0].arrival.year == 2026
    early = readers.postfix_text(listing, datetime(2026, 11, 28, 1, 0).astimezone())  # arrival 23h38m later
    assert early[0].arrival.year == 2026


@pytest.mark.parametrize(
    ("listing", "problem"),
    [
        ("", "empty"),
        ("hello world\n", "expected the '-Queue ID-' header"),
        (text("postfix-p.txt").split("-- 1 Kbytes")[0], "truncated"),  # cut before the footer
        (text("postfix-p.txt").replace("5 Requests", "6 Requests"), "footer says 6"),
        (text("exim-bp.txt"), "expected the '-Queue ID-' header"),  # another MTA's output
    ],
)
def test_malformed_postqueue_p_is_refused_with_a_reason(listing, problem):
    with pytest.raises(QueueError, match=problem.replace("(", r"\(")):
        readers.postfix_text(listing, NOW)


def test_an_unreadable_postqueue_p_entry_is_named_and_skipped_not_fatal():
    listing = text("postfix-p.txt").replace("EDBD9990336     295 Sun", "EDBD9990336     2x95 Sun")
    found = readers.postfix_text(listing, NOW)
    assert len(found) == 4 and "EDBD9990336" not in by_id(found)  # its reason and recipient went with it
    assert found.skipped == [
        "postqueue -p output, line 5: expected a queue entry, got "
        "'EDBD9990336     2x95 Sun Nov 29 00:38:50  zimbra@example.test': entry skipped"
    ]
    assert [r.address for r in by_id(found)["ECD62990339"].recipients] == ["ceo@sasl.test"]


def test_an_unreadable_postqueue_j_line_is_named_and_skipped_not_fatal():
    lines = text("postfix-j.ndjson").splitlines()
    found = readers.postfix_json("\n".join([*lines[:2], lines[2][:40], *lines[3:]]), NOW)
    assert len(found) == len(lines) - 1 and len(found.skipped) == 1 and "line 3" in found.skipped[0]
    with pytest.raises(QueueError, match="line 1"):  # nothing readable at all: not postqueue -j output
        readers.postfix_json("hello\nworld\n", NOW)


@pytest.mark.parametrize(
    ("reader", "listing", "sender", "recipients", "queue"),
    [
        (
            readers.exim_bp,
            '12m   1.2K 1xXSD6-0000Wm-0Y <"x>y"@evil.example>\n          "a b"@evil.example\n',
            '"x>y"@evil.example',
            ['"a b"@evil.example'],
            "queued",
        ),
        (
            readers.exim_bp,
            "3h   480 1xXSD6-0000Wm-0Y <nobody@example.test> (www-data) *** frozen ***\n"
            '        D "<D>"@x.example\n          postmaster@[192.0.2.7]\n',
            "nobody@example.test",
            ['"<D>"@x.example', "postmaster@[192.0.2.7]"],
            "frozen",
        ),
        (
            readers.postfix_text,
            "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
            'ED6F799033B      293 Sun Nov 29 00:38:50  "[/]"@evil.example\n'
            "                    ([link=https://evil.example]click[/link])\n"
            '                                         "a b"@evil.example\n\n-- 1 Kbytes in 1 Request.\n',
            '"[/]"@evil.example',
            ['"a b"@evil.example'],
            "deferred",
        ),
        (
            readers.qmail_qread,
            '28 Nov 2026 10:02:00 GMT  #1234570  9021  <"x>y"@evil.example> bouncing\n\tremote\t"a b"@evil.example\n',
            '"x>y"@evil.example',
            ['"a b"@evil.example'],
            "bouncing",
        ),
        (
            readers.sendmail_mailq,
            "\t\t/var/spool/mqueue (1 request)\n"
            '0ASAe1Xa002101     2142 Sat Nov 28 10:40 <"x> y"@evil.example>\n\t\t\t\t <"a b"@evil.example>\n',
            '"x> y"@evil.example',
            ['"a b"@evil.example'],
            "deferred",
        ),
    ],
)
def test_hostile_but_legal_addresses_are_read(reader, listing, sender, recipients, queue):
    """Quoted local parts may hold spaces, `<`, `>` and markup; Exim adds `(login)` after an untrusted
    submitter's sender. One such message once stopped every queue command."""
    (message,) = reader(listing, NOW)
    assert (message.sender, [r.address for r in message.recipients], message.queue) == (sender, recipients, queue)


def test_exim_bp_from_a_real_exim():
    found = by_id(readers.exim_bp(text("exim-bp.txt"), NOW))
    assert set(found) == {"1xXSD6-0000Wm-0Y", "1xXSD7-0000XH-26", "1xXSDY-0000Yv-2d", "1xXSDY-0000Z5-2j"}
    split = found["1xXSD6-0000Wm-0Y"]
    assert split.queue == "queued" and split.age_seconds == 47 * 60 and split.size == 480
    assert [(r.address, r.delivered) for r in split.recipients] == [("friend@upstream.test", True),
                                                                   ("greylist@upstream.test", False)]  # fmt: skip
    frozen = found["1xXSDY-0000Yv-2d"]
    assert frozen.queue == "frozen" and frozen.sender == "" and frozen.size == 1536
    assert frozen.arrival == NOW - timedelta(minutes=46)
    with pytest.raises(QueueError, match="line 1"):
        readers.exim_bp(text("postfix-p.txt"), NOW)


def test_sendmail_mailq():
    found = by_id(readers.sendmail_mailq(text("sendmail-mailq.txt"), NOW))
    assert found["0ASAg3Xd002120"].queue == "active"
    deferred = found["0ASAe1Xa002101"]
    assert deferred.sender == "alice@example.com" and deferred.size == 2142
    assert deferred.reason == "Deferred: Connection timed out with mx.slow.example."
    assert deferred.diagnosis()[0] == "connection timeout"
    assert [r.address for r in found["0ASAh7Xe002133"].recipients] == ["ops@example.org", "noc@example.org"]
    assert deferred.arrival.year == 2026 and deferred.arrival.hour == 10
    assert readers.sendmail_mailq(text("sendmail-empty.txt"), NOW) == []
    with pytest.raises(QueueError):
        readers.sendmail_mailq(text("qmail-qread.txt"), NOW)


def test_qmail_qread_and_qstat():
    found = by_id(readers.qmail_qread(text("qmail-qread.txt"), NOW))
    assert found["1234570"].sender == "bob@example.com" and found["1234570"].size == 9021
    bouncing = found["1234575"]
    assert bouncing.queue == "bouncing" and bouncing.sender == ""
    assert [(r.address, r.delivered) for r in bouncing.recipients] == [("dave@example.org", True),
                                                                      ("postmaster@example.com", False)]  # fmt: skip
    assert readers.qmail_qstat(text("qmail-qstat.txt")) == {"queued": 2, "unprocessed": 0}
    with pytest.raises(QueueError):
        readers.qmail_qread(text("exim-bp.txt"), NOW)
    with pytest.raises(QueueError):
        readers.qmail_qstat("nothing here")
