"""The output a configuration names, built behind the one `Output` interface (outputs/base.py).

Adding an output: a module with a class that implements `Output`, a config model with its own `type:`
in run/config.py's `OutputConfig`, and a branch here. The service and the pipeline do not change.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from shipper.files import open_append
from shipper.outputs.base import Ack, Output
from shipper.outputs.config import ElasticsearchOutputConfig, FileOutputConfig, OutputConfig
from shipper.outputs.ndjson import NdjsonOutput


def open_output(
    config: OutputConfig, ack: Ack, *, queue_batches: int, log: Callable[[str], None], stopping: threading.Event
) -> Output:
    if isinstance(config, FileOutputConfig):
        config.path.parent.mkdir(parents=True, exist_ok=True)
        return NdjsonOutput(open_append(config.path), ack, sync=True, owned=True)
    if isinstance(config, ElasticsearchOutputConfig):
        return _elasticsearch(config, ack, queue_batches, log, stopping)
    return NdjsonOutput(sys.stdout.buffer, ack, sync=False, owned=False)


def _elasticsearch(
    config: ElasticsearchOutputConfig, ack: Ack, queue_batches: int, log: Callable[[str], None],
    stopping: threading.Event,
) -> Output:  # fmt: skip
    from shipper.outputs.elasticsearch import BulkSettings, BulkWriter, ElasticsearchOutput

    client = config.settings().connection().client()
    if config.setup:
        _setup(client, config.max_backoff, log, stopping)
    settings = BulkSettings(
        max_docs=config.batch_size, max_bytes=int(config.batch_mb * 1024 * 1024), retry_for=None,
        max_backoff=config.max_backoff, queue_batches=queue_batches,
    )  # fmt: skip
    writer = BulkWriter(client, settings, config.namespace, on_retry=lambda m: log(f"warning: {m}"))
    return ElasticsearchOutput(writer, ack=ack)


def _setup(client: Any, max_backoff: float, log: Callable[[str], None], stopping: threading.Event) -> None:
    """Install the templates; a cluster not up yet (shipper started at boot before it) is waited for."""
    from elasticsearch import ApiError, TransportError

    from shipper.elastic.connection import describe_error
    from shipper.elastic.setup import run_setup
    from shipper.elastic.templates import LifecycleAges

    backoff = 0.5
    while not stopping.is_set():
        try:
            report = run_setup(client, LifecycleAges())
        except (TransportError, ApiError) as exc:
            if isinstance(exc, ApiError) and exc.status_code not in (429, 500, 502, 503, 504):
                raise
            log(f"warning: setup: {describe_error(exc)}; retrying in {backoff:g}s")
            stopping.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
            continue
        for note in report.notes:
            log(f"setup: {note}")
        return
