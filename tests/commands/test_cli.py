"""`shipper` as a user runs it: a real subprocess, real files, real exit codes."""

from __future__ import annotations

import gzip
import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import ROOT, SAMPLES


def shipper(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "shipper", *args], input=stdin, capture_output=True, cwd=ROOT, timeout=300, check=False
    )


def events(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_parse_stdin_one_event_per_line_in_order():
    lines = [
        b"Mar  3 10:15:01 mx1 postfix/smtpd[2301]: connect from a[192.0.2.1]",
        b"\xff\xfe not utf-8",
        b"",
        b"Mar  3 10:15:02 mx1 postfix/qmgr[2]: 0A1B23E0E1: removed",
    ]
    result = shipper("parse", "--timezone", "UTC", stdin=b"\n".join(lines) + b"\n")
    assert result.returncode == 0, result.stderr
    got = events(result.stdout)
    assert len(got) == 4
    assert got[0]["event"]["action"] == "connection-start"
    assert "invalid_utf8" in got[1]["tags"]
    assert got[2]["message"] == ""
    assert got[3]["email"]["local_id"] == "0A1B23E0E1"


def test_parse_gz_file_and_stats(tmp_path: Path):
    sample = SAMPLES / "postfix" / "varied.log"
    packed = tmp_path / "mail.log.2.gz"
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    result = shipper("parse", "--stats", str(packed))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(sample.read_bytes().splitlines())
    stderr = result.stderr.decode()
    assert "mail.postfix" in stderr and "matched" in stderr


def test_workers_give_identical_output():
    sample = str(SAMPLES / "postfix" / "mail.log")
    one = shipper("parse", "--timezone", "UTC", sample)
    two = shipper("parse", "--timezone", "UTC", "--workers", "2", sample)
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout


def test_exit_codes():
    assert shipper("parse", "--source", "nope", stdin=b"").returncode == 2
    assert b"unknown source 'nope'" in shipper("parse", "--source", "nope", stdin=b"").stderr
    assert shipper("parse", "--timezone", "Mars/Olympus", stdin=b"").returncode == 2
    bad_date = shipper("parse", "--reference-date", "2026-13-01", stdin=b"")
    assert bad_date.returncode == 2 and b"expected YYYY-MM-DD" in bad_date.stderr
    missing = shipper("parse", "/nonexistent/mail.log")
    assert missing.returncode == 1 and b"no such file" in missing.stderr
    partly = shipper("parse", "/nonexistent/mail.log", str(SAMPLES / "postfix" / "varied.log"))
    assert partly.returncode == 1 and partly.stdout  # the readable file is still parsed


def test_help_has_examples():
    for command, option in (("parse", b"--stats"), ("setup", b"--check"), ("ingest", b"--namespace")):
        result = shipper(command, "--help")
        assert result.returncode == 0
        assert b"Examples" in result.stdout and option in result.stdout, command


def test_ingest_and_setup_refuse_bad_options_before_connecting(tmp_path: Path):
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "shipper", *args], capture_output=True, cwd=ROOT, env=env_free)

    no_cluster = run("setup")
    assert no_cluster.returncode == 2 and b"no Elasticsearch given" in no_cluster.stderr
    bad_ns = run("ingest", "samples/", "--es", "http://127.0.0.1:1", "--namespace", "Prod-1")
    assert bad_ns.returncode == 2 and b"--namespace" in bad_ns.stderr
    nothing = run("ingest", str(tmp_path / "nope*.log"), "--es", "http://127.0.0.1:1")
    assert nothing.returncode == 1 and b"nothing matched" in nothing.stderr
    secret = tmp_path / "password"
    secret.write_text("hunter2-secret\n")
    refused = run("setup", "--es", "http://user:hunter2-url@127.0.0.1:1", "--es-user", "u", "--es-password-file",
                  str(secret))  # fmt: skip
    assert refused.returncode == 2  # user:password in the URL and a password file: two basic-auth sources
    unreachable = run("setup", "--es", "http://127.0.0.1:1", "--es-user", "u", "--es-password-file", str(secret))
    assert unreachable.returncode == 1 and b"cannot use Elasticsearch" in unreachable.stderr
    for result in (refused, unreachable):
        assert b"hunter2" not in result.stderr + result.stdout


