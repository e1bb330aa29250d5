"""Queue actions without a live queue: commands built from validated IDs, selection, and the CLI's dry runs
and refusals on saved listings."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipper.cli import app
from shipper.queue import readers
from shipper.queue.actions import Selection, audit_event, batches, select
from shipper.queue.mta import EXIM, POSTFIX, QMAIL, SENDMAIL

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 29, 1, 0, 0).astimezone()
runner = CliRunner()


def postfix_queue():
    return readers.postfix_text((DATA / "postfix-p.txt").read_text(), NOW)


def commands(*args, **kwargs):
    return [argv for argv, _ in batches(*args, **kwargs)]


def test_commands_take_validated_ids_and_no_shell():
    assert POSTFIX.action_argv("delete", ["ECD62990339", "E561999033A"]) == [
        "postsuper", "-d", "ECD62990339", "-d", "E561999033A"]  # fmt: skip
    assert POSTFIX.action_argv("hold", ["ECD62990339"], "/etc/postfix-out") == [
        "postsuper", "-c", "/etc/postfix-out", "-h", "ECD62990339"]  # fmt: skip
    assert POSTFIX.action_argv("release", ["F130399033C"]) == ["postsuper", "-H", "F130399033C"]
    assert POSTFIX.action_argv("flush", ["F130399033C"]) == ["postqueue", "-i", "F130399033C"]
    assert EXIM.action_argv("delete", ["1xXSD6-0000Wm-0Y"]) == ["exim", "-Mrm", "1xXSD6-0000Wm-0Y"]
    assert EXIM.action_argv("hold", ["1xXSD6-0000Wm-0Y"]) == ["exim", "-Mf", "1xXSD6-0000Wm-0Y"]
    assert commands(POSTFIX, "flush", ["x"], None, everything=True) == [["postqueue", "-f"]]
    assert commands(EXIM, "flush", [], None, everything=True) == [["exim", "-qff"]]
    many = [f"{n:011X}" for n in range(1200)]
    assert [len(argv) for argv in commands(POSTFIX, "delete", many, None, False)] == [1001, 1001, 401]


@pytest.mark.parametrize("bad", ["; rm -rf /", "-d", "ALL", "../../etc", "ECD62990339 E561999033A", ""])
def test_anything_but_a_queue_id_is_refused(bad):
    with pytest.raises(ValueError, match="not postfix queue IDs"):
        POSTFIX.action_argv("delete", [bad])


def test_mtas_without_a_command_say_so():
    with pytest.raises(ValueError, match="only run the queue"):
        SENDMAIL.action_argv("delete", ["0ASAe1Xa002101"])
    assert SENDMAIL.action_argv("flush", ["0ASAe1Xa002101"]) == ["sendmail", "-qI", "0ASAe1Xa002101"]
    with pytest.raises(ValueError, match="qmail has no per-message"):
        QMAIL.action_argv("delete", ["1234570"])
    with pytest.raises(ValueError, match="take no other configuration"):
        SENDMAIL.action_argv("flush", ["0ASAe1Xa002101"], "/etc/mail/other.cf")
    assert EXIM.action_argv("delete", ["1xXSD6-0000Wm-0Y"], "/etc/exim4/test.conf") == [
        "exim", "-C", "/etc/exim4/test.conf", "-Mrm", "1xXSD6-0000Wm-0Y"]  # fmt: skip


def test_selection_by_sender_recipient_category_age_and_queue():
    queue = postfix_queue()
    pick = lambda **kw: sorted(m.queue_id for m in select(queue, Selection(**kw))[0])  # noqa: E731
    assert pick(sender="billing@example.test") == ["ECD62990339"]
    assert pick(recipient="CAROL@remote.test") == ["E561999033A"]
    assert pick(category="relay authentication") == ["ECD62990339"]
    assert pick(queue="hold") == ["F130399033C"]
    assert pick(everything=True, older_than=3600) == []
    assert len(pick(everything=True)) == 5
    assert select(queue, Selection(ids=("ECD62990339", "ABCDEF12345")))[1] == ["ABCDEF12345"]


def test_the_audit_events_fit_the_log_event_contract():
    from shipper.queue.actions import Outcome
    from shipper.schema.contract import contract_errors

    planned = [["postsuper", "-d", "ECD62990339"]]
    intent = audit_event(POSTFIX, "delete", ["ECD62990339"], planned, "default", "a1", 0)
    ran = [Outcome(["/usr/sbin/postsuper", "-d", "ECD62990339"], 0, "")]
    batch = audit_event(POSTFIX, "delete", ["ECD62990339"], planned, "default", "a1", 1, ran)
    assert contract_errors(intent) == [] and contract_errors(batch) == []
    assert intent["event"]["outcome"] == "unknown" and intent["process"]["command_line"] == "postsuper -d ECD62990339"
    assert batch["event"]["action"] == "queue-delete" and batch["event"]["outcome"] == "success"
    assert batch["mail"]["queue"] == {"mta": "postfix", "ids": ["ECD62990339"], "audit_id": "a1"}
    assert batch["process"]["command_line"] == "/usr/sbin/postsuper -d ECD62990339" and batch["user"]["name"]


def test_the_audit_names_who_called_sudo_not_what_logname_says(monkeypatch):
    import os
    import pwd

    from shipper.queue.actions import caller

    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setenv("SUDO_UID", "1000")
    me = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:  # as sudo leaves it: real uid root, the caller in SUDO_USER
        assert caller() == {"user.name": "alice", "user.id": "1000", "user.effective.name": "root"}
    else:  # SUDO_USER is believed only when the real uid is root's
        assert caller()["user.name"] == me and caller()["user.id"] == str(os.getuid())
    monkeypatch.delenv("SUDO_USER")
    assert caller()["user.name"] == me


def test_flush_of_all_narrowed_by_a_filter_flushes_only_the_selection():
    result = cli("flush", "--all", "--sender", "billing@example.test", "--mta", "postfix",
                 "--from", str(DATA / "postfix-p.txt"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "flush: 1 message(s)" in result.stdout and "would run: postqueue -i ECD62990339" in result.stdout
    assert "postqueue -f" not in result.stdout
    whole = cli("flush", "--all", "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"))
    assert "would run: postqueue -f" in whole.stdout


def test_an_empty_sender_selects_the_bounces():
    result = cli("delete", "--sender", "", "--mta", "exim", "--from", str(DATA / "exim-bp.txt"))
    assert result.exit_code == 0, result.output
    assert "delete: 2 message(s)" in result.stdout
    assert "would run: exim -Mrm 1xXSDY-0000Yv-2d 1xXSDY-0000Z5-2j" in result.stdout


def test_yes_without_an_audit_destination_is_refused():
    result = cli("delete", "ECD62990339", "--mta", "postfix", "--yes")
    assert result.exit_code == 2 and "--no-audit" in result.output


def cli(*args: str):
    return runner.invoke(app, ["queue", *args], env={"ES_URL": ""})


def test_list_from_saved_output_as_json():
    result = cli("list", "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"), "--format", "json")
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    sasl = next(d for d in docs if d["queue_id"] == "ECD62990339")
    assert sasl["category"] == "relay authentication" and sasl["recipients"][0]["address"] == "ceo@sasl.test"


def test_a_dry_run_shows_the_command_and_changes_nothing():
    result = cli("delete", "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"),
                 "--reason-category", "relay authentication")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "would run: postsuper -d ECD62990339" in result.stdout and "dry run" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["delete"], "name the messages"),
        (["delete", "ECD62990339", "--yes"], "--from reads saved output"),
        (["delete", "not-an-id;ls"], "not postfix queue IDs"),
    ],
)
def test_refusals_exit_2(args, message):
    result = cli(*args, "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"))
    assert result.exit_code == 2 and message in result.output


def test_garbage_listing_is_an_error_not_a_crash(tmp_path: Path):
    bad = tmp_path / "cut.txt"
    bad.write_text((DATA / "postfix-p.txt").read_text()[:300])
    result = cli("list", "--mta", "postfix", "--from", str(bad))
    assert result.exit_code == 1 and "truncated" in result.output


def test_stuck_with_log_trails_from_files():
    result = cli("stuck", "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"), "--older-than", "1m",
                 "--logs", str(DATA / "postfix-maillog.log"), "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    items = {d["queue_id"]: d for d in map(json.loads, result.stdout.splitlines())}
    sasl = items["ECD62990339"]
    assert sasl["category"] == "relay authentication" and "smtp_sasl_password_maps" in sasl["hint"]
    assert any("SASL authentication failed" in t["line"] for t in sasl["trail"])
    assert items["EDBD9990336"]["category"] == "mailbox server down"
    assert all(t["queue_id"] == "EDBD9990336" for t in items["EDBD9990336"]["trail"])


def test_exim_stuck_mail_explained_by_its_log():
    """exim -bp gives no reason: the log's last deferral does (a real Exim's queue and mainlog)."""
    mainlog = Path(__file__).parents[2] / "samples" / "exim" / "debian-mainlog.log"
    result = cli("stuck", "--mta", "exim", "--from", str(DATA / "exim-bp.txt"), "--older-than", "10m",
                 "--logs", str(mainlog))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1xXSD6-0000Wm-0Y" in result.stdout and "category: greylisting" in result.stdout


def test_a_held_message_reads_as_on_hold_since_when_and_by_whom_with_the_release_command():
    """Real Postfix: F130399033C was deferred (connection refused), then `postsuper -h`: not a retry matter."""
    result = cli("stuck", "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"), "--older-than", "1m",
                 "--logs", str(DATA / "postfix-maillog.log"), "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    held = {d["queue_id"]: d for d in map(json.loads, result.stdout.splitlines())}["F130399033C"]
    assert held["category"] == "on hold"
    assert held["reason"] == "on hold since 2026-11-29T00:38:59Z (postfix-qtest/postsuper)"
    assert held["hint"].endswith("postsuper -H F130399033C")
    assert held["last_reply"] == "connect to 127.0.0.1[127.0.0.1]:1: Connection refused"
    table = cli("stuck", "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"), "--older-than", "1m")
    assert "\\n" not in table.stdout  # each message after an empty line, not an escaped newline
    block = table.stdout.split("\nF130399033C", 1)[1].split("\n\n")[0]
    assert "category: on hold" in block and "postsuper -H F130399033C" in block and "relayhost" not in block
    listing = cli("list", "--mta", "postfix", "--from", str(DATA / "postfix-p.txt"), "--format", "json")
    row = {d["queue_id"]: d for d in map(json.loads, listing.stdout.splitlines())}["F130399033C"]
    assert (row["reason"], row["category"]) == ("on hold", "on hold")


def test_exim_frozen_messages_read_as_frozen_with_the_thaw_command():
    mainlog = Path(__file__).parents[2] / "samples" / "exim" / "debian-mainlog.log"
    result = cli("stuck", "--mta", "exim", "--from", str(DATA / "exim-bp.txt"), "--older-than", "10m",
                 "--logs", str(mainlog), "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    frozen = {d["queue_id"]: d for d in map(json.loads, result.stdout.splitlines())}["1xXSDY-0000Yv-2d"]
    assert frozen["category"] == "on hold" and frozen["reason"].startswith("frozen since 2026-11-28T23:5")
    assert "Frozen (delivery error message)" in frozen["reason"]
    assert "exim -Mt 1xXSDY-0000Yv-2d" in frozen["hint"]
    assert "expired" not in result.stdout and "bounced" not in frozen["reason"]
