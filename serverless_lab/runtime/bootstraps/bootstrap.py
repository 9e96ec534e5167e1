"""Python runtime of an execution environment: a Lambda Runtime API client (our awslambdaric).

The launcher imports this module in the same interpreter and calls :func:`main`.  It loads the
handler named by ``_HANDLER`` (INIT), then loops: ``GET /invocation/next`` → call the handler →
``POST /invocation/{id}/response`` or ``/error``.  Errors, logs and the context object follow
what the AWS Python runtime produces, so lesson material matches what students see on AWS.
Standard library only; it is imported inside the sandbox.
"""

import importlib
import json
import os
import socket
import sys
import time

API = "/2018-06-01/runtime"
# On MemoryError the runtime logs the Runtime.OutOfMemory marker the host looks for and exits the way a
# cgroup OOM kill would end it (128 + SIGKILL).
OOM_EXIT_STATUS = 137


class FaultError(Exception):
    """An error of the runtime itself (bad handler, unserialisable result), not of the function."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class RuntimeClient:
    """HTTP/1.1 over one keep-alive connection to ``AWS_LAMBDA_RUNTIME_API``."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        # A numeric address: plain connect() skips getaddrinfo and its idna codec import.
        self._conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._conn.connect((host, int(port)))
        self._conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._host = address
        self._buffer = b""

    def next(self):
        return self._request("GET", API + "/invocation/next")

    def post_response(self, request_id, body):
        self._request("POST", f"{API}/invocation/{request_id}/response", body)

    def post_error(self, request_id, body, error_type):
        self._request("POST", f"{API}/invocation/{request_id}/error", body, error_type)

    def post_init_error(self, body, error_type):
        self._request("POST", API + "/init/error", body, error_type)

    def _request(self, method, path, body=b"", error_type=None):
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Length: {len(body)}\r\n"
        if error_type:
            head += f"Lambda-Runtime-Function-Error-Type: {error_type}\r\n"
        self._conn.sendall(head.encode() + b"\r\n" + body)
        while b"\r\n\r\n" not in self._buffer:
            self._recv()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return int(lines[0].split()[1]), headers, body

    def _recv(self):
        data = self._conn.recv(262144)
        if not data:
            raise ConnectionError("the Runtime API closed the connection")
        self._buffer += data


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data):
        self.client = data.get("client")
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """The ``context`` argument, with the attributes and method of the AWS Python runtime."""

    def __init__(self, request_id, deadline_ms, invoked_function_arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = ClientContext(json.loads(client_context)) if client_context else None
        self.identity = CognitoIdentity(json.loads(identity) if identity else {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
            f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])"
        )


_request_id = ""


def setup_logging():
    """Root-logger handler in the AWS text format; the level stays WARNING until the function sets it.

    Installed once ``logging`` has been imported (by the function or boto3, checked after INIT
    and before each invocation) rather than imported here: that keeps ~8 ms off every cold start.
    """
    import logging

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id
            return True

    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)


def load_handler(name):
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError("Runtime.MalformedHandlerName", f"Bad handler '{name}': {exc}") from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise FaultError(
                "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n        {(exc.text or "").strip()}']
        raise FaultError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise FaultError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def error_result(exc, request_id):
    """The error document of the AWS Python runtime: the type, message and the user's frames."""
    if isinstance(exc, FaultError):
        return {
            "errorMessage": exc.message,
            "errorType": exc.error_type,
            "requestId": request_id,
            "stackTrace": exc.trace,
        }
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    while frames and frames[0].filename.startswith("/var/runtime/"):
        frames = frames[1:]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def log_error(result):
    lines = [f"[ERROR] {result['errorType']}: {result['errorMessage']}"]
    if result["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in result["stackTrace"])
    sys.stdout.write("\n".join(lines) + "\n")


def _default(value):
    if type(value).__name__ == "Decimal":
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def out_of_memory():
    sys.stdout.write("[ERROR] Runtime.OutOfMemory: MemoryError\n")
    sys.stdout.flush()
    os._exit(OOM_EXIT_STATUS)


def main():
    global _request_id
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    logging_ready = False
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except MemoryError:
        out_of_memory()
    except Exception as exc:
        result = error_result(exc, "")
        log_error(result)
        sys.stdout.flush()
        client.post_init_error(json.dumps(result).encode(), result["errorType"])
        sys.exit(1)

    while True:
        if not logging_ready and "logging" in sys.modules:
            setup_logging()
            logging_ready = True
        _, headers, body = client.next()
        request_id = _request_id = headers["lambda-runtime-aws-request-id"]
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = LambdaContext(
            request_id,
            int(headers["lambda-runtime-deadline-ms"]),
            headers.get("lambda-runtime-invoked-function-arn"),
            headers.get("lambda-runtime-client-context"),
            headers.get("lambda-runtime-cognito-identity"),
        )
        try:
            try:
                event = json.loads(body) if body else None
            except ValueError as exc:
                raise FaultError("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
            response = handler(event, context)
            try:
                payload = json.dumps(response, default=_default).encode()
            except (TypeError, ValueError) as exc:
                raise FaultError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
        except MemoryError:
            out_of_memory()
        except Exception as exc:
            result = error_result(exc, request_id)
            log_error(result)
            sys.stdout.flush()
            sys.stderr.flush()
            client.post_error(request_id, json.dumps(result).encode(), result["errorType"])
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        client.post_response(request_id, payload)