def test_check_patterns_passes():
    result = shipper("check-patterns")
    assert result.returncode == 0, result.stdout.decode()
    assert b" 0 failed" in result.stdout


def test_field_reference_is_generated_and_current():
    result = shipper("fields", "--format", "markdown")
    assert result.returncode == 0
    assert (ROOT / "docs" / "fields.md").read_bytes() == result.stdout, (
        "docs/fields.md is stale: shipper fields --format markdown > docs/fields.md"
    )


def test_stdin_stream_is_parsed_line_by_line_without_waiting_for_eof():
    """`tail -f mail.log | shipper parse` must emit each event as its line arrives."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipper", "parse", "--timezone", "UTC"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    try:
        for n in range(3):
            proc.stdin.write(f"Mar  3 10:15:0{n} mx1 postfix/qmgr[2]: 0A1B23E0E{n}: removed\n".encode())
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            assert ready, "no output while the input stream stays open"
            event = json.loads(proc.stdout.readline())
            assert event["email"]["local_id"] == f"0A1B23E0E{n}"
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_fifo_and_device_inputs(tmp_path: Path):
    """Process substitution (`<(zcat x.gz)`) and FIFOs are inputs too; compression is still sniffed."""
    fifo = tmp_path / "mail.fifo"
    os.mkfifo(fifo)
    sample = (SAMPLES / "postfix" / "varied.log").read_bytes()

    def feed() -> None:
        with open(fifo, "wb") as writer:
            writer.write(gzip.compress(sample))

    feeder = threading.Thread(target=feed)
    feeder.start()
    result = shipper("parse", str(fifo), "/dev/null")
    feeder.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(sample.splitlines())


def test_an_empty_directory_is_an_error_naming_it(tmp_path: Path):
    result = shipper("parse", str(tmp_path))
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().strip() == f"error: {tmp_path}: no such file (or nothing matched)"


def test_closed_output_pipe_ends_quietly_with_workers():
    """`shipper parse -j 2 big.log | head -1`: exit 0, no traceback, no processes left behind."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipper", "parse", "-j", "2", str(SAMPLES / "postfix" / "mail.log")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert json.loads(proc.stdout.readline())["event"]["dataset"] == "mail.postfix"
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert b"Traceback" not in stderr


def test_truncated_gzip_keeps_what_was_read_and_fails_clearly(tmp_path: Path):
    """A rotation still being compressed: the readable lines are parsed, the file is named, exit 1."""
    sample = (SAMPLES / "postfix" / "mail.log").read_bytes()
    packed = gzip.compress(sample)
    broken = tmp_path / "mail.log.1.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    good = SAMPLES / "postfix" / "varied.log"
    result = shipper("parse", str(broken), str(good))
    assert result.returncode == 1
    assert str(broken).encode() in result.stderr and b"unreadable after" in result.stderr
    assert b"Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) > len(good.read_bytes().splitlines())  # part of the broken file, all of the good one
    assert json.loads(lines[-1])["event"]["original"] == good.read_text().splitlines()[-1]


def test_garbage_gzip_is_reported_not_fatal(tmp_path: Path):
    bogus = tmp_path / "mail.log.2.gz"
    bogus.write_bytes(b"\x1f\x8b" + b"not really gzip" * 100)
    result = shipper("parse", str(bogus))
    assert result.returncode == 1
    assert b"unreadable after 0 bytes" in result.stderr and b"Traceback" not in result.stderr


def test_trace_and_report_show_control_characters_in_replies_as_escapes(tmp_path):
    """A remote reply is written by a stranger: an ESC sequence in it must not reach the admin's terminal."""
    log = tmp_path / "mail.log"
    log.write_bytes(
        b"Nov 28 10:00:00 mx postfix/qmgr[2]: 4F9D2E3A1B: from=<a@example.org>, size=1, nrcpt=1 (queue active)\n"
        b"Nov 28 10:00:01 mx postfix/smtp[3]: 4F9D2E3A1B: to=<b@evil.example>, relay=mx.evil.example[192.0.2.9]:25,"
        b" delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (host mx.evil.example[192.0.2.9] said: 550"
        b" \x1b]0;owned\x07\x1b[2Jgone (in reply to RCPT TO command))\n"
        b"Nov 28 10:00:02 mx postfix/qmgr[2]: 4F9D2E3A1B: removed\n"
    )
    for args in (("trace", "4F9D2E3A1B"), ("report",)):
        result = shipper(*args, "--timezone", "UTC", "--reference-date", "2026-11-28", str(log))
        assert result.returncode == 0, result.stderr
        assert b"\x1b" not in result.stdout and b"\\x1b]0;owned\\x07\\x1b[2Jgone" in result.stdout, args


