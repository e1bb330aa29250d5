from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from shipper.run.metrics import ServiceCollector


def test_open_and_evicted_transactions_are_exported():
    state = {
        "lines": 10, "indexed": 9, "already_present": 0, "dead_lettered": 1, "failed": 0, "retries": 2, "depth": 0,
        "files": [("/var/log/mail.log", 100, 120)], "transactions_open": 7, "transactions_evicted": 3,
    }  # fmt: skip
    registry = CollectorRegistry()
    registry.register(ServiceCollector(lambda: state))
    text = generate_latest(registry).decode()
    assert "shipper_transactions_open 7.0" in text
    assert "shipper_transactions_evicted_total 3.0" in text
    assert 'shipper_file_lag_bytes{path="/var/log/mail.log"} 20.0' in text
