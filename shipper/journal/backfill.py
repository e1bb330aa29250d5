"""`shipper ingest --journal`: the journal's entries read once (no follow), as `shipper run`'s journald input
reads them: the same rendering, positions and identity, so a backfill and a later `run` make the same
documents."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import orjson

from shipper.journal.entries import render, seqnum
from shipper.journal.journal_input import IDENTITY, journalctl_command
from shipper.pipeline.framing import Line

BATCH = 2000


class JournalError(Exception):
    pass


def journal_batches(settings: Any, since: str | None) -> Iterator[list[Line]]:
    command = journalctl_command(settings, cursor=None, follow=False, since=since)
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise JournalError(f"cannot run journalctl: {exc}") from None
    assert process.stdout is not None and process.stderr is not None
    batch: list[Line] = []
    count = 0
    for raw in process.stdout:
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        count += 1
        batch.append(Line(seqnum(str(entry.get("__CURSOR") or "")), count, render(entry)))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
    if process.wait() != 0:
        raise JournalError(f"journalctl: {process.stderr.read().decode(errors='replace').strip()}")


__all__ = ["IDENTITY", "JournalError", "journal_batches"]