def test_credentials_in_an_es_argument_are_refused_and_never_echoed():
    result = shipper("setup", "--check", "--es", "https://elastic:Pa55w0rd@127.0.0.1:9")
    assert result.returncode == 2 and b"visible to every user in `ps`" in result.stderr
    assert b"Pa55w0rd" not in result.stdout + result.stderr


def test_a_password_that_breaks_url_syntax_is_one_error_line_without_the_password():
    for password in ("a/b", "a b", "S3cr3t@pw"):
        result = subprocess.run(
            [sys.executable, "-m", "shipper", "setup", "--check"], capture_output=True, cwd=ROOT, timeout=120,
            env={**os.environ, "ES_URL": f"https://elastic:{password}@127.0.0.1:9"}, check=False,
        )  # fmt: skip
        assert result.returncode in (1, 2) and result.stderr.count(b"error:") == 1, result.stderr
        assert b"Traceback" not in result.stderr and password.encode() not in result.stderr + result.stdout


def test_a_malformed_fingerprint_pin_is_one_error_line():
    result = shipper("setup", "--check", "--es", "https://127.0.0.1:9", "--fingerprint", "00:11")
    assert result.returncode == 2 and result.stderr.count(b"\n") == 1 and b"SHA-256" in result.stderr


def test_report_output_is_created_0640_and_never_through_a_symlink(tmp_path):
    import stat

    out, link = tmp_path / "report.html", tmp_path / "link.html"
    link.symlink_to(tmp_path / "elsewhere")
    log = str(SAMPLES / "postfix" / "mail.log")
    done = subprocess.run([sys.executable, "-m", "shipper", "report", "--format", "html", "-o", str(out), log],
                          capture_output=True, cwd=ROOT, timeout=300, check=False,
                          preexec_fn=lambda: os.umask(0o022))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    refused = shipper("report", "-o", str(link), log)
    assert refused.returncode == 1 and b"symbolic link: not followed" in refused.stderr
    assert not (tmp_path / "elsewhere").exists()


COMMANDS = ["parse", "check-patterns", "fields", "setup", "ingest", "transactions", "trace", "report", "search", "grep",
            "run",
            "check-config", "status", "queue list", "queue stuck", "queue snapshot", "queue delete", "queue hold",
            "queue release", "queue requeue", "queue flush"]  # fmt: skip


def test_every_help_reads_the_same_way_and_fits_80_columns():
    env = {**os.environ, "COLUMNS": "80"}
    for command in COMMANDS:
        done = subprocess.run([sys.executable, "-m", "shipper", *command.split(), "-h"], capture_output=True,
                              text=True, cwd=ROOT, env=env, timeout=60)  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
        out = done.stdout
        assert out.startswith(f"Usage: shipper {command} [OPTIONS]"), command
        for odd in ("<str>", "<int", "<bool>", "<list", "<path>", "<float>", "{", "╭", "│"):
            assert odd not in out.split("Examples:")[0].replace("<namespace>", "").replace("<source>", ""), (
                command, odd)  # fmt: skip
        assert max(map(len, out.splitlines())) <= 80, command
    usage = subprocess.run([sys.executable, "-m", "shipper", "trace", "-h"], capture_output=True, text=True, cwd=ROOT)
    assert "Usage: shipper trace [OPTIONS] QUERY [FILES]..." in usage.stdout


def test_a_usage_mistake_is_one_error_line_and_exit_2_without_a_box():
    for args in (["ingest", "--batch-size", "x", "samples/postfix/mail.log"], ["nosuch"], ["trace"],
                 ["queue", "delete", "--reason-category", "no such thing", "--mta", "postfix"]):  # fmt: skip
        done = shipper(*args)
        err = done.stderr.decode()
        assert done.returncode == 2, (args, err)
        assert [line for line in err.splitlines() if line.startswith("error: ")], (args, err)
        assert "╭" not in err and "Traceback" not in err, (args, err)


