"""The hop forwarder's restart rule: a writer process that cannot start is not started again for
every batch (each start is a Python start-up); its hops are dropped meanwhile."""
from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time

from serverless_lab.tracing import writer_process


def test_a_writer_that_dies_at_once_is_started_at_most_once_per_interval(monkeypatch):
    spawned: list[subprocess.Popen[bytes]] = []

    def broken_child() -> subprocess.Popen[bytes]:  # a child whose start-up fails, as a broken install's would
        child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"], stdin=subprocess.PIPE, bufsize=0)
        child.wait(10)
        spawned.append(child)
        return child

    monkeypatch.setattr(writer_process, "_spawn", broken_child)
    monkeypatch.setattr(writer_process, "_RESTART_EVERY_S", 30.0)
    items: queue.SimpleQueue = queue.SimpleQueue()
    thread = threading.Thread(target=writer_process.forward, args=(items,), daemon=True)
    thread.start()
    for batch in range(6):
        items.put(("a finished call", batch))
        time.sleep(0.05)
    items.put(None)
    thread.join(30)
    assert not thread.is_alive()
    assert len(spawned) == 1
