"""Message transactions of the other MTAs, from their bundled samples: Exim's captured from a real Exim 4.96
(scripts/capture_debian_exim.sh), Sendmail's, qmail's and Kerio Connect's written from published lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipper.enrich.correlate import Correlator
from shipper.parse.packs import load_packs
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.parallel import parse_events
from tests.conftest import REFERENCE, SAMPLES


def transactions(path: Path) -> dict[str, dict[str, Any]]:
    """The documents of a sample's messages by first queue ID."""
    correlator = Correlator(load_packs())
    done = []
    with path.open("rb") as stream:
        for event in parse_events(iter([(path, stream)]), ParseSettings(timezone="UTC", reference=REFERENCE)):
            done += correlator.feed(event)
    docs = [tx.doc() for tx in done + list(correlator.finish())]
    return {d["email"]["local_id"][0]: d for d in docs}


def fates(doc: dict[str, Any]) -> dict[str, str]:
    return {r["address"]: r["status"] for r in doc["mail"]["recipients"]}


def test_exim_messages_from_a_real_exim():
    txs = transactions(SAMPLES / "exim" / "debian-mainlog.log")
    multi = txs["1xXSD5-0000Wa-1p"]
    assert multi["mail"]["status"] == "sent" and "incomplete" not in multi.get("tags", [])
    assert fates(multi) == {"bob": "sent", "alice": "sent"}  # local deliveries: `=> bob <bob@example.test>`
    assert multi["email"]["from"]["address"] == ["carol@example.test"]
    # one recipient accepted upstream, one greylisted: still queued at the end of the capture
    split = txs["1xXSD6-0000Wm-0Y"]
    assert fates(split) == {"friend@upstream.test": "sent", "greylist@upstream.test": "deferred"}
    assert "incomplete" in split["tags"]
    # a 550 upstream: bounced, and Exim's notification (`<= <> R=parent`) is linked to it
    assert fates(txs["1xXSD6-0000Ws-1V"]) == {"nobody@upstream.test": "bounced"}
    assert txs["1xXSD6-0000Wx-1j"]["mail"]["parent_local_id"] == "1xXSD6-0000Ws-1V"
    # removed with exim -Mrm while deferred: its Completed line ends it
    removed = txs["1xXSD6-0000X2-2U"]
    assert "incomplete" not in removed.get("tags", []) and fates(removed) == {"someone@closed.test": "deferred"}
    # a bounce that could not be delivered either: frozen, still on the queue, linked to its message
    frozen = txs["1xXSDY-0000Yv-2d"]
    assert frozen["mail"]["parent_local_id"] == "1xXSDY-0000Yr-2b" and "incomplete" in frozen["tags"]
    # authenticated submission: the SASL user is the message's
    assert txs["1xXSDA-0000Xd-02"]["user"]["name"] == "carol"


def test_sendmail_closes_when_every_recipient_has_its_fate_and_links_its_dsn():
    txs = transactions(SAMPLES / "sendmail" / "mail.log")
    assert fates(txs["0ASAe1Xa002101"]) == {"bob@example.net": "sent", "carol@slow.example": "sent"}
    assert "incomplete" not in txs["0ASAe1Xa002101"].get("tags", [])
    assert txs["0ASAf0Xc002105"]["mail"]["parent_local_id"] == "0ASAf0Xb002105"


def test_qmail_joins_deliveries_by_number_and_bounces_by_qp():
    txs = transactions(SAMPLES / "qmail" / "current.log")
    assert fates(txs["1234567"]) == {"alice-archive@example.com": "sent", "bob@example.net": "sent"}
    assert fates(txs["1234568"]) == {"nobody@example.org": "bounced"}
    assert txs["1234569"]["mail"]["parent_local_id"] == "1234568"  # `bounce msg 1234568 qp 30245`
    assert txs["1234570"]["mail"]["status"] == "deferred" and "incomplete" in txs["1234570"]["tags"]


def test_kerio_deferred_then_relayed():
    txs = transactions(SAMPLES / "kerio" / "mail.log")
    later = txs["6568be80-00000005"]
    assert fates(later) == {"partner@example.net": "sent"} and "incomplete" not in later.get("tags", [])
    assert later["user"]["name"] == "carol@example.com"
