"""A synchronous invoke queues its runtime task without ``apply_async`` (``runtime.tasks.
request_response_message``, pushed by the lease script): the message must be the one Celery would
publish, or the worker would not run it the same way."""

from __future__ import annotations

import base64
import json

from kombu import Connection

from serverless_lab.runtime.tasks import RUNTIME_QUEUE, invoke_request_response, request_response_message

REQUEST = {
    "sandbox_id": 1,
    "function_id": 2,
    "version": "$LATEST",
    "config_token": "t",
    "request_id": "5b0f0000-0000-4000-8000-000000000001",
    "trace_header": "Root=1-00000000-000000000000000000000000",
    "accepted_at": 1.5,
}
PAYLOAD = base64.b64encode(b'{"n": 1}').decode()
PER_MESSAGE = {"id", "root_id", "argsrepr", "kwargsrepr", "origin"}  # headers that differ between two publishes


def test_the_runtime_message_is_the_one_celery_publishes():
    with Connection("memory://") as connection:
        invoke_request_response.apply_async(
            args=[REQUEST, PAYLOAD], kwargs={"client_context": "cc"}, soft_time_limit=33, time_limit=43,
            connection=connection,
        )  # fmt: skip
        celerys = connection.default_channel._get(RUNTIME_QUEUE)
    key, raw = request_response_message(REQUEST, PAYLOAD, client_context="cc", time_limit=43, soft_time_limit=33)
    ours = json.loads(raw)

    prefix = invoke_request_response.app.conf.broker_transport_options.get("global_keyprefix", "")
    assert key == prefix + RUNTIME_QUEUE
    assert ours.keys() == celerys.keys()
    assert {k: v for k, v in ours.items() if k not in ("headers", "properties", "body")} == {
        k: v for k, v in celerys.items() if k not in ("headers", "properties", "body")
    }
    assert ours["headers"].keys() == celerys["headers"].keys()
    assert {k: v for k, v in ours["headers"].items() if k not in PER_MESSAGE} == {
        k: v for k, v in celerys["headers"].items() if k not in PER_MESSAGE
    }
    assert ours["headers"]["root_id"] == ours["headers"]["id"] == ours["properties"]["correlation_id"]
    assert ours["properties"].keys() == celerys["properties"].keys()
    for name in ("delivery_info", "delivery_mode", "priority", "body_encoding"):
        assert ours["properties"][name] == celerys["properties"][name]
    body = json.loads(base64.b64decode(ours["body"]))
    assert body == json.loads(base64.b64decode(celerys["body"]))
    assert body[:2] == [[REQUEST, PAYLOAD], {"client_context": "cc"}]
