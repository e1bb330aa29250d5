"""Every driver gives the same events for the same bytes: `shipper parse`, `shipper ingest` (to a file sink)
and `shipper run` (following the files), on every bundled sample and on the edge cases where they once
disagreed: multi-line sources, stdin, lines over 64 KiB and a year boundary.

parse writes the parsed event; ingest and run add where it goes and what it is known by (data_stream,
log.file.path, log.offset, and for run host.name). Stripped of those, the three must be equal; ingest's
and run's documents must be equal as they are (so are their ids, which derive from the same identity,
offset and bytes: tests/run/test_service.py checks the records)."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from shipper.cli import app
from shipper.pipeline.framing import MAX_LINE_BYTES
from tests.conftest import GOLDEN, REFERENCE, SAMPLES, run_to_file

NOON = datetime(REFERENCE.year, REFERENCE.month, REFERENCE.day, 12).timestamp()


def _copy_samples(root: Path) -> list[Path]:
    copies = []
    for sample in sorted(SAMPLES.glob("*/*.log")):
        target = root / sample.parent.name / sample.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample, target)
        copies.append(target)
    return copies


def _edge_cases(root: Path) -> list[Path]:
    edge = root / "edge"
    edge.mkdir()
    line = "Nov 27 10:00:{:02} mx postfix/smtpd[7]: connect from a.example[192.0.2.{}]\n"
    huge = "Nov 27 10:01:00 mx postfix/smtpd[7]: warning: " + "x" * (MAX_LINE_BYTES + 5000) + "\n"
    (edge / "long.log").write_text(line.format(1, 1) + huge + line.format(2, 2) + huge.replace("x", "é") + "tail\n")
    year = edge / "year.log"
    year.write_text(
        "Dec 31 23:59:58 mx postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"
        "Jan  1 00:00:01 mx postfix/smtpd[7]: disconnect from a.example[192.0.2.1]\n"
    )
    os.utime(year, (datetime(2026, 1, 1, 12).timestamp(),) * 2)
    return [edge / "long.log", year]


# Kerio's debug, warning and error logs share one line shape: under a name that does not tell, their kind
# cannot be told from their lines (tests/parse/test_sniff.py holds what they become).
UNTOLD = {"kerio/error.log", "kerio/warning.log"}


def _anonymous_copies(root: Path, files: list[Path]) -> dict[Path, str]:
    """Each sample again under a name that names no source: its pack is told by its lines."""
    anonymous = root / "anonymous"
    anonymous.mkdir()
    copies = {}
    for number, path in enumerate(files):
        target = anonymous / f"{number}.txt"
        shutil.copyfile(path, target)
        copies[target] = f"{path.parent.name}/{path.name}"
    return copies


ANONYMOUS: dict[Path, str] = {}  # anonymous copy → the sample it copies


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("drivers")
    files = _copy_samples(root)
    ANONYMOUS.update(_anonymous_copies(root, files))
    for path in [*files, *ANONYMOUS]:
        os.utime(path, (NOON, NOON))  # the reference date every driver derives from the file
    return files + list(ANONYMOUS) + _edge_cases(root)


def _golden(path: Path) -> Path | None:
    """The reviewed output a sample (or its anonymous copy) must give."""
    if path in ANONYMOUS:
        sample = ANONYMOUS[path]
        return None if sample in UNTOLD else GOLDEN / f"{sample}-expected.ndjson"
    return None if path.parent.name == "edge" else GOLDEN / path.parent.name / f"{path.name}-expected.ndjson"


def _docs(text: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines()]


def _cli(*args: str, stdin: bytes | None = None) -> bytes:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def _parsed(path: Path | None, *extra: str, stdin: bytes | None = None) -> list[dict[str, Any]]:
    return _docs(_cli("parse", "--timezone", "UTC", *extra, str(path) if path else "-", stdin=stdin))


def _ingested(path: Path | None, tmp: Path, *extra: str, stdin: bytes | None = None) -> list[dict[str, Any]]:
    out = tmp / f"ingest-{path.parent.name if path else 'stdin'}-{path.name if path else ''}.ndjson"
    out.unlink(missing_ok=True)
    _cli("ingest", "--timezone", "UTC", "--output-file", str(out), *extra, str(path) if path else "-", stdin=stdin)
    return _docs(out.read_bytes())


def _run(paths: list[Path], tmp: Path, expected: int) -> dict[str, list[dict[str, Any]]]:
    """`shipper run` over every file at once, until `expected` events are written; its events by file."""
    settings = {
        "inputs": [{"paths": [str(p)]} for p in paths], "registry": {"path": str(tmp / "registry.json")},
        "timezone": "UTC", "host_name": "runner", "scan_interval": "100ms", "partial_line_timeout": "200ms",
    }  # fmt: skip
    events = run_to_file(settings, tmp / "run.ndjson", expected)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for doc in events:
        by_file.setdefault(doc["log"]["file"]["path"], []).append(doc)
    return by_file


def _stripped(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The event without what addressing added."""
    out = dict(doc)
    log = dict(out.get("log") or {})
    for name in fields:
        if name in ("offset", "file"):
            log.pop(name, None)
        elif name == "host.name":
            host = {k: v for k, v in (out.get("host") or {}).items() if k != "name"}
            out.pop("host", None)
            if host:
                out["host"] = host
        else:
            out.pop(name, None)
    out.pop("log", None)
    if log:
        out["log"] = log
    return out


