"""Custom runtimes: the function's own ``bootstrap`` speaks the Runtime API (as in the lesson on it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from serverless_lab.runtime import ExecutionEnvironment, FunctionSpec

Start = Callable[[FunctionSpec], ExecutionEnvironment]
Write = Callable[..., Path]
MakeSpec = Callable[..., FunctionSpec]

# A whole custom runtime in bash, no curl: one connection per call over /dev/tcp.
SHELL_BOOTSTRAP = r"""#!/bin/bash
set -euo pipefail
api=$AWS_LAMBDA_RUNTIME_API
call() {  # method path [body] -> prints the response headers then the body
  exec 3<>"/dev/tcp/${api%:*}/${api#*:}"
  printf '%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "/2018-06-01/runtime$2" "$api" "${#3}" "$3" >&3
  cat <&3
  exec 3<&-
}
while true; do
  answer=$(call GET /invocation/next "")
  id=$(printf '%s' "$answer" | tr -d '\r' | sed -n 's/^Lambda-Runtime-Aws-Request-Id: //Ip')
  event=${answer#*$'\r\n\r\n'}
  echo "handling $id"
  call POST "/invocation/$id/response" "{\"handler\": \"$_HANDLER\", \"event\": $event}" >/dev/null
done
"""

PYTHON_BOOTSTRAP = r"""#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
if os.environ["_HANDLER"] == "refuse":
    body = json.dumps({"errorMessage": "no handler like that", "errorType": "Custom.Refused"}).encode()
    urllib.request.urlopen(urllib.request.Request(api + "/init/error", body, method="POST"))
    raise SystemExit(1)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as answer:
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(answer.headers["Lambda-Runtime-Deadline-Ms"])
        event = json.loads(answer.read())
    if event.get("fail"):
        body = json.dumps({"errorMessage": "asked to fail", "errorType": "Custom.Failure"}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{api}/invocation/{request_id}/error", body, method="POST"))
        continue
    body = json.dumps({"deadline": deadline, "arn": answer.headers["Lambda-Runtime-Invoked-Function-Arn"]})
    urllib.request.urlopen(urllib.request.Request(f"{api}/invocation/{request_id}/response", body.encode(),
                                                  method="POST"))
"""


def test_a_shell_bootstrap_serves_invocations(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = write_code({"bootstrap": SHELL_BOOTSTRAP}, executable=("bootstrap",))
    env = environments(make_spec(code, runtime="provided.al2023", handler="function.handler"))
    first = env.invoke(b'{"n": 1}', request_id="req-1")
    second = env.invoke(b'{"n": 2}', request_id="req-2")
    assert json.loads(first.payload) == {"handler": "function.handler", "event": {"n": 1}}, first.log
    assert json.loads(second.payload)["event"] == {"n": 2} and not second.cold
    assert "handling req-2\n" in second.log


def test_a_python_bootstrap_gets_the_invocation_headers_and_reports_errors(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    code = write_code({"bootstrap": PYTHON_BOOTSTRAP}, executable=("bootstrap",))
    spec = make_spec(code, runtime="provided", handler="any")
    env = environments(spec)
    answer = json.loads(env.invoke(b"{}", request_id="r1").payload)
    assert answer["arn"] == spec.function_arn and answer["deadline"] > 1_600_000_000_000
    failed = env.invoke(b'{"fail": true}', request_id="r2")
    assert (failed.status, failed.error_type) == ("error", "Custom.Failure")
    assert json.loads(failed.payload)["errorMessage"] == "asked to fail"


def test_an_init_error_posted_by_the_bootstrap(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = write_code({"bootstrap": PYTHON_BOOTSTRAP}, executable=("bootstrap",))
    env = environments(make_spec(code, runtime="provided.al2023", handler="refuse"))
    result = env.invoke(b"{}", request_id="r")
    assert (result.status, result.error_type) == ("error", "Custom.Refused")


def test_a_missing_bootstrap_is_an_invalid_entrypoint(
    make_spec: MakeSpec, write_code: Write, environments: Start
) -> None:
    env = environments(make_spec(write_code({"handler.sh": "echo hi\n"}), runtime="provided.al2023", handler="x"))
    result = env.invoke(b"{}", request_id="r")
    assert result.error_type == "Runtime.InvalidEntrypoint"
    assert json.loads(result.payload)["errorMessage"] == (
        "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
    )


def test_a_bootstrap_that_is_not_executable(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    env = environments(make_spec(write_code({"bootstrap": SHELL_BOOTSTRAP}), runtime="provided.al2023", handler="x"))
    result = env.invoke(b"{}", request_id="r")
    assert result.error_type == "Runtime.InvalidEntrypoint"
    assert "Permission denied" in json.loads(result.payload)["errorMessage"]
