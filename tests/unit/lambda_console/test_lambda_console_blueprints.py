"""Blueprints are correct handlers: each one that needs no AWS call runs on its own test event
(Python in-process, Node.js on the host's node), and every test event template is valid JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import types
from pathlib import Path
from typing import Any

import pytest

from serverless_lab.cloud.lambda_ import backend, blueprints, test_events
from serverless_lab.cloud.lambda_.test_events import TEMPLATES

# These call S3 or DynamoDB; tests/browser/test_lambda_console.py runs them against the live lab.
NEEDS_AWS = {"s3-object-python", "dynamodb-crud-python", "dynamodb-crud-nodejs"}
LOCAL = sorted(set(blueprints.BLUEPRINTS) - NEEDS_AWS)

EXPECTED = {
    "hello-world": lambda result: result["message"] == "Hello, world!",
    "s3-object": lambda result: result["objects"] == [{"bucket": "example-bucket", "key": "test/key", "size": 1024}],
    "sqs-consumer": lambda result: result == {"batchItemFailures": []},
    "api-handler": lambda result: (
        result["statusCode"] == 201
        and json.loads(result["body"]) == {"received": {"test": "body"}, "path": "/path/to/resource"}
    ),
}


def _kind(key: str) -> str:
    return key.rsplit("-", 1)[0]


def _run_python(blueprint: blueprints.Blueprint, event: Any) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(blueprint.source, blueprint.filename, "exec"), namespace)
    context = types.SimpleNamespace(aws_request_id="req-1", function_name="f")
    return namespace["lambda_handler"](event, context)


def _run_node(blueprint: blueprints.Blueprint, event: Any, tmp_path: Path) -> Any:
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    (tmp_path / blueprint.filename).write_text(blueprint.source)
    runner = tmp_path / "run.mjs"
    runner.write_text(
        f"import {{ handler }} from './{blueprint.filename}';\n"
        "const event = JSON.parse(process.argv[2]);\n"
        "const result = await handler(event, { awsRequestId: 'req-1' });\n"
        "process.stdout.write('\\n' + JSON.stringify(result));\n"
    )
    done = subprocess.run(["node", str(runner), json.dumps(event)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.rsplit("\n", 1)[-1])


@pytest.mark.parametrize("key", LOCAL)
def test_blueprint_handles_its_own_test_event(key, tmp_path):
    blueprint = blueprints.BLUEPRINTS[key]
    event = TEMPLATES[blueprint.test_event].event
    if blueprint.language == "python":
        result = _run_python(blueprint, event)
    else:
        result = _run_node(blueprint, event, tmp_path)
    assert EXPECTED[_kind(key)](result), result


def test_sqs_consumer_reports_only_the_failed_message():
    blueprint = blueprints.BLUEPRINTS["sqs-consumer-python"]
    good = TEMPLATES["sqs"].event["Records"][0]
    bad = good | {"messageId": "bad-1", "body": None}  # json.loads(None) raises TypeError
    result = _run_python(blueprint, {"Records": [good, bad]})
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}


def test_api_handler_answers_get_and_refuses_other_methods():
    blueprint = blueprints.BLUEPRINTS["api-handler-python"]
    get = _run_python(blueprint, {"httpMethod": "GET", "path": "/hi", "queryStringParameters": {"name": "Ada"}})
    assert get["statusCode"] == 200 and json.loads(get["body"])["message"] == "Hello, Ada!"
    assert _run_python(blueprint, {"httpMethod": "DELETE"})["statusCode"] == 405
    bad = _run_python(blueprint, {"httpMethod": "POST", "body": "not json"})
    assert bad["statusCode"] == 400


def test_every_blueprint_runs_on_a_supported_runtime_and_names_a_template():
    for blueprint in blueprints.BLUEPRINTS.values():
        assert blueprint.runtime in backend.SUPPORTED_RUNTIMES
        assert blueprint.test_event in TEMPLATES
        module = blueprint.handler.rsplit(".", 1)[0]
        assert blueprint.filename.startswith(module + ".")
    kinds = {_kind(key) for key in blueprints.BLUEPRINTS}
    assert kinds == {"hello-world", "s3-object", "dynamodb-crud", "sqs-consumer", "api-handler"}


def test_templates_are_json_objects_in_awss_shapes():
    for template in TEMPLATES.values():
        assert isinstance(json.loads(template.text()), dict)
        assert test_events.NAME_RE.match(template.key)
    assert TEMPLATES["s3-put"].event["Records"][0]["eventName"] == "ObjectCreated:Put"
    assert TEMPLATES["sqs"].event["Records"][0]["eventSource"] == "aws:sqs"
    assert TEMPLATES["sns"].event["Records"][0]["EventSource"] == "aws:sns"
    assert TEMPLATES["eventbridge"].event["detail-type"] == "Scheduled Event"
    assert [r["eventName"] for r in TEMPLATES["dynamodb-stream"].event["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    assert TEMPLATES["apigateway-proxy"].event["requestContext"]["stage"] == "prod"
