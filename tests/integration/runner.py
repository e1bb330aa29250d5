"""`shipper run` driven by the integration tests: a subprocess with a config of its own, a writer that
appends at a steady rate, and counts of what reached the cluster."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def generated_lines(count: int, seed: int = 11) -> list[bytes]:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_postfix_log.py"), "--lines", str(count),
                           "--seed", str(seed)], capture_output=True, check=True)  # fmt: skip
    return done.stdout.splitlines(keepends=True)


STARTED: list[subprocess.Popen[bytes]] = []  # every `shipper run` a test started: killed after it, whatever it did


class Shipper:
    """`shipper run` in a subprocess with a config of its own in a temporary directory."""

    def __init__(self, tmp: Path, es_url: str, namespace: str, paths: list[str], **overrides: Any) -> None:
        self.tmp = tmp
        self.namespace = namespace
        settings: dict[str, Any] = {
            "inputs": [{"paths": paths, "source": "postfix"}],
            "output": {"elasticsearch": {"hosts": [es_url], "namespace": namespace, "setup": True,
                                         "batch_size": 500, "request_timeout": "3s", "max_backoff": "1s"}},
            "registry": {"path": str(tmp / "registry.json"), "flush_interval": "200ms"},
            "timezone": "UTC",
            "scan_interval": "200ms",
            "partial_line_timeout": "1s",
            "status_interval": "2s",
            "shutdown_timeout": "10s",
        }  # fmt: skip
        settings.update(overrides)
        self.config = tmp / "shipper.yml"
        self.config.write_text(json.dumps(settings))  # JSON is YAML
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        log = self.tmp / f"run-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = subprocess.Popen([sys.executable, "-m", "shipper", "run", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=log.open("wb"), cwd=ROOT)  # fmt: skip
        STARTED.append(self.process)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit status, which must be 0: otherwise the failure shows the service's log. One
        still running after `timeout` is asked for its threads' stacks (SIGUSR1), which the log then ends with,
        and killed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"shipper run still running {timeout:g}s after SIGTERM:\n{self.log()[-8000:]}"
            ) from None
        if code != 0:
            raise AssertionError(f"shipper run exited {code} after SIGTERM:\n{self.log()[-8000:]}")
        return code

    def rss_mib(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def indexed(es: Any, namespace: str) -> int:
    from elasticsearch import ApiError

    index = f"logs-mail.*-{namespace}"
    try:
        es.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
        return es.count(index=index, ignore_unavailable=True, allow_no_indices=True)["count"]
    except ApiError as exc:
        if exc.status_code == 503:  # a data stream still being created
            return 0
        raise


def wait_for(es: Any, shipper: Shipper, count: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    seen = indexed(es, shipper.namespace)
    while seen < count and time.monotonic() < deadline:
        assert shipper.alive(), f"shipper run died:\n{shipper.log()[-3000:]}"
        time.sleep(0.3)
        seen = indexed(es, shipper.namespace)
    return seen


class Writer(threading.Thread):
    """Appends lines at a steady rate, the way syslog does: one open descriptor, reopened on request."""

    def __init__(self, path: Path, lines: list[bytes], per_second: int) -> None:
        super().__init__(daemon=True)
        self.path, self.lines, self.delay = path, lines, 1 / per_second
        self.lock = threading.Lock()
        self.written = 0
        self.reopen = threading.Event()
        self.stopped = threading.Event()  # set: no more lines after the current one
        self.handle = path.open("ab", buffering=0)

    def run(self) -> None:
        for line in self.lines:
            if self.stopped.is_set():
                break
            with self.lock:
                if self.reopen.is_set():
                    self.handle.close()
                    self.handle = self.path.open("ab", buffering=0)
                    self.reopen.clear()
                self.handle.write(line)
                self.written += 1
            time.sleep(self.delay)
        self.handle.close()

    def wait_written(self, count: int) -> None:
        while self.written < count and self.is_alive():
            time.sleep(0.05)
