"""Node.js functions in real sandboxes: async, callback and plain handlers, ESM, errors, logs, context."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from serverless_lab.runtime import ExecutionEnvironment, FunctionSpec

Start = Callable[[FunctionSpec], ExecutionEnvironment]
Write = Callable[..., Path]
MakeSpec = Callable[..., FunctionSpec]

HANDLERS = """
console.log('loading');
exports.asyncHandler = async (event, context) => ({ echo: event, id: context.awsRequestId });
exports.callbackHandler = (event, context, callback) => {
  setTimeout(() => callback(null, { viaCallback: event.n }), 5);
};
exports.earlyReturn = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {}, 60000);  // would hold an empty-loop wait for a minute
  callback(null, 'answered at once');
};
exports.plain = (event) => 42;  // not async, no callback: AWS answers null when the loop drains
exports.failing = async () => { throw new TypeError('bad order'); };
exports.failingCallback = (event, context, callback) => callback(new Error('callback error'));
exports.thrower = () => { throw 'a string'; };
exports.context = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
  custom: context.clientContext && context.clientContext.custom,
  trace: process.env._X_AMZN_TRACE_ID || null,
  region: process.env.AWS_REGION,
  executionEnv: process.env.AWS_EXECUTION_ENV,
  home: process.env.HOME || null,
});
exports.logs = async () => { console.log('info %d', 1); console.error('oops'); console.warn({ a: 1 }); return 'ok'; };
"""


@pytest.fixture
def node_code(write_code: Write) -> Path:
    return write_code({"index.js": HANDLERS})


def _node(make_spec: MakeSpec, code: Path, handler: str, **overrides: object) -> FunctionSpec:
    return make_spec(code, runtime="nodejs20.x", handler=f"index.{handler}", **overrides)


@pytest.mark.parametrize(
    ("handler", "payload", "expected"),
    [
        ("asyncHandler", b'{"n": 1}', {"echo": {"n": 1}, "id": "req-node"}),
        ("callbackHandler", b'{"n": 2}', {"viaCallback": 2}),
        ("earlyReturn", b"{}", "answered at once"),
        ("plain", b"{}", None),
    ],
)
def test_handler_styles_settle_like_aws(
    make_spec: MakeSpec, node_code: Path, environments: Start, handler: str, payload: bytes, expected: object
) -> None:
    env = environments(_node(make_spec, node_code, handler))
    result = env.invoke(payload, request_id="req-node")
    assert result.status == "ok", result.log
    assert json.loads(result.payload) == expected
    assert env.invoke(payload, request_id="req-node-2").status == "ok"  # and again, warm


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        ("failing", {"errorType": "TypeError", "errorMessage": "bad order"}),
        ("failingCallback", {"errorType": "Error", "errorMessage": "callback error"}),
        ("thrower", {"errorType": "string", "errorMessage": "a string", "trace": []}),
    ],
)
def test_errors_are_reported_like_aws(
    make_spec: MakeSpec, node_code: Path, environments: Start, handler: str, error: dict[str, object]
) -> None:
    env = environments(_node(make_spec, node_code, handler))
    result = env.invoke(b"{}", request_id="req-fail")
    assert (result.status, result.function_error, result.error_type) == ("error", "Unhandled", error["errorType"])
    document = json.loads(result.payload)
    assert {key: document[key] for key in error} == error
    if error["errorType"] != "string":
        assert document["trace"][0] == f"{error['errorType']}: {error['errorMessage']}"
        assert "/var/task/index.js" in document["trace"][1]
    assert "\treq-fail\tERROR\tInvoke Error \t{" in result.log
    assert env.invoke(b"{}", request_id="req-fail-2").status == "error"  # the environment survives


def test_the_context_and_variables(make_spec: MakeSpec, node_code: Path, environments: Start) -> None:
    env = environments(_node(make_spec, node_code, "context", name="orders", memory_mb=256, timeout_s=4))
    result = env.invoke(b"{}", request_id="r", trace_id="Root=1-abc", client_context='{"custom": {"k": 1}}')
    seen = json.loads(result.payload)
    assert seen["functionName"] == "orders" and seen["functionVersion"] == "$LATEST"
    assert seen["invokedFunctionArn"].endswith(":function:orders")
    assert seen["memoryLimitInMB"] == "256" and seen["logGroupName"] == "/aws/lambda/orders"
    assert seen["logStreamName"] == env.log_stream_name
    assert 3000 < seen["remaining"] <= 4000
    assert seen["custom"] == {"k": 1} and seen["trace"] == "Root=1-abc"
    assert seen["region"] == "us-east-1" and seen["executionEnv"] == "AWS_Lambda_nodejs20.x"
    assert seen["home"] is None


def test_console_lines_carry_time_request_id_and_level(
    make_spec: MakeSpec, node_code: Path, environments: Start
) -> None:
    env = environments(_node(make_spec, node_code, "logs"))
    result = env.invoke(b"{}", request_id="req-log")
    assert result.log.startswith("20") and "\tundefined\tINFO\tloading\n" in result.log  # INIT, before START
    body = result.log.split("START RequestId: req-log Version: $LATEST\n")[1]
    lines = body.splitlines()
    assert lines[0].endswith("Z\treq-log\tINFO\tinfo 1")
    assert lines[1].endswith("\treq-log\tERROR\toops")
    assert lines[2].endswith("\treq-log\tWARN\t{ a: 1 }")


def test_esm_modules_load(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = write_code({"app.mjs": "export const handler = async (event) => ({ esm: true, got: event });\n"})
    env = environments(make_spec(code, runtime="nodejs22.x", handler="app.handler"))
    result = env.invoke(b'{"x": 1}', request_id="r")
    assert json.loads(result.payload) == {"esm": True, "got": {"x": 1}}, result.log


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"index.js": "exports.handler = async () => {;\n"}, "index.handler",
         "Runtime.UserCodeSyntaxError", "SyntaxError: "),
        ({"index.js": "exports.other = 1;\n"}, "index.handler",
         "Runtime.HandlerNotFound", "index.handler is undefined or not exported"),
        ({"index.js": "require('left-pad');\n"}, "index.handler",
         "Runtime.ImportModuleError", "Error: Cannot find module 'left-pad'"),
        ({"index.js": "exports.handler = 1;\n"}, "missing.handler",
         "Runtime.ImportModuleError", "Error: Cannot find module 'missing'"),
    ],
)  # fmt: skip
def test_init_errors(
    make_spec: MakeSpec, write_code: Write, environments: Start,
    files: dict[str, str], handler: str, error_type: str, message: str,
) -> None:  # fmt: skip
    env = environments(make_spec(write_code(files), runtime="nodejs20.x", handler=handler))
    assert env.state == "failed"
    result = env.invoke(b"{}", request_id="r")
    assert result.error_type == error_type and result.function_error == "Unhandled"
    assert json.loads(result.payload)["errorMessage"].startswith(message)
    assert f"Phase: init\tStatus: error\tError Type: {error_type}" in result.log


def test_a_heap_blowup_is_out_of_memory(make_spec: MakeSpec, write_code: Write, environments: Start) -> None:
    code = "exports.handler = async () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(7)); };\n"
    env = environments(make_spec(write_code({"index.js": code}), runtime="nodejs20.x", handler="index.handler",
                                 timeout_s=20))  # fmt: skip
    result = env.invoke(b"{}", request_id="r")
    assert (result.status, result.error_type) == ("oom", "Runtime.OutOfMemory"), result.log
