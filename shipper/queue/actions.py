"""Queue actions: pick messages, build the MTA's command, run it (only with --yes), and describe what was
done as an audit event."""

from __future__ import annotations

import getpass
import shlex
import socket
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shipper.parse.event import nest
from shipper.queue.model import QueuedMessage
from shipper.queue.mta import Mta, executable

IDS_PER_COMMAND = 500  # postsuper/exim take many IDs per run; keep each command line well under ARG_MAX
EVENT_TYPES = {"delete": ["deletion"], "hold": ["change"], "release": ["change"], "requeue": ["change"],
               "flush": ["change"]}  # fmt: skip


@dataclass
class Selection:
    ids: tuple[str, ...] = ()
    everything: bool = False
    sender: str | None = None
    recipient: str | None = None
    category: str | None = None
    older_than: int | None = None
    queue: str | None = None

    def empty(self) -> bool:
        return not (self.ids or self.everything or self.sender or self.recipient or self.category
                    or self.older_than is not None or self.queue)  # fmt: skip

    def picks(self, message: QueuedMessage) -> bool:
        if self.ids and message.queue_id not in self.ids:
            return False
        if self.sender is not None and message.sender.lower() != self.sender.lower():
            return False
        if self.recipient is not None and self.recipient.lower() not in (r.address.lower() for r in message.recipients):
            return False
        if self.category is not None and message.diagnosis()[0] != self.category:
            return False
        if self.older_than is not None and (message.age_seconds or 0) < self.older_than:
            return False
        return self.queue is None or message.queue == self.queue


def select(messages: list[QueuedMessage], selection: Selection) -> tuple[list[QueuedMessage], list[str]]:
    """The messages the selection picks, and the IDs it named that are not in the queue."""
    picked = [m for m in messages if selection.picks(m)]
    present = {m.queue_id for m in messages}
    return picked, [i for i in selection.ids if i not in present]


@dataclass
class Outcome:
    argv: list[str]
    returncode: int
    output: str


def commands(mta: Mta, action: str, ids: list[str], mta_config: str | None, everything: bool) -> list[list[str]]:
    """The command lines `action` takes (a flush of the whole queue is one command of its own)."""
    if action == "flush" and everything and mta.flush_all:
        return [mta.configured(list(mta.flush_all), mta_config)]
    return [
        mta.action_argv(action, ids[i : i + IDS_PER_COMMAND], mta_config) for i in range(0, len(ids), IDS_PER_COMMAND)
    ]


def run(argv: list[str], timeout: float = 300) -> Outcome:
    """Run one command, no shell; the tool is resolved on PATH and in the MTA's own directories."""
    full = [executable(argv[0]), *argv[1:]]
    try:
        done = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Outcome(full, 127, str(exc))
    return Outcome(full, done.returncode, (done.stdout + done.stderr).strip())


def audit_event(mta: Mta, action: str, ids: list[str], outcomes: list[Outcome], namespace: str) -> dict[str, Any]:
    """What was done, by whom, to which messages and how it ended: an ECS event for logs-mail.queue_audit."""
    failed = [o for o in outcomes if o.returncode != 0]
    return nest({
        "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "message": f"queue {action} of {len(ids)} message(s) on {mta.name}: "
        + ("failed: " + "; ".join(o.output[:200] for o in failed) if failed else "done"),
        "event.kind": "event", "event.dataset": "mail.queue_audit", "event.category": ["email"],
        "event.type": EVENT_TYPES[action], "event.action": f"queue-{action}",
        "event.outcome": "failure" if failed else "success",
        "data_stream.type": "logs", "data_stream.dataset": "mail.queue_audit", "data_stream.namespace": namespace,
        "host.hostname": socket.gethostname(),
        "user.name": getpass.getuser(),
        "process.command_line": "; ".join(shlex.join(o.argv) for o in outcomes),
        "mail.queue.mta": mta.name,
        "mail.queue.ids": ids,
    })  # fmt: skip
