"""The Celery workers a lab runs, as command lines: ``runlab``, the live lab of the tests and the
benchmarks start the same ones.

* ``worker``: the ``default`` and ``delivery`` queues in a prefork pool (exercise checks, S3/SNS/SQS
  deliveries, event source mapping polls), where Celery's time limits and its handling of a child
  that dies apply.
* ``runtime``: the ``runtime`` queue (Lambda invocations) in a thread pool. A task's work is waiting on
  a sandbox's processes, the database and Redis, so threads serve it; one process then keeps every
  warm execution environment, and a task reaches its thread without prefork's pipe and hand-off
  between processes (0.5-1 ms less CPU per warm invoke, docs/runtime.md "Third session"). The
  environment's wall-clock kill at the function's timeout bounds a task, which the thread pool
  cannot interrupt.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

APP = "serverless_lab.celery"


@dataclass(frozen=True)
class WorkerCommand:
    label: str  # "worker" or "runtime": for logs and messages
    node: str  # the node name before "@<host>", which answers Celery's ping
    argv: list[str]


def worker_commands(*, concurrency: int, name: str, loglevel: str, extra: Sequence[str] = ()) -> list[WorkerCommand]:
    """The workers to start: ``concurrency`` processes for the default and delivery queues (node
    ``<name>``) and as many threads for the runtime queue (node ``<name>-runtime``)."""
    base = [sys.executable, "-m", "celery", "-A", APP, "worker", "--loglevel", loglevel, *extra]
    runtime = f"{name}-runtime"
    return [
        WorkerCommand("worker", name, [*base, "-Q", "default,delivery", "-c", str(concurrency), "-n", f"{name}@%h"]),
        WorkerCommand(
            "runtime", runtime, [*base, "-Q", "runtime", "-P", "threads", "-c", str(concurrency), "-n", f"{runtime}@%h"]
        ),
    ]
