"""`shipper run`, `check-config` and `status`: the long-running service and its configuration."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    ConfigOption,
    error,
    load_run_config,
    log_line,
)
from shipper.core.durations import human_age
from shipper.terminal import printable


def run(config: ConfigOption) -> None:
    """Follow log files through rotation and ship every line (to Elasticsearch, stdout or a file).

    Offsets are kept in a registry that only advances once the output has confirmed the lines, so a crash
    or restart re-sends at most the unconfirmed tail, which idempotent event ids make harmless.
    """
    from elasticsearch import ApiError

    from shipper.elastic.connection import ConnectionSettingsError, describe_error
    from shipper.receive.syslog_input import InputError
    from shipper.run.registry import RegistryError
    from shipper.run.service import Service

    settings = load_run_config(config)
    try:
        status = Service(settings, config, log_line).run()
    except (ConnectionSettingsError, RegistryError, InputError) as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except ApiError as exc:  # refused for good, e.g. setup without the privileges it needs
        error(f"Elasticsearch: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    raise typer.Exit(status)


def check_config(config: ConfigOption) -> None:
    """Validate a configuration and show what it will follow; exit 2 with every problem named if it is wrong."""
    import glob as globbing

    from shipper.elastic.connection import redact
    from shipper.outputs.config import ElasticsearchOutputConfig, FileOutputConfig

    settings = load_run_config(config, lenient=True)
    out = settings.output
    if isinstance(out, FileOutputConfig):
        target = f"file {out.path}"
    elif isinstance(out, ElasticsearchOutputConfig):
        where = ", ".join(map(redact, out.hosts)) or ("cloud id" if out.cloud_id else "hosts from the environment")
        target = f"Elasticsearch ({where}), namespace {out.namespace}"
    else:
        target = out.type
    typer.echo(f"{config}: OK; output: {target}; registry: {settings.registry.path}")
    geoip = f"; geoip: {', '.join(settings.geoip.database)}" if settings.geoip else ""
    typer.echo(f"  host.name: {settings.effective_host_name()}; time zone for lines without one: "
               f"{settings.timezone}{geoip}")  # fmt: skip
    for item in settings.effective_inputs():
        for pattern in item.paths:
            matches = (
                globbing.glob(pattern) if globbing.has_magic(pattern) else [p for p in [pattern] if Path(p).exists()]
            )
            typer.echo(f"  {pattern}  source={item.source or 'by program'}  now matches {len(matches)} file(s)")
    for receiver in settings.syslog_inputs():
        store = (
            f"spool {receiver.spool.path} (at most {receiver.spool.max_size.human_readable()})"
            if receiver.spool
            else f"memory queue ({receiver.memory_queue.human_readable()}, lost if shipper dies)"
        )
        typer.echo(f"  syslog on {', '.join(receiver.listen)}  source={receiver.source or 'by program'}  {store}")
    for journal in settings.journald_inputs():
        where = str(journal.directory or "") or ", ".join(map(str, journal.files)) or "this machine's journal"
        filters = " ".join([*(f"unit={u}" for u in journal.units), *(f"identifier={i}" for i in journal.identifiers),
                            *journal.matches]) or "every entry"  # fmt: skip
        typer.echo(f"  journald: {where}  {filters}")


def status(config: ConfigOption) -> None:
    """Whether `shipper run` is running on this registry, when it last saved, and every followed file: the
    offset shipped and confirmed, how far behind it is, and a rotated file under the name it has now.

    Reads the registry and its lock only: it needs neither the output nor its credentials. Exit status 0."""
    import os
    from datetime import datetime

    from shipper.run.registry import Registry, RegistryError, RunLock

    settings = load_run_config(config, lenient=True)
    path = settings.registry.path
    try:
        registry = Registry.load(path)
    except RegistryError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_FAILED) from None
    holder = RunLock(path).holder()
    if holder is None:
        typer.echo("shipper run: not running on this registry")
    else:
        since = holder.get("started")
        when = f", since {datetime.fromtimestamp(since).isoformat(timespec='seconds')}" if since else ""
        typer.echo(f"shipper run: running (pid {holder.get('pid', '?')}{when})")
    try:
        saved = os.stat(path).st_mtime
        age = human_age(int(time.time() - saved))
        typer.echo(f"last shipped: {datetime.fromtimestamp(saved).isoformat(timespec='seconds')} ({age} ago),"
                   f" registry {path}")  # fmt: skip
    except OSError:
        typer.echo(f"last shipped: never (no registry at {path})")
    if registry.cursors:
        typer.echo(f"journal: {len(registry.cursors)} input(s) with a confirmed cursor")
    if not registry.files:
        typer.echo("no files shipped yet")
        return
    typer.echo(f"{'offset':>14} {'size':>14} {'lag':>12}  state     path")
    for state in sorted(registry.files.values(), key=lambda s: (s.finished, s.path)):
        try:
            st = os.stat(state.path)
            same = (st.st_dev, st.st_ino) == (state.device, state.inode)
        except OSError:
            st, same = None, False
        where = state.path if same else _current_name(state.path, state.device, state.inode)
        size = st.st_size if st is not None and same else _size(where) if where else state.size
        lag = max(0, size - state.offset)
        kind = "finished" if state.finished else "following" if same else "rotated" if where else "gone"
        shown = state.path if same or where is None else f"{where} (was {state.path})"
        typer.echo(f"{state.offset:>14} {size:>14} {lag:>12}  {kind:<9} {printable(shown)}")


def _current_name(path: str, device: int, inode: int) -> str | None:
    """Where a rotated file is now: the entry of its directory with its device and inode (mail.log.1)."""
    import os

    directory = os.path.dirname(path) or "."
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    for name in names:
        candidate = os.path.join(directory, name)
        try:
            st = os.stat(candidate, follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (device, inode):
            return candidate
    return None


def _size(path: str) -> int:
    import os

    try:
        return os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return 0


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper run -c /etc/shipper/shipper.yml\n\n"
            "  shipper run -c examples/shipper.yml   # kill -HUP to reload inputs, kill -TERM to drain and stop\n\n"
            "Exit status: 0 after a clean stop, 1 when the output or registry failed, 2 for a bad config."
        )
    )(run)
    app.command("check-config", epilog="Example:\n\n  shipper check-config -c /etc/shipper/shipper.yml")(check_config)
    app.command(epilog="Example:\n\n  shipper status -c /etc/shipper/shipper.yml")(status)
