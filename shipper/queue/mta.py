"""Per MTA: how to list its queue, what its queue IDs look like, and the commands of each queue action.
Commands are argument lists run without a shell; queue IDs are checked against the MTA's format before
they reach one."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from shipper.enrich.correlate import HELD, held_hint
from shipper.queue import readers
from shipper.queue.model import QueuedMessage
from shipper.queue.readers import Listing, Reader

ACTIONS = ("delete", "hold", "release", "requeue", "flush")
ZIMBRA_SBIN = Path("/opt/zimbra/common/sbin")


@dataclass(frozen=True)
class Mta:
    name: str
    id_format: re.Pattern[str]
    list_command: tuple[str, ...]
    reader: Reader
    # action -> command prefix; the IDs follow (each after `per_id` when the tool wants a flag per ID)
    actions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    per_id: dict[str, str] = field(default_factory=dict)
    flush_all: tuple[str, ...] = ()
    unsupported: str = ""  # why an action is missing
    config_flag: str | None = None  # how its tools take another configuration (Postfix -c DIR, Exim -C FILE)

    def configured(self, argv: list[str], mta_config: str | None) -> list[str]:
        """`argv` for another instance's configuration (inserted after the program name)."""
        if not mta_config:
            return argv
        if self.config_flag is None:
            raise ValueError(f"{self.name}'s tools take no other configuration (--mta-config is for Postfix and Exim)")
        return [argv[0], self.config_flag, mta_config, *argv[1:]]

    def valid_id(self, queue_id: str) -> bool:
        return self.id_format.fullmatch(queue_id) is not None

    def action_argv(self, action: str, ids: list[str], mta_config: str | None = None) -> list[str]:
        """The command for `action` on `ids` (all of them in one run); ValueError for an ID that is not
        this MTA's or an action it has no command for."""
        if action not in self.actions:
            why = f": {self.unsupported}" if self.unsupported else ""
            raise ValueError(f"{self.name} has no '{action}' command{why}")
        bad = [i for i in ids if not self.valid_id(i)]
        if bad:
            raise ValueError(f"not {self.name} queue IDs: {', '.join(bad[:5])}")
        argv = self.configured(list(self.actions[action]), mta_config)
        flag = self.per_id.get(action)
        for queue_id in ids:
            argv += [flag, queue_id] if flag else [queue_id]
        return argv


POSTFIX = Mta(
    "postfix", readers.POSTFIX_ID, ("postqueue", "-j"), readers.postfix_json,
    actions={"delete": ("postsuper",), "hold": ("postsuper",), "release": ("postsuper",),
             "requeue": ("postsuper",), "flush": ("postqueue",)},
    per_id={"delete": "-d", "hold": "-h", "release": "-H", "requeue": "-r", "flush": "-i"},
    flush_all=("postqueue", "-f"), config_flag="-c",
)  # fmt: skip
EXIM = Mta(
    "exim", readers.EXIM_ID, ("exim", "-bp"), readers.exim_bp,
    actions={"delete": ("exim", "-Mrm"), "hold": ("exim", "-Mf"), "release": ("exim", "-Mt"),
             "requeue": ("exim", "-M"), "flush": ("exim", "-M")},
    flush_all=("exim", "-qff"), config_flag="-C",
)  # fmt: skip
SENDMAIL = Mta(
    "sendmail", readers.SENDMAIL_ID, ("mailq",), readers.sendmail_mailq,
    actions={"flush": ("sendmail",)}, per_id={"flush": "-qI"}, flush_all=("sendmail", "-q"),
    unsupported="Sendmail's tools only run the queue (delete or hold a message by moving its qf/df files)",
)  # fmt: skip
QMAIL = Mta(
    "qmail",
    readers.QMAIL_ID,
    ("qmail-qread",),
    readers.qmail_qread,
    unsupported="qmail has no per-message queue commands (use qmHandle, or `svc -a` qmail-send to flush)",
)

MTAS = {m.name: m for m in (POSTFIX, EXIM, SENDMAIL, QMAIL)}


def detect() -> Mta:
    """The MTA whose queue tool is on this machine (Zimbra's Postfix counts as Postfix)."""
    if shutil.which("postqueue") or (ZIMBRA_SBIN / "postqueue").exists():
        return POSTFIX
    for mta, tool in ((EXIM, "exim"), (EXIM, "exim4"), (QMAIL, "qmail-qread"), (SENDMAIL, "mailq")):
        if shutil.which(tool) or (tool == "qmail-qread" and Path("/var/qmail/bin/qmail-qread").exists()):
            return mta
    raise ValueError("no MTA queue tool found (postqueue, exim, qmail-qread, mailq): name one with --mta")


def executable(name: str) -> str:
    """The full path of a queue tool: PATH, then Zimbra's and qmail's own directories, then exim4 for exim."""
    for candidate in (name, "exim4" if name == "exim" else None):
        if candidate and (found := shutil.which(candidate)):
            return found
    for directory in (ZIMBRA_SBIN, Path("/var/qmail/bin")):
        if (directory / name).exists():
            return str(directory / name)
    raise ValueError(f"{name}: not found on PATH, in {ZIMBRA_SBIN} or /var/qmail/bin")


def read_saved(mta: Mta, text: str, now: datetime) -> Listing:
    """Saved output (`--from FILE`): Postfix's may be `postqueue -j` or `postqueue -p`."""
    if mta is POSTFIX and not text.lstrip().startswith("{"):
        return readers.postfix_text(text, now)
    return mta.reader(text, now)


def choose(name: str) -> Mta:
    """`auto` or an MTA's name."""
    if name == "auto":
        return detect()
    if name not in MTAS:
        raise ValueError(f"unknown MTA {name!r}: expected auto, {', '.join(MTAS)}")
    return MTAS[name]


def read_live(mta: Mta, mta_config: str | None, now: datetime, timeout: float = 300) -> Listing:
    """Run the MTA's listing command (no shell) and read its output; ValueError or QueueError on failure."""
    argv = mta.configured([executable(mta.list_command[0]), *mta.list_command[1:]], mta_config)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ValueError(f"{' '.join(argv)} did not answer within {timeout:.0f}s") from None
    if done.returncode != 0:
        raise ValueError(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()[:300]}")
    return mta.reader(done.stdout, now)


HELD_QUEUES = {"hold": "on hold", "frozen": "frozen"}


def diagnose(message: QueuedMessage) -> tuple[str | None, str | None, str | None]:
    """(reason, mail.reason.category, hint) of a queued message. One on hold (Postfix's hold queue, Exim's
    frozen messages) is not waiting for a retry, whatever reply its last attempt had: it says so and names
    the command that releases it."""
    state = HELD_QUEUES.get(message.queue)
    if state is None:
        category, hint = message.diagnosis()
        return message.reason, category, hint
    mta = MTAS.get(message.mta)
    try:
        release = " ".join(mta.action_argv("release", [message.queue_id])) if mta else None
    except ValueError:
        release = None
    return state, HELD, held_hint(release)
