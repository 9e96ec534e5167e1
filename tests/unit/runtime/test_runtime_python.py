"""Python functions in real sandboxes: results, context, variables, errors, limits, logs, boto3."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from serverless_lab.runtime import ExecutionEnvironment, FunctionSpec

Start = Callable[[FunctionSpec], ExecutionEnvironment]
Write = Callable[..., Path]
MakeSpec = Callable[..., FunctionSpec]

HELLO = """
import json, os
print("initialising")

def handler(event, context):
    print("hello from", context.function_name)
    return {"echo": event, "uid": os.getuid(), "cwd": os.getcwd()}
"""


def test_hello_world_runs_as_the_sandbox_user_in_var_task(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    env = environments(make_spec(write_code({"lambda_function.py": HELLO})))
    result = env.invoke(b'{"name": "alice"}', request_id="req-1")
    assert result.status == "ok" and result.function_error is None
    assert json.loads(result.payload) == {"echo": {"name": "alice"}, "uid": 993, "cwd": "/var/task"}
    assert "hello from fn\n" in result.log


def test_the_first_invoke_is_cold_and_the_next_one_warm(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    env = environments(make_spec(write_code({"lambda_function.py": HELLO})))
    cold = env.invoke(b"{}", request_id="req-cold")
    warm = env.invoke(b"{}", request_id="req-warm")
    assert cold.cold and cold.init_duration_ms is not None and cold.init_duration_ms > 0
    assert not warm.cold and warm.init_duration_ms is None
    assert env.invocations == 2 and env.state == "ready" and env.idle_since is not None
    # INIT output is logged before START, once; the REPORT of a cold start carries Init Duration.
    assert cold.log.startswith("initialising\nSTART RequestId: req-cold Version: $LATEST\n")
    assert "\tInit Duration: " in cold.log.splitlines()[-1]
    assert "initialising" not in warm.log and "Init Duration" not in warm.log
    lines = warm.log.splitlines()
    assert lines[0] == "START RequestId: req-warm Version: $LATEST"
    assert lines[-2] == "END RequestId: req-warm"
    assert lines[-1].startswith("REPORT RequestId: req-warm\tDuration: ")
    assert f"\tMemory Size: 128 MB\tMax Memory Used: {warm.max_memory_used_mb} MB" in lines[-1]
    assert 5 < warm.max_memory_used_mb < 128
    assert warm.billed_duration_ms >= warm.duration_ms


def test_the_context_object_matches_lambdas(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = """
def handler(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "client_custom": context.client_context.custom,
        "identity": context.identity.cognito_identity_id,
    }