ADDRESSING = ("data_stream", "offset", "file", "host.name", "ecs", "related")


def _unstamped(docs: list[dict[str, Any]], parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A line that carries no time gets the time it was read (data streams need one): not comparable."""
    return [
        {k: v for k, v in doc.items() if k != "@timestamp" or "@timestamp" in ref}
        for doc, ref in zip(docs, parsed, strict=False)
    ] + docs[len(parsed) :]


def test_parse_ingest_and_run_give_the_same_events(inputs: list[Path], tmp_path: Path) -> None:
    parsed = {str(path): _parsed(path) for path in inputs}
    ingested = {str(path): _ingested(path, tmp_path, "--no-transactions") for path in inputs}
    joined = {str(path): _ingested(path, tmp_path) for path in inputs}
    # a run takes a copy with the same first line for the same file rotated: the copies get a run of their own
    named = [path for path in inputs if path not in ANONYMOUS]
    ran = _run(named, tmp_path, sum(len(parsed[str(path)]) for path in named))
    (tmp_path / "anonymous").mkdir()
    ran |= _run(list(ANONYMOUS), tmp_path / "anonymous", sum(len(parsed[str(path)]) for path in ANONYMOUS))
    for path in inputs:
        name = str(path)
        assert parsed[name], name
        golden = _golden(path)
        if golden is not None:  # the reviewed golden output of each sample: all three drivers give it
            assert parsed[name] == _docs(golden.read_bytes()), f"parse vs golden: {name} ({ANONYMOUS.get(path)})"
        stripped = [_stripped(d, ADDRESSING) for d in ingested[name]]
        assert _unstamped(stripped, parsed[name]) == parsed[name], f"parse vs ingest: {name}"
        # run joins lines to their messages (enrichment) as ingest does by default
        run_docs = _unstamped([_stripped(d, ("host.name",)) for d in ran.get(name, [])], parsed[name])
        ingest_docs = [_stripped(d, ("host.name",)) for d in joined[name]]  # run's is the machine's
        assert run_docs == _unstamped(ingest_docs, parsed[name]), f"ingest vs run: {name}"
        assert all(d["host"]["name"] == "runner" for d in ran[name])


def test_a_year_boundary_and_long_lines_read_alike(inputs: list[Path]) -> None:
    year = next(p for p in inputs if p.name == "year.log")
    stamps = [d["@timestamp"][:4] for d in _parsed(year)]
    assert stamps == ["2025", "2026"]  # December before the file's last write, January of that year
    long = _parsed(next(p for p in inputs if p.name == "long.log"))
    assert [("truncated" in d.get("tags", [])) for d in long] == [False, True, False, True, False]
    assert all(len(d["event"]["original"].encode()) <= MAX_LINE_BYTES for d in long)


@pytest.mark.parametrize("sample", ["zimbra/mailbox.log", "exim/rejectlog.log", "postfix/mail.log"])
def test_stdin_gives_the_same_events_through_parse_and_ingest(sample: str, tmp_path: Path) -> None:
    """A forced pack's multi-line events are joined from a stream as from its file (they once were not)."""
    path = SAMPLES / sample
    if not path.exists():
        pytest.skip(f"no sample {sample}")
    source = {"zimbra": "zimbra_mailbox", "exim": "exim", "postfix": "postfix"}[path.parent.name]
    data = path.read_bytes()
    from_stdin = _parsed(None, "--source", source, "--reference-date", REFERENCE.isoformat(), stdin=data)
    ingested = _ingested(None, tmp_path, "--no-transactions", "--source", source,
                         "--reference-date", REFERENCE.isoformat(), stdin=data)  # fmt: skip
    assert _unstamped([_stripped(d, ADDRESSING) for d in ingested], from_stdin) == from_stdin
    from_file = _parsed(path, "--source", source, "--reference-date", REFERENCE.isoformat())
    assert from_stdin == from_file


@pytest.mark.parametrize(
    "sample", ["exim/mainlog.log", "exim/rejectlog.log", "dovecot/dovecot.log", "kerio/security.log",
               "zimbra/mailbox.log", "freshclam/freshclam.log", "qmail/current.log"],
)  # fmt: skip
def test_stdin_without_a_source_reads_as_the_file_its_lines_come_from(sample: str) -> None:
    path = SAMPLES / sample
    reference = ("--reference-date", REFERENCE.isoformat())
    from_stdin = _parsed(None, *reference, stdin=path.read_bytes())
    assert from_stdin == _parsed(path, *reference)
    assert not any("unparsed" in d.get("tags", ()) or "generic" in d.get("tags", ()) for d in from_stdin)
