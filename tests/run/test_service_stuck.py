"""A stop that cannot finish (an output that never returns, an exit a thread holds up) is forced after
shutdown_timeout + STUCK_AFTER: every thread's stack is written to stderr and the process exits 1, rather than
hang until systemd kills it. SIGUSR1 writes the stacks and the service goes on."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = """
import sys, time
from shipper.outputs.ndjson import NdjsonOutput
from shipper.run.config import RunConfig
from shipper.run.service import Service

class Stuck(NdjsonOutput):
    def close(self, timeout=None):
        time.sleep(3600)  # an output that never gives its final word

config = RunConfig.model_validate({
    "inputs": [{"paths": [sys.argv[1]]}], "output": {"type": "stdout"},
    "registry": {"path": sys.argv[2]}, "shutdown_timeout": "1s",
})
service = Service(config, None, log=lambda m: print(m, file=sys.stderr, flush=True))
print("ready", file=sys.stderr, flush=True)
if sys.argv[3] == "close":
    service.run(output=lambda ack: Stuck(sys.stdout.buffer, ack, sync=False, owned=False))
else:
    import threading
    service.run()
    if sys.argv[3] == "exit":
        threading.Thread(target=time.sleep, args=(3600,), name="holds-the-exit").start()  # not a daemon
"""


def start(tmp_path: Path, where: str) -> subprocess.Popen[str]:
    log = tmp_path / "mail.log"
    log.write_text("Nov 28 10:00:00 mx postfix/smtpd[7]: connect from a.example[192.0.2.1]\n")
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(log), str(tmp_path / "r.json"), where],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stderr is not None
    assert process.stderr.readline().strip() == "ready"
    time.sleep(1.0)
    return process


def test_a_stop_that_hangs_is_forced_with_every_threads_stack(tmp_path: Path) -> None:
    process = start(tmp_path, "close")
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(60)
    err = process.stderr.read() if process.stderr else ""
    assert code == 1, err
    assert "still stopping" in err and "in close" in err  # where it hung, named
    assert time.monotonic() - started < 30


def test_an_exit_held_up_after_the_stop_is_forced_too(tmp_path: Path) -> None:
    process = start(tmp_path, "exit")
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(60)
    finally:
        process.kill()  # nothing left behind when it hangs
    err = process.stderr.read() if process.stderr else ""
    assert code == 1, err
    assert err.index("stopped: ") < err.index("still stopping")  # forced after the service had returned
    assert err.count("Thread 0x") >= 2, err  # the stacks, the holding thread's among them


def test_sigusr1_writes_every_threads_stack_and_the_service_goes_on(tmp_path: Path) -> None:
    process = start(tmp_path, "exit")
    assert process.stderr is not None
    process.send_signal(signal.SIGUSR1)
    lines = []
    while not any("File " in line for line in lines):
        lines.append(process.stderr.readline())
    assert process.poll() is None  # still running
    assert any("Thread 0x" in line or "Current thread" in line for line in lines), lines
    process.kill()
    process.wait()


def test_signals_while_the_loop_waits_never_deadlock_it(tmp_path: Path) -> None:
    """End to end: a storm of SIGHUPs while the loop reads and waits (each one a byte through the wakeup fd,
    a reload request for the signals thread), then SIGTERM, which must still stop the service within its
    shutdown_timeout. The deadlock a handler could meet is reproduced exactly by the next test."""
    process = start(tmp_path, "plain")
    try:
        for _ in range(3000):
            process.send_signal(signal.SIGHUP)
            time.sleep(0.0005)
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        code = process.wait(20)
    finally:
        process.kill()
    err = process.stderr.read() if process.stderr else ""
    assert code == 0, err[-3000:]
    assert "SIGTERM: draining" in err and "stopped: " in err and "still stopping" not in err, err[-3000:]


HELD = """
import os, signal, sys, time
from shipper.run.config import RunConfig
from shipper.run.service import Service

config = RunConfig.model_validate({"inputs": [{"paths": [sys.argv[1]]}], "output": {"type": "stdout"},
                                   "registry": {"path": sys.argv[2]}})
service = Service(config, None, log=lambda m: print(m, file=sys.stderr, flush=True))
service._install_signals()
for signum, event in ((signal.SIGHUP, service.wake), (signal.SIGTERM, service.stopping)):
    with event._cond:  # where Event.wait holds it: the handler runs on this thread, at a bytecode in here
        os.kill(os.getpid(), signum)
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while not event.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    print(signal.Signals(signum).name, event.is_set(), flush=True)
"""


def test_a_signal_that_finds_the_main_thread_holding_an_events_lock_is_acted_on(tmp_path: Path) -> None:
    """The exact state a storm only finds sometimes: the main thread holds the lock of the Event the signal
    sets (as inside Event.wait). A handler that set it there would wait on its own thread for ever."""
    done = subprocess.run([sys.executable, "-c", HELD, str(tmp_path / "mail.log"), str(tmp_path / "r.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=20)  # fmt: skip
    assert done.stdout.split() == ["SIGHUP", "True", "SIGTERM", "True"], done.stderr[-3000:]
