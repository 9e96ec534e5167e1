"""Invocation log lines land after the caller has its answer, written by each worker process's log
writer in batches (one per stream): a burst of invokes must leave every line exactly once, each
invocation's lines together and in order, and the Invocation rows complete when Invoke returns."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from serverless_lab.cloud.lambda_.models import Invocation

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHATTY = "def handler(event, context):\n    print('working on', event['n'])\n    return event['n']\n"
BURST = 24


def stream_messages(logs: Any, group: str, expected_reports: int, timeout: float = 20.0) -> dict[str, list[str]]:
    """Every stream's messages from the head, once ``expected_reports`` REPORT lines have landed."""
    deadline = time.monotonic() + timeout
    streams: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        try:
            names = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]
        except logs.exceptions.ResourceNotFoundException:  # the group comes with the first lines written
            names = []
        streams = {}
        for name in names:
            page = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True, limit=10000)
            streams[name] = [event["message"] for event in page["events"]]
        if sum(message.startswith("REPORT") for lines in streams.values() for message in lines) >= expected_reports:
            return streams
        time.sleep(0.2)
    raise AssertionError(f"expected {expected_reports} REPORT lines in {group}, saw {streams}")


def test_a_burst_of_invokes_leaves_each_log_line_once_and_in_order(live_lab, lambda_client, create_python, cast):
    create_python("chatty", CHATTY)

    def invoke(n: int) -> dict[str, Any]:
        response = lambda_client.invoke(FunctionName="chatty", Payload=json.dumps({"n": n}))
        assert json.loads(response["Payload"].read()) == n
        return response

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(invoke, range(BURST)))
    # The row is complete before the caller is answered; only the log lines may come later.
    rows = Invocation.objects.filter(function__name="chatty")
    assert sorted(rows.values_list("status", flat=True)) == ["succeeded"] * BURST

    logs = live_lab.client("logs", cast.sandbox)
    streams = stream_messages(logs, "/aws/lambda/chatty", BURST)
    seen: dict[str, list[str]] = {}
    for lines in streams.values():
        current = None
        for message in lines:
            if message.startswith("START RequestId: "):
                current = message.split()[2]
                assert current not in seen, f"{current} logged twice"
                seen[current] = []
            assert current is not None, f"{message!r} before any START"
            seen[current].append(message)
    by_request = {r["ResponseMetadata"]["RequestId"]: n for n, r in enumerate(responses)}
    assert set(seen) == set(by_request)
    for request_id, lines in seen.items():
        assert lines[1:] == [f"working on {by_request[request_id]}", f"END RequestId: {request_id}", lines[3]]
        assert lines[3].startswith(f"REPORT RequestId: {request_id}\t")