def test_report_of_nothing_readable_is_an_error_not_a_report_of_zeros(tmp_path):
    done = shipper("report", str(tmp_path / "nonexistent.log"))
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode().startswith("error: ") and "nonexistent.log" in done.stderr.decode()


def test_report_of_a_day_the_log_does_not_have_says_which_days_it_covers():
    done = shipper("report", "samples/postfix/mail.log", "-d", "2026-12-03", "--timezone", "UTC",
                   "--reference-date", "2026-11-28")  # fmt: skip
    assert done.returncode == 1 and done.stdout == b""
    assert "error: no line of 2026-12-03 in the input (UTC): it covers 2025-12-31 .. 2026-01-01" in done.stderr.decode()


def test_report_sizes_read_as_pflogsumm_prints_them_and_json_keeps_bytes():
    text = shipper("report", "samples/postfix/mail.log", "--timezone", "UTC", "--reference-date", "2026-11-28")
    as_json = json.loads(shipper("report", "samples/postfix/mail.log", "--timezone", "UTC", "--format", "json",
                                 "--reference-date", "2026-11-28").stdout)  # fmt: skip
    received = as_json["grand_totals"]["bytes_received"]
    assert received > 524_288 and f"{received // 1024}k  bytes received" in text.stdout.decode()
    assert "  smtp (total: " in text.stdout.decode()


def test_reading_commands_take_directories_as_ingest_does(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "mail.log").write_bytes((SAMPLES / "postfix" / "mail.log").read_bytes())
    (tmp_path / "logs" / "README.md").write_text("not a log")
    parsed = shipper("parse", str(tmp_path / "logs"), "--timezone", "UTC")
    assert parsed.returncode == 0, parsed.stderr
    assert len(parsed.stdout.splitlines()) == len((SAMPLES / "postfix" / "mail.log").read_bytes().splitlines())
    for command in ("report", "transactions"):
        done = shipper(command, str(tmp_path / "logs"), "--timezone", "UTC")
        assert done.returncode == 0 and done.stdout, (command, done.stderr)


def test_the_manual_page_is_the_help_rendered_and_current():
    fresh = shipper("manpage")
    assert fresh.returncode == 0
    assert (ROOT / "docs" / "shipper.1").read_bytes() == fresh.stdout, (
        "docs/shipper.1 is stale: shipper manpage > docs/shipper.1"
    )
    page = fresh.stdout.decode()
    for command in COMMANDS:
        assert f".SS {command}\n" in page, command
    rendered = subprocess.run(["man", "-l", "-"], input=fresh.stdout, capture_output=True, env={
        **os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"}, timeout=60)  # fmt: skip
    if rendered.returncode == 0:  # man-db is not on every machine; groff's troff is what matters
        assert b"shipper queue stuck" in rendered.stdout and not rendered.stderr


def test_version_names_the_packs_and_templates_it_ships():
    done = shipper("--version")
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0 and lines[0].startswith("shipper ")
    assert lines[1].startswith("pattern packs: 27 (") and lines[2].startswith("index templates: ")


def test_grep_finds_with_kql_and_says_where_a_query_is_wrong():
    found = shipper("grep", "event.category: authentication and event.outcome: failure", "samples/postfix/",
                    "--count", "--timezone", "UTC")  # fmt: skip
    assert found.returncode == 0 and int(found.stdout) > 0
    none = shipper("grep", "mail.status: nothing-like-this", "samples/postfix/mail.log", "--count")
    assert none.returncode == 1 and none.stdout.strip() == b"0"
    wrong = shipper("grep", "mail.status:(deferred", "samples/postfix/mail.log")
    err = wrong.stderr.decode().splitlines()
    assert (
        wrong.returncode == 2 and err[0] == "error: KQL syntax error at column 22: expected ')', found 'end of query'"
    )
    assert err[2].index("^") - len("error:   ") == 21


def test_search_explain_prints_the_dsl_and_contacts_nothing():
    done = shipper("search", "mail.status: deferred and source.ip: 192.0.2.0/24", "--explain", "--from", "now-1d")
    assert done.returncode == 0, done.stderr
    dsl = json.loads(done.stdout)
    inner = dsl["bool"]["filter"]
    assert inner[1] == {"range": {"@timestamp": {"gte": "now-1d"}}}
    assert inner[0] == {
        "bool": {"filter": [{"match": {"mail.status": "deferred"}}, {"match": {"source.ip": "192.0.2.0/24"}}]}
    }
