"""systemd journal entries (`journalctl -o json`) as the lines the pipeline reads.

An entry becomes `<PRI>TIMESTAMP HOST IDENTIFIER[PID]: MESSAGE`, so the one envelope parser gives it the
same fields as the line rsyslog would have written: `@timestamp` at the journal's microsecond precision
(`__REALTIME_TIMESTAMP`, UTC), `host.hostname` (`_HOSTNAME`), `process.name` (`SYSLOG_IDENTIFIER`, else
`_COMM`), `process.pid` (`SYSLOG_PID`, else `_PID`), and `log.syslog.*` from `PRIORITY` with
`SYSLOG_FACILITY` (journald's own default, daemon, when the entry has none).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

DEFAULT_FACILITY = 3  # daemon: what journald records for a service's stdout
_CURSOR_SEQNUM = re.compile(r"(?:^|;)i=([0-9a-f]+)(?:;|$)")


def field(entry: dict[str, Any], name: str) -> str | None:
    """A field as text: journalctl writes binary values (and invalid UTF-8) as an array of byte values."""
    value = entry.get(name)
    if value is None:
        return None
    if isinstance(value, list):  # several values of one field, or a binary one
        if value and all(isinstance(v, int) for v in value):
            return bytes(value).decode("utf-8", errors="replace")
        return field({name: value[0]}, name) if value else None
    return str(value)


def render(entry: dict[str, Any]) -> bytes:
    micros = int(field(entry, "__REALTIME_TIMESTAMP") or 0)
    stamp = datetime.fromtimestamp(micros / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    host = field(entry, "_HOSTNAME") or "-"
    program = field(entry, "SYSLOG_IDENTIFIER") or field(entry, "_COMM") or "journal"
    pid = field(entry, "SYSLOG_PID") or field(entry, "_PID")
    message = field(entry, "MESSAGE") or ""
    priority = field(entry, "PRIORITY")
    pri = ""
    if priority is not None and priority.isdigit():
        facility = field(entry, "SYSLOG_FACILITY")
        code = int(facility) if facility is not None and facility.isdigit() else DEFAULT_FACILITY
        pri = f"<{min(code, 23) * 8 + min(int(priority), 7)}>"
    program = program.replace(" ", "_").replace(":", "_") or "journal"
    head = f"{pri}{stamp} {host.replace(' ', '_')} {program}" + (f"[{pid}]" if pid and pid.isdigit() else "")
    return f"{head}: {message}".encode("utf-8", errors="replace")


def seqnum(cursor: str) -> int:
    """The entry's sequence number in its journal (the cursor's `i=`): its stable position, for its `_id`."""
    m = _CURSOR_SEQNUM.search(cursor)
    return int(m.group(1), 16) if m else 0
