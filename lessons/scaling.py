"""The auto-scaling demo of "What is Serverless": fire a burst of simultaneous synchronous invokes at
a small function in the student's sandbox, and plot how many ran at once.

The burst runs in the Celery worker and goes through the lab's ``/aws/`` endpoint like any client,
so throttling is Lambda's own: past the sandbox's concurrency limit an invoke is answered at once
with 429 ``TooManyRequestsException``. The plot is built from the ``Invocation`` rows the runtime
wrote (``serverless_lab/cloud/lambda_/models.py``), not from what the client measured.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.utils.timezone import now

from lessons import editor

FUNCTION = "scaling-demo"
SLEEP_SECONDS = 0.25
MAX_BURST = 30
SOURCE = f"""import time


def lambda_handler(event, context):
    time.sleep({SLEEP_SECONDS})  # long enough for the burst's requests to overlap
    return {{"request": event.get("n")}}
"""


@dataclass
class Burst:
    started: datetime
    request_ids: list[str] = field(default_factory=list)
    throttled_at: list[datetime] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def fire(session: Any, *, size: int) -> Burst:
    """Deploy the demo function if needed, then send ``size`` invokes at once (no retries)."""
    editor.deploy(session, function=FUNCTION, code=SOURCE)
    client = session.client(
        "lambda",
        config=Config(
            retries={"total_max_attempts": 1}, max_pool_connections=size, connect_timeout=5, read_timeout=120
        ),
    )
    burst = Burst(started=now())

    def one(number: int) -> tuple[str, Any]:
        try:
            response = client.invoke(FunctionName=FUNCTION, Payload=b'{"n": %d}' % number)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TooManyRequestsException":
                return "throttled", now()
            return "error", exc.response.get("Error", {}).get("Message", str(exc))
        except BotoCoreError as exc:
            return "error", str(exc)
        return "ok", response["ResponseMetadata"].get("RequestId", "")

    with ThreadPoolExecutor(max_workers=size) as pool:
        for outcome, value in pool.map(one, range(size)):
            if outcome == "ok":
                burst.request_ids.append(value)
            elif outcome == "throttled":
                burst.throttled_at.append(value)
            else:
                burst.errors.append(value)
    return burst


def concurrency_steps(intervals: list[tuple[float, float]]) -> tuple[list[float], list[int]]:
    """A step series (x, y) of how many ``(start, end)`` intervals overlap at each moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    xs, ys, level = [0.0], [0], 0
    for moment, change in events:
        level += change
        if xs[-1] == moment:
            ys[-1] = level
        else:
            xs.append(moment)
            ys.append(level)
    return xs, ys
