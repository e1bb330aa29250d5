"""Queue actions: pick messages, build the MTA's command, run it (only with --yes), and describe what was
done as an audit event."""

from __future__ import annotations

import os
import pwd
import shlex
import socket
import subprocess
from dataclasses import dataclass
from typing import Any

from shipper.core.event import nest
from shipper.core.timefmt import now_iso
from shipper.queue.model import QueuedMessage
from shipper.queue.mta import Mta, diagnose, executable

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
        return not (self.ids or self.everything or self.filtered())

    def filtered(self) -> bool:
        """Anything but `--all` narrows the choice (`--sender ''` too: the bounces)."""
        return any(v is not None for v in (self.sender, self.recipient, self.category, self.older_than, self.queue))

    def picks(self, message: QueuedMessage) -> bool:
        if self.ids and message.queue_id not in self.ids:
            return False
        if self.sender is not None and message.sender.lower() != self.sender.lower():
            return False
        if self.recipient is not None and self.recipient.lower() not in (r.address.lower() for r in message.recipients):
            return False
        if self.category is not None and diagnose(message)[1] != self.category:
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


def batches(mta: Mta, action: str, ids: list[str], mta_config: str | None,
            everything: bool) -> list[tuple[list[str], list[str]]]:  # fmt: skip
    """(command line, the queue IDs it acts on) for each command `action` takes: IDS_PER_COMMAND at a
    time, or for a flush of the whole queue one command of its own (`everything` means the whole queue,
    not `--all` narrowed by a filter)."""
    if action == "flush" and everything and mta.flush_all:
        return [(mta.configured(list(mta.flush_all), mta_config), ids)]
    chunks = [ids[i : i + IDS_PER_COMMAND] for i in range(0, len(ids), IDS_PER_COMMAND)]
    return [(mta.action_argv(action, chunk, mta_config), chunk) for chunk in chunks]


def run(argv: list[str], timeout: float = 300) -> Outcome:
    """Run one command, no shell; the tool is resolved on PATH and in the MTA's own directories."""
    full = [executable(argv[0]), *argv[1:]]
    try:
        done = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Outcome(full, 127, str(exc))
    return Outcome(full, done.returncode, (done.stdout + done.stderr).strip())


def caller() -> dict[str, str]:
    """Who runs the action: under sudo the account that called sudo (the real uid is root's, and only then
    is SUDO_USER believed), else the real uid's account, never LOGNAME (anyone can set it)."""
    uid, euid = os.getuid(), os.geteuid()
    if uid == 0 and os.environ.get("SUDO_USER") and os.environ.get("SUDO_UID", "").isdigit():
        name, user_id = os.environ["SUDO_USER"], os.environ["SUDO_UID"]
    else:
        name, user_id = _account(uid), str(uid)
    return {"user.name": name, "user.id": user_id, "user.effective.name": _account(euid)}


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def audit_event(mta: Mta, action: str, ids: list[str], argvs: list[list[str]], namespace: str, audit_id: str,
                sequence: int, outcomes: list[Outcome] | None = None) -> dict[str, Any]:  # fmt: skip
    """An ECS event for logs-mail.queue_audit: the intent before anything runs (sequence 0, outcome
    unknown, every command planned), then one per batch run (its commands, IDs and how they ended)."""
    if outcomes is None:
        outcome, what = "unknown", f"about to run {len(argvs)} command(s)"
    else:
        failed = [o for o in outcomes if o.returncode != 0]
        outcome = "failure" if failed else "success"
        what = f"batch {sequence}: " + ("failed: " + "; ".join(o.output[:200] for o in failed) if failed else "done")
    return nest({
        "@timestamp": now_iso(),
        "message": f"queue {action} of {len(ids)} message(s) on {mta.name}: {what}",
        "event.kind": "event", "event.dataset": "mail.queue_audit", "event.category": ["email"],
        "event.type": EVENT_TYPES[action], "event.action": f"queue-{action}", "event.outcome": outcome,
        "event.sequence": sequence,
        "data_stream.type": "logs", "data_stream.dataset": "mail.queue_audit", "data_stream.namespace": namespace,
        "host.hostname": socket.gethostname(),
        **caller(),
        "process.command_line": "; ".join(map(shlex.join, argvs if outcomes is None else [o.argv for o in outcomes])),
        "mail.queue.mta": mta.name,
        "mail.queue.ids": ids,
        "mail.queue.audit_id": audit_id,
    })  # fmt: skip
