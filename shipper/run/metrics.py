"""Prometheus metrics for `shipper run`: read from the running service at each scrape (no bookkeeping of
their own), served by prometheus_client on localhost unless configured otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class ServiceCollector(Collector):
    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        state = self.snapshot()
        yield CounterMetricFamily("shipper_lines_read", "Lines read from files", value=state["lines"])
        outcomes = CounterMetricFamily("shipper_events", "Events by final outcome in the output", labels=["outcome"])
        for outcome in ("indexed", "already_present", "dead_lettered", "failed"):
            outcomes.add_metric([outcome], state[outcome])
        yield outcomes
        yield CounterMetricFamily(
            "shipper_message_documents",
            "Message (transaction) and queue snapshot documents written",
            value=state.get("documents", 0),
        )
        yield CounterMetricFamily("shipper_output_retries", "Bulk requests retried", value=state["retries"])
        yield GaugeMetricFamily(
            "shipper_transactions_open", "Message transactions held open", value=state["transactions_open"]
        )
        yield CounterMetricFamily(
            "shipper_transactions_evicted",
            "Open message transactions given up at the cap or ttl (emitted incomplete)",
            value=state["transactions_evicted"],
        )
        yield GaugeMetricFamily("shipper_output_queue_batches", "Batches waiting for the output", value=state["depth"])
        lag = GaugeMetricFamily("shipper_file_lag_bytes", "Bytes not yet confirmed by the output", labels=["path"])
        offset = GaugeMetricFamily("shipper_file_offset_bytes", "Offset confirmed by the output", labels=["path"])
        for path, confirmed, size in state["files"]:
            lag.add_metric([path], max(0, size - confirmed))
            offset.add_metric([path], confirmed)
        yield lag
        yield offset
        received = CounterMetricFamily(
            "shipper_syslog_received", "Syslog messages received, per input and sender host", labels=["input", "host"]
        )
        dropped = CounterMetricFamily(
            "shipper_syslog_dropped", "UDP syslog messages dropped while the store was full", labels=["input", "host"]
        )
        held = GaugeMetricFamily("shipper_syslog_held_bytes", "Bytes received and not yet confirmed", labels=["input"])
        connections = GaugeMetricFamily("shipper_syslog_connections", "Open TCP/TLS connections", labels=["input"])
        for receiver in state.get("syslog", []):
            name = receiver["name"]
            for host, count in receiver["received"].items():
                received.add_metric([name, host], count)
            for host, count in receiver["dropped"].items():
                dropped.add_metric([name, host], count)
            held.add_metric([name], receiver["held_bytes"])
            connections.add_metric([name], receiver["connections"])
        yield from (received, dropped, held, connections)


def serve(host: str, port: int, snapshot: Callable[[], dict[str, Any]]) -> Any:
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    registry.register(ServiceCollector(snapshot))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
