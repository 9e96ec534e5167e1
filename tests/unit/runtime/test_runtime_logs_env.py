"""Pure pieces of the environment: CloudWatch-style lines, the output cap, the variables a function gets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serverless_lab.runtime.environment import (
    RESERVED_ENV_KEYS,
    Credentials,
    FunctionSpec,
    LogBuffer,
    billed_duration,
    function_environment,
    report_line,
    resolve_runtime,
)


def test_a_warm_report_line_has_no_init_duration() -> None:
    line = report_line("r-1", duration_ms=1.234, billed_ms=2, memory_mb=128, max_memory_mb=40)
    assert line == (
        "REPORT RequestId: r-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB"
    )


def test_a_cold_report_line_ends_with_init_duration() -> None:
    line = report_line("r-1", duration_ms=1.0, billed_ms=1, memory_mb=256, max_memory_mb=41, init_duration_ms=25.104)
    assert line.endswith("\tMax Memory Used: 41 MB\tInit Duration: 25.10 ms")


def test_platform_errors_add_status_and_error_type() -> None:
    line = report_line("r", duration_ms=3000, billed_ms=3000, memory_mb=128, max_memory_mb=20, status="timeout")
    assert line.endswith("\tStatus: timeout")
    line = report_line(
        "r", duration_ms=5, billed_ms=5, memory_mb=128, max_memory_mb=129, status="error",
        error_type="Runtime.OutOfMemory",
    )  # fmt: skip
    assert line.endswith("\tStatus: error\tError Type: Runtime.OutOfMemory")


@pytest.mark.parametrize(("duration", "billed"), [(0.0, 1), (0.2, 1), (1.0, 1), (1.01, 2), (2999.5, 3000)])
def test_billed_duration_rounds_up_to_the_millisecond(duration: float, billed: int) -> None:
    assert billed_duration(duration) == billed


def test_the_log_buffer_caps_output_and_says_so() -> None:
    log = LogBuffer(limit=10)
    log.feed(b"0123456")
    log.feed(b"789abcdef")
    log.feed(b"xyz")
    assert log.text() == "0123456789\n... output truncated (9 bytes dropped)\n"


def test_the_log_buffer_replaces_invalid_utf8() -> None:
    log = LogBuffer()
    log.feed(b"caf\xc3\xa9 \xff\n")
    assert log.text() == "café \ufffd\n"


def _spec(**overrides: object) -> FunctionSpec:
    fields: dict[str, object] = {
        "function_name": "orders",
        "function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:orders",
        "runtime": "python3.11",
        "handler": "app.handler",
        "code_dir": Path("/nonexistent"),
        "memory_mb": 256,
        "region": "eu-west-1",
        "credentials": Credentials("AKIAEXAMPLE", "secret", "token"),
    }
    fields.update(overrides)
    return FunctionSpec(**fields)  # type: ignore[arg-type]


def test_a_function_gets_the_lambda_variables() -> None:
    env = function_environment(_spec(), resolve_runtime("python3.11"), log_stream="2024/01/01/[$LATEST]abc",
                               endpoint_port=8000)  # fmt: skip
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "orders"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/orders"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "2024/01/01/[$LATEST]abc"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["TZ"] == ":UTC"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE"
    assert env["AWS_SECRET_ACCESS_KEY"] == "secret"
    assert env["AWS_SESSION_TOKEN"] == "token"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8000"


def test_reserved_variables_cannot_be_overridden_but_path_and_lang_can() -> None:
    mine = {"AWS_REGION": "mars-1", "AWS_SECRET_ACCESS_KEY": "stolen", "AWS_ENDPOINT_URL": "http://evil",
            "_HANDLER": "x.y", "TABLE": "orders", "LANG": "C.UTF-8"}  # fmt: skip
    env = function_environment(_spec(environment=mine), resolve_runtime("python3.11"), log_stream="s",
                               endpoint_port=8000)  # fmt: skip
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_SECRET_ACCESS_KEY"] == "secret"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8000"
    assert env["_HANDLER"] == "app.handler"
    assert env["TABLE"] == "orders"
    assert env["LANG"] == "C.UTF-8"
    assert {"AWS_REGION", "AWS_SECRET_ACCESS_KEY", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT"} <= RESERVED_ENV_KEYS


def test_nothing_of_the_host_environment_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "django-insecure-host-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://host")
    env = function_environment(_spec(), resolve_runtime("python3.11"), log_stream="s", endpoint_port=None)
    assert not {"SECRET_KEY", "DATABASE_URL", "HOME", "DJANGO_SETTINGS_MODULE", "AWS_ENDPOINT_URL"} & env.keys()
    assert os.environ["SECRET_KEY"] not in env.values()


def test_custom_runtimes_get_no_execution_env_and_anonymous_functions_no_keys() -> None:
    env = function_environment(_spec(runtime="provided.al2023", credentials=None), resolve_runtime("provided.al2023"),
                               log_stream="s", endpoint_port=None)  # fmt: skip
    assert "AWS_EXECUTION_ENV" not in env
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env


@pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", ""])
def test_invalid_variable_names_are_rejected(key: str) -> None:
    with pytest.raises(ValueError):
        function_environment(_spec(environment={key: "v"}), resolve_runtime("python3.11"), log_stream="s",
                             endpoint_port=None)  # fmt: skip


def test_credentials_never_show_their_secret_in_repr() -> None:
    assert "secret" not in repr(Credentials("AKIA", "secret", "token-secret"))