"""
    spec = make_spec(write_code({"lambda_function.py": code}), name="orders", memory_mb=256, timeout_s=5)
    env = environments(spec)
    result = env.invoke(
        b"{}",
        request_id="0f1e2d3c-aaaa-bbbb-cccc-1234567890ab",
        client_context='{"custom": {"tenant": "t1"}, "client": {}, "env": {}}',
        cognito_identity='{"cognitoIdentityId": "eu-west-1:abc", "cognitoIdentityPoolId": "pool"}',
    )
    context = json.loads(result.payload)
    assert context["function_name"] == "orders"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == spec.function_arn
    assert context["memory_limit_in_mb"] == "256"
    assert context["aws_request_id"] == "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
    assert context["log_group_name"] == "/aws/lambda/orders"
    assert context["log_stream_name"] == env.log_stream_name and "[$LATEST]" in env.log_stream_name
    assert 4000 < context["remaining"] <= 5000
    assert context["client_custom"] == {"tenant": "t1"}
    assert context["identity"] == "eu-west-1:abc"


def test_the_function_sees_its_variables_and_no_host_ones(
    make_spec: MakeSpec, write_code: Write, environments: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "host-django-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://lab:pw@127.0.0.1/lab")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "serverless_lab.settings")
    code = "import os\ndef handler(event, context):\n    return dict(os.environ)\n"
    spec = make_spec(
        write_code({"lambda_function.py": code}),
        environment={"TABLE_NAME": "orders", "AWS_REGION": "mars-1", "AWS_ACCESS_KEY_ID": "AKIASTOLEN"},
        endpoint=("127.0.0.1", 8123),
    )
    env = environments(spec)
    seen = json.loads(env.invoke(b"{}", request_id="r", trace_id="Root=1-65f0a1b2-0123456789abcdef01234567").payload)
    assert seen["TABLE_NAME"] == "orders"
    assert seen["AWS_REGION"] == "us-east-1"
    assert seen["AWS_ACCESS_KEY_ID"] == "AKIAALICESANDBOX01"
    assert seen["AWS_SECRET_ACCESS_KEY"] == "alice-secret-key"
    assert seen["AWS_SESSION_TOKEN"] == "alice-session-token"
    assert seen["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8123"
    assert seen["_X_AMZN_TRACE_ID"] == "Root=1-65f0a1b2-0123456789abcdef01234567"
    assert seen["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert seen["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    for host_only in ("HOME", "SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYENV_ROOT", "VIRTUAL_ENV"):
        assert host_only not in seen
    assert "host-django-secret" not in json.dumps(seen)
    # Without a trace id the variable is gone again, as on AWS.
    assert "_X_AMZN_TRACE_ID" not in json.loads(env.invoke(b"{}", request_id="r2").payload)


def test_a_handler_exception_is_reported_like_aws(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = "def handler(event, context):\n    raise ValueError('invalid order ' + str(event['id']))\n"
    env = environments(make_spec(write_code({"lambda_function.py": code})))
    result = env.invoke(b'{"id": 7}', request_id="req-err")
    assert result.status == "error" and result.function_error == "Unhandled" and result.error_type == "ValueError"
    error = json.loads(result.payload)
    assert error == {
        "errorMessage": "invalid order 7",
        "errorType": "ValueError",
        "requestId": "req-err",
        "stackTrace": [
            '  File "/var/task/lambda_function.py", line 2, in handler\n'
            "    raise ValueError('invalid order ' + str(event['id']))\n"
        ],
    }
    assert "[ERROR] ValueError: invalid order 7\nTraceback (most recent call last):\n" in result.log
    assert env.invoke(b'{"id": 8}', request_id="req-after").error_type == "ValueError"  # still warm
    assert env.invocations == 2


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"lambda_function.py": "def handler(event, context:\n    pass\n"}, "lambda_function.handler",
         "Runtime.UserCodeSyntaxError", "Syntax error in module 'lambda_function'"),
        ({"lambda_function.py": "import requests_that_do_not_exist\n"}, "lambda_function.handler",
         "Runtime.ImportModuleError", "Unable to import module 'lambda_function': No module named"),
        ({"lambda_function.py": "x = 1\n"}, "missing_module.handler",
         "Runtime.ImportModuleError", "Unable to import module 'missing_module'"),
        ({"lambda_function.py": "def other(e, c):\n    pass\n"}, "lambda_function.handler",
         "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'lambda_function'"),
        ({"lambda_function.py": "x = 1\n"}, "nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
        ({"lambda_function.py": "raise RuntimeError('no config')\n"}, "lambda_function.handler",
         "RuntimeError", "no config"),
    ],
)  # fmt: skip
def test_init_errors_are_reported_on_the_first_invoke(
    make_spec: MakeSpec,
    write_code: Write,
    environments: Start,
    files: dict[str, str],
    handler: str,
    error_type: str,
    message: str,
) -> None:
    env = environments(make_spec(write_code(files), handler=handler))
    assert env.state == "failed"
    result = env.invoke(b"{}", request_id="req-init")
    assert (result.status, result.function_error, result.error_type) == ("error", "Unhandled", error_type)
    error = json.loads(result.payload)
    assert error["errorType"] == error_type and error["errorMessage"].startswith(message)
    assert f"INIT_REPORT Init Duration: {result.init_duration_ms:.2f} ms\tPhase: init\tStatus: error\t" \
        f"Error Type: {error_type}" in result.log  # fmt: skip
    assert result.log.splitlines()[-1].endswith(f"Status: error\tError Type: {error_type}")
    assert env.state == "closed"


def test_a_timeout_kills_the_environment_and_the_next_start_is_cold(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    code = "import time\ndef handler(event, context):\n    print('working'); time.sleep(30)\n"
    spec = make_spec(write_code({"lambda_function.py": code}), timeout_s=1)
    env = environments(spec)
    result = env.invoke(b"{}", request_id="req-slow")
    assert (result.status, result.function_error, result.error_type) == ("timeout", "Unhandled", "Sandbox.Timedout")
    assert json.loads(result.payload)["errorMessage"] == "RequestId: req-slow Error: Task timed out after 1.00 seconds"
    assert "working\n" in result.log and " req-slow Task timed out after 1.00 seconds\n" in result.log
    assert result.duration_ms == 1000.0 and result.log.splitlines()[-1].endswith("\tStatus: timeout")
    assert env.state == "closed" and not env.alive
    fresh = environments(spec)
    assert fresh.invoke(b"{}", request_id="req-next").cold


def test_twice_the_memory_size_is_out_of_memory_and_the_next_invoke_works(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    code = (
        "def handler(event, context):\n"
        "    if event.get('hog'):\n"
        "        block = bytearray(256 * 1024 * 1024)\n"
        "        return len(block)\n"
        "    return 'fine'\n"
    )
    spec = make_spec(write_code({"lambda_function.py": code}), memory_mb=128, timeout_s=10)
    env = environments(spec)
    result = env.invoke(b'{"hog": true}', request_id="req-hog")
    assert (result.status, result.error_type) == ("oom", "Runtime.OutOfMemory")
    assert (
        json.loads(result.payload)["errorMessage"]
        == "RequestId: req-hog Error: Runtime exited with error: signal: killed"
    )
    assert result.max_memory_used_mb >= 128
    assert "Error Type: Runtime.OutOfMemory" in result.log
    assert env.state == "closed"
    again = environments(spec)
    after = again.invoke(b"{}", request_id="req-after")
    assert after.status == "ok" and after.payload == b'"fine"' and after.cold


def test_a_runtime_exit_is_an_exit_error(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = "import os\ndef handler(event, context):\n    print('bye'); os._exit(3)\n"
    env = environments(make_spec(write_code({"lambda_function.py": code})))
    result = env.invoke(b"{}", request_id="req-exit")
    assert (result.status, result.error_type) == ("crash", "Runtime.ExitError")
    assert (
        json.loads(result.payload)["errorMessage"]
        == "RequestId: req-exit Error: Runtime exited with error: exit status 3"
    )
    assert "bye\n" in result.log and env.state == "closed"


def test_unserialisable_results_are_marshal_errors_and_decimals_are_numbers(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    code = (
        "from decimal import Decimal\n"
        "def handler(event, context):\n"
        "    return {1, 2} if event.get('set') else {'price': Decimal('1.5')}\n"
    )
    env = environments(make_spec(write_code({"lambda_function.py": code})))
    assert json.loads(env.invoke(b"{}", request_id="a").payload) == {"price": 1.5}
    bad = env.invoke(b'{"set": true}', request_id="b")
    assert bad.error_type == "Runtime.MarshalError"
    assert (
        json.loads(bad.payload)["errorMessage"]
        == "Unable to marshal response: Object of type set is not JSON serializable"
    )


def test_logging_uses_the_lambda_format_once_the_level_allows(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    code = (
        "import logging\n"
        "logger = logging.getLogger()\n"
        "def handler(event, context):\n"
        "    logger.info('hidden at the default WARNING level')\n"
        "    logger.warning('careful')\n"
        "    logger.setLevel(logging.INFO)\n"
        "    logger.info('now visible')\n"
        "    return None\n"
    )
    env = environments(make_spec(write_code({"lambda_function.py": code})))
    log = env.invoke(b"{}", request_id="req-log").log
    assert "hidden" not in log
    lines = [line for line in log.splitlines() if line.startswith("[")]
    assert lines[0].startswith("[WARNING]\t") and lines[0].endswith("\treq-log\tcareful")
    assert lines[1].startswith("[INFO]\t") and lines[1].endswith("\treq-log\tnow visible")


def test_output_is_capped_per_invocation(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = "import sys\ndef handler(event, context):\n    sys.stdout.write('x' * (3 * 1024 * 1024))\n    return 1\n"
    env = environments(make_spec(write_code({"lambda_function.py": code}), timeout_s=10))
    result = env.invoke(b"{}", request_id="req-flood")
    assert result.status == "ok" and result.payload == b"1"
    assert "... output truncated (" in result.log
    assert len(result.log) < 1024 * 1024 + 2048


def test_a_response_over_6_mb_is_refused(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n"
    env = environments(make_spec(write_code({"lambda_function.py": code}), timeout_s=10))
    result = env.invoke(b"{}", request_id="req-big")
    assert (result.status, result.error_type) == ("error", "Function.ResponseSizeTooLarge")
    assert env.invoke(b"{}", request_id="req-big-2").error_type == "Function.ResponseSizeTooLarge"  # still alive


def test_boto3_reaches_the_sandbox_endpoint_with_its_credentials(
    make_spec: MakeSpec, write_code: Write, environments: Start, fake_sts: Any
) -> None:
    code = (
        "import boto3\n"
        "sts = boto3.client('sts')\n"
        "def handler(event, context):\n"
        "    return sts.get_caller_identity()['Arn']\n"
    )
    spec = make_spec(write_code({"lambda_function.py": code}), timeout_s=10, endpoint=("127.0.0.1", fake_sts.port))
    env = environments(spec)
    trace = "Root=1-65f0a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
    result = env.invoke(b"{}", request_id="req-sts", trace_id=trace)
    assert result.status == "ok", result.log
    assert json.loads(result.payload) == "arn:aws:iam::123456789012:user/alice"
    request = fake_sts.requests[-1]
    assert request["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAALICESANDBOX01/")
    assert request["x-amz-security-token"] == "alice-session-token"
    assert request["x-amzn-trace-id"] == trace  # botocore forwards _X_AMZN_TRACE_ID
    assert request["host"] == f"127.0.0.1:{fake_sts.port}"
    assert env.invoke(b"{}", request_id="req-sts-2").status == "ok"  # warm, connection reused


def test_python312_runs_with_boto3(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = "import sys, boto3\ndef handler(event, context):\n    return [sys.version_info[:2], boto3.__name__]\n"
    env = environments(make_spec(write_code({"lambda_function.py": code}), runtime="python3.12", timeout_s=20))
    result = env.invoke(b"{}", request_id="r")
    assert result.status == "ok", result.log
    assert json.loads(result.payload) == [[3, 12], "boto3"]


def test_sys_path_and_filesystem_look_like_lambda(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = (
        "import os, sys\n"
        "def handler(event, context):\n"
        "    open('/tmp/scratch', 'w').write('ok')\n"
        "    task = sorted(os.listdir('/var/task'))\n"
        "    return {'path': sys.path[:4], 'tmp': open('/tmp/scratch').read(), 'task': task}\n"
    )
    env = environments(make_spec(write_code({"lambda_function.py": code})))
    seen = json.loads(env.invoke(b"{}", request_id="r").payload)
    assert seen["path"] == ["/var/task", "/opt/python/lib/python3.11/site-packages", "/opt/python", "/var/runtime"]
    assert seen["tmp"] == "ok" and seen["task"] == ["lambda_function.py"]
