"""Lambda execution environments: one isolated, long-lived runtime process per function version.

An :class:`ExecutionEnvironment` is started (cold start: sandbox + runtime + the function's INIT),
then serves one invocation at a time over the Lambda Runtime API until it is closed, or until a
timeout, an out-of-memory or a runtime exit destroys it.  :class:`EnvironmentPool` keeps idle
environments warm per function version and code.  No Django in here: the Lambda control plane and
the Celery task wire this to the database.

Between invocations the environment is frozen (its processes stopped), as on AWS.  While an
invocation runs, one selector loop in the caller's thread serves the Runtime API, relays the
function's AWS calls to the configured endpoint, collects its output and samples its memory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from serverless_lab.runtime.bootstraps.relay import Splice
from serverless_lab.runtime.isolation import (
    SOCKET_DIR,
    IsolationConfig,
    LaunchRequest,
    Sandbox,
    SandboxHost,
)
from serverless_lab.runtime.runtime_api import ApiCall, Invocation, Route, RuntimeApiServer, error_body

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the INIT phase
LOG_LIMIT_BYTES = 1024 * 1024  # output kept per invocation
RUNTIME_API_PORT = 9001
BOOTSTRAPS_DIR = Path(__file__).resolve().parent / "bootstraps"
_OOM_MARKERS = (b"Runtime.OutOfMemory: MemoryError", b"JavaScript heap out of memory")
_SIGNAL_NAMES = {6: "aborted", 9: "killed", 11: "segmentation fault", 15: "terminated"}
_ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

# Keys a function's configuration cannot set: Lambda rejects them (AWS docs, "Defined runtime
# environment variables"); AWS_ENDPOINT_URL is ours, the path to the sandbox's own endpoint.
RESERVED_ENV_KEYS = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_ENDPOINT_URL",
})  # fmt: skip

Status = Literal["ok", "error", "timeout", "oom", "crash"]


class RuntimeUnavailable(RuntimeError):
    """The runtime identifier is unknown, or nothing on this host can run it."""


# --- what the caller describes ----------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """The sandbox's own keys, handed to the function as AWS_ACCESS_KEY_ID etc."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class FunctionSpec:
    function_name: str
    function_arn: str
    runtime: str  # python3.11, python3.12, nodejs20.x, nodejs22.x, provided.al2023, provided
    handler: str
    code_dir: Path  # bound read-only at /var/task
    memory_mb: int = 128
    timeout_s: float = 3.0
    environment: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    credentials: Credentials | None = None
    endpoint: tuple[str, int] | None = None  # host-side address of the sandbox's AWS endpoint
    version: str = "$LATEST"
    log_group: str | None = None  # default /aws/lambda/<function_name>
    log_stream: str | None = None  # default: one new stream per environment, as on AWS
    code_sha256: str = ""
    endpoint_path: str = ""  # the endpoint's URL path, e.g. "/aws/" (where the lab serves AWS)

    def pool_key(self) -> tuple[object, ...]:
        """Environments are shared only by invocations of the very same configuration and code."""
        return (
            self.function_arn, self.version, self.code_sha256, str(self.code_dir), self.runtime, self.handler,
            self.memory_mb, self.timeout_s, tuple(sorted(self.environment.items())), self.region,
            self.credentials, self.endpoint, self.endpoint_path, self.log_group, self.log_stream,
        )  # fmt: skip


@dataclass
class InvokeResult:
    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function errored (X-Amz-Function-Error)
    error_type: str | None
    duration_ms: float
    billed_duration_ms: int
    max_memory_used_mb: int
    init_duration_ms: float | None  # cold starts only
    cold: bool
    log: str  # START .. REPORT, CloudWatch style
    status: Status


# --- runtimes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimeImage:
    """How to run one runtime identifier on this host: what to bind and what to start."""

    name: str
    kind: Literal["python", "node", "provided"]
    binds: tuple[tuple[Path, str], ...]
    launcher: tuple[str, ...]  # python -I -S launcher.py (the config fd is appended)
    launcher_env: dict[str, str]
    env: dict[str, str]  # PATH, LD_LIBRARY_PATH, ... (a function may override these)
    launcher_python: Path  # host path of the interpreter that runs the launcher (for bytecode)
    python_path: tuple[str, ...] = ()
    node_argv: tuple[str, ...] = ()


def resolve_runtime(name: str) -> RuntimeImage:
    """Map a Lambda runtime identifier to interpreters found on this host (cached per process)."""
    return _resolve_runtime(name)


@cache
def _resolve_runtime(name: str) -> RuntimeImage:
    base_env = {"LANG": "en_US.UTF-8", "TZ": ":UTC"}
    lib_path = "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
    match = re.fullmatch(r"python(3\.\d+)", name)
    if match:
        version = match.group(1)
        prefix = _python_prefix(version)
        site = f"/var/lang/lib/python{version}/site-packages"
        binds = [(prefix, "/var/lang")]
        if (prefix / "lib" / f"python{version}" / "site-packages").is_dir():
            # boto3 & co. from the project's environment; pure-Python packages work on any version.
            binds.append((Path(sysconfig.get_paths()["purelib"]), site))
        return RuntimeImage(
            name=name,
            kind="python",
            binds=tuple(binds),
            launcher=(f"/var/lang/bin/python{version}", "-I", "-S", "/var/runtime/launcher.py"),
            launcher_env={"LD_LIBRARY_PATH": "/var/lang/lib"},
            launcher_python=prefix / "bin" / f"python{version}",
            env={
                **base_env,
                "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
                "LD_LIBRARY_PATH": lib_path,
                "PYTHONPATH": "/var/runtime",
            },
            python_path=(
                "/var/task",
                f"/opt/python/lib/python{version}/site-packages",
                "/opt/python",
                "/var/runtime",
                f"/var/lang/lib/python{version.replace('.', '')}.zip",
                f"/var/lang/lib/python{version}",
                f"/var/lang/lib/python{version}/lib-dynload",
                site,
            ),  # fmt: skip
        )
    # Node and custom runtimes start through the host's own Python (only the launcher and relay).
    host_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    launcher_binds = [(Path(sys.base_prefix), "/var/rapid")]
    launcher = (f"/var/rapid/bin/python{host_version}", "-I", "-S", "/var/runtime/launcher.py")
    launcher_env = {"LD_LIBRARY_PATH": "/var/rapid/lib"}
    launcher_python = Path(sys.base_prefix) / "bin" / f"python{host_version}"
    match = re.fullmatch(r"nodejs(\d+)\.x", name)
    if match:
        node = _node_binary()
        binds = list(launcher_binds)
        if node.is_relative_to("/usr"):
            inside = str(node)
        else:
            binds.append((node.parent.parent, "/var/lang"))
            inside = f"/var/lang/bin/{node.name}"
        return RuntimeImage(
            name=name,
            kind="node",
            binds=tuple(binds),
            launcher=launcher,
            launcher_env=launcher_env,
            launcher_python=launcher_python,
            env={
                **base_env,
                "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
                "LD_LIBRARY_PATH": lib_path,
                "NODE_PATH": f"/opt/nodejs/node{match.group(1)}/node_modules:/opt/nodejs/node_modules:"
                "/var/runtime/node_modules:/var/runtime:/var/task",
            },
            node_argv=(inside, *_node_flags(node), "/var/runtime/bootstrap.js"),
        )
    if name in ("provided", "provided.al2", "provided.al2023"):
        return RuntimeImage(
            name=name,
            kind="provided",
            binds=tuple(launcher_binds),
            launcher=launcher,
            launcher_env=launcher_env,
            launcher_python=launcher_python,
            env={**base_env, "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin", "LD_LIBRARY_PATH": lib_path},
        )
    raise RuntimeUnavailable(f"unsupported runtime {name!r}")


def _python_prefix(version: str) -> Path:
    """Installation prefix of a python<version> on this host: PATH first, then pyenv's versions."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return Path(sys.base_prefix)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(path) for path in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    for executable in filter(None, candidates):
        found = subprocess.run(
            [executable, "-I", "-S", "-c", "import sys; print(sys.base_prefix)"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if found.returncode == 0:
            return Path(found.stdout.strip())
    raise RuntimeUnavailable(f"no working python{version} interpreter on this host")


def _node_binary() -> Path:
    """The host's node: every nodejs<N>.x runs on it, whatever its major version (see docs/runtime.md)."""
    executable = shutil.which("node")
    if executable is None:
        raise RuntimeUnavailable("no node on this host")
    return Path(executable).resolve()


@cache
def _node_flags(node: Path) -> tuple[str, ...]:
    """Without V8's WebAssembly trap handler, Wasm memory needs no multi-GB guard reservation.

    That reservation can't fit under the environment's address-space limit, and Node's ``fetch``
    (undici's HTTP parser is Wasm) would fail with "Cannot allocate Wasm memory". Older nodes
    lack the flag; they keep the default.
    """
    flag = "--disable-wasm-trap-handler"
    probe = subprocess.run([str(node), flag, "-e", "0"], capture_output=True, timeout=30, check=False)
    return (flag,) if probe.returncode == 0 else ()


_runtime_dirs_lock = threading.Lock()


def runtime_dir(host: SandboxHost, image: RuntimeImage) -> Path:
    """The bootstraps as mounted at /var/runtime: a copy in the host's state directory, per content,
    with bytecode compiled by the launcher's interpreter (the mount is read-only, so a bare source
    tree would be recompiled at every cold start).  The project tree itself is never mounted.
    """
    sources = sorted(path for path in BOOTSTRAPS_DIR.iterdir() if path.suffix in (".py", ".js"))
    digest = hashlib.sha256(b"".join(path.name.encode() + path.read_bytes() for path in sources)).hexdigest()
    target = host.state_dir / f"runtime-{digest[:16]}"
    with _runtime_dirs_lock:
        if not target.is_dir():
            staging = Path(tempfile.mkdtemp(prefix="runtime-", dir=host.state_dir))
            for path in sources:
                shutil.copy2(path, staging / path.name)
                (staging / path.name).chmod(0o644)
            staging.chmod(0o755)
            try:
                staging.rename(target)
            except OSError:  # another process got there first
                shutil.rmtree(staging, ignore_errors=True)
        tag = image.launcher_python.name.removeprefix("python").replace(".", "")
        if not (target / "__pycache__" / f"bootstrap.cpython-{tag}.pyc").exists():
            subprocess.run(
                [str(image.launcher_python), "-I", "-m", "compileall", "-q", str(target)],
                capture_output=True, timeout=60, check=True,
            )  # fmt: skip
            for path in (target / "__pycache__").iterdir():
                path.chmod(0o644)
            (target / "__pycache__").chmod(0o755)
    return target


# --- environment variables and logs -----------------------------------------------------------


def function_environment(
    spec: FunctionSpec, image: RuntimeImage, *, log_stream: str, endpoint_port: int | None
) -> dict[str, str]:
    """Everything the function's process gets, and nothing else: never the host's environment."""
    own = {key: value for key, value in spec.environment.items() if key not in RESERVED_ENV_KEYS}
    for key, value in own.items():
        if not _ENV_NAME.match(key) or "\0" in value:
            raise ValueError(f"invalid environment variable {key!r}")
    env = dict(image.env)
    env.update(own)
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group or f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{RUNTIME_API_PORT}",
    })  # fmt: skip
    if image.kind != "provided":
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
    if spec.credentials is not None:
        env["AWS_ACCESS_KEY_ID"] = spec.credentials.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = spec.credentials.secret_access_key
        if spec.credentials.session_token:
            env["AWS_SESSION_TOKEN"] = spec.credentials.session_token
    if endpoint_port is not None:
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{endpoint_port}{spec.endpoint_path}"
    return env


def report_line(
    request_id: str, *, duration_ms: float, billed_ms: int, memory_mb: int, max_memory_mb: int,
    init_duration_ms: float | None = None, status: str | None = None, error_type: str | None = None,
) -> str:  # fmt: skip
    """The REPORT line, with Status / Error Type only for platform errors, as CloudWatch shows it."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_duration_ms is not None:
        parts.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status is not None:
        parts.append(f"Status: {status}")
        if error_type:
            parts.append(f"Error Type: {error_type}")
    return "\t".join(parts)


def billed_duration(duration_ms: float) -> int:
    return max(1, math.ceil(duration_ms))


class LogBuffer:
    """The function's output for one invocation, capped so that a flood never grows the host."""

    def __init__(self, limit: int = LOG_LIMIT_BYTES) -> None:
        self.limit = limit
        self._data = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        room = self.limit - len(self._data)
        if room > 0:
            self._data += data[:room]
        self.dropped += max(0, len(data) - max(room, 0))

    def contains(self, marker: bytes) -> bool:
        return marker in self._data

    def text(self) -> str:
        text = self._data.decode("utf-8", errors="replace")
        if text and not text.endswith("\n"):
            text += "\n"
        if self.dropped:
            text += f"... output truncated ({self.dropped} bytes dropped)\n"
        return text


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _exit_reason(exit_status: int | None) -> str:
    """AWS's wording for how the runtime ended; bwrap reports a signal as 128+n, Popen as -n."""
    if exit_status is None:
        return "Runtime exited without providing a reason"
    if exit_status > 128 or exit_status < 0:
        number = exit_status - 128 if exit_status > 0 else -exit_status
        return f"Runtime exited with error: signal: {_SIGNAL_NAMES.get(number, f'signal {number}')}"
    return f"Runtime exited with error: exit status {exit_status}"


# --- the environment --------------------------------------------------------------------------

_LOG, _EXIT, _ENDPOINT = object(), object(), object()


@dataclass
class _Outcome:
    """What ended an invocation (or the INIT phase)."""

    status: Status
    payload: bytes
    error_type: str | None


class ExecutionEnvironment:
    """One sandboxed runtime process for one function configuration; one invocation at a time."""

    def __init__(self, spec: FunctionSpec, *, host: SandboxHost | None = None) -> None:
        self.spec = spec
        self.id = uuid.uuid4().hex
        self.log_stream_name = spec.log_stream or (f"{datetime.now(UTC):%Y/%m/%d}/[{spec.version}]{self.id}")
        self.init_duration_ms: float | None = None
        self._host = host or default_host()
        self._state: Literal["created", "ready", "invoking", "failed", "closed"] = "created"
        self._invocations = 0
        self._idle_since: float | None = None
        self._busy = threading.RLock()  # held by start() and invoke(); start() runs inside invoke()
        self._sandbox: Sandbox | None = None
        self._selector: selectors.BaseSelector | None = None
        self._api: RuntimeApiServer | None = None
        self._endpoint: socket.socket | None = None
        self._splice: Splice | None = None
        self._log = LogBuffer()
        self._log_open = False
        self._exited = False
        self._next: ApiCall | None = None  # the runtime's pending GET /invocation/next
        self._current: Invocation | None = None
        self._outcome: _Outcome | None = None
        self._init_failure: _Outcome | None = None
        self._peak_kb = 0

    # -- public state --

    @property
    def state(self) -> str:
        return self._state

    @property
    def idle_since(self) -> float | None:
        """``time.monotonic()`` when it last became idle (INIT or an invocation done); None while busy."""
        return self._idle_since

    @property
    def invocations(self) -> int:
        return self._invocations

    @property
    def host_uid(self) -> int | None:
        """The host uid the sandbox's processes run as (None before start, or on a non-root host)."""
        return self._sandbox.slot.uid if self._sandbox is not None else None

    @property
    def alive(self) -> bool:
        return self._state in ("created", "ready", "invoking") and not (
            self._sandbox is not None and self._sandbox.exited()
        )

    # -- lifecycle --

    def start(self) -> None:
        """Cold start: create the sandbox, start the runtime and run the function's INIT phase.

        An INIT that fails (import error, crash, over 10 s) does not raise: the next
        :meth:`invoke` reports it as AWS does, then the environment is gone.  Raises
        :class:`RuntimeUnavailable` or ``IsolationError`` when no sandbox can be made at all.
        """
        with self._busy:
            if self._state != "created":
                raise RuntimeError(f"environment already {self._state}")
            self._start()

    def _start(self) -> None:
        spec = self.spec
        image = resolve_runtime(spec.runtime)
        slot = self._host.allocate()
        try:
            self._selector = selectors.DefaultSelector()
            self._api = RuntimeApiServer(slot.directory / "runtime.sock", owner_uid=slot.uid)
            self._api.register(self._selector)
            relays = [[RUNTIME_API_PORT, f"{SOCKET_DIR}/runtime.sock"]]
            endpoint_port = None
            if spec.endpoint is not None:
                endpoint_port = spec.endpoint[1] if spec.endpoint[1] != RUNTIME_API_PORT else 4566
                self._endpoint = _unix_listener(slot.directory / "endpoint.sock", slot.uid)
                self._selector.register(self._endpoint, selectors.EVENT_READ, _ENDPOINT)
                self._splice = Splice(self._selector)
                relays.append([endpoint_port, f"{SOCKET_DIR}/endpoint.sock"])
            env = function_environment(spec, image, log_stream=self.log_stream_name, endpoint_port=endpoint_port)
            limits = self._host.config
            config = {
                "kind": image.kind,
                "env": env,
                "relays": relays,
                "python_path": list(image.python_path),
                "argv": [*image.node_argv[:1], f"--max-old-space-size={max(16, spec.memory_mb * 9 // 10)}",
                         *image.node_argv[1:]] if image.node_argv else [],
                "limits": {
                    "AS": (spec.memory_mb + limits.address_space_overhead_mb) << 20,
                    "NPROC": limits.max_processes,
                    "NOFILE": limits.max_open_files,
                    "FSIZE": limits.tmp_size_mb << 20,
                    "CORE": 0,
                },
            }  # fmt: skip
            request = LaunchRequest(
                argv=list(image.launcher),
                binds=[
                    (runtime_dir(self._host, image), "/var/runtime"),
                    *image.binds,
                    (spec.code_dir.resolve(), "/var/task"),
                ],
                config=json.dumps(config).encode(),
                env=image.launcher_env,
                memory_mb=spec.memory_mb,
                chdir="/var/task",
            )
            started = time.perf_counter()
            self._sandbox = self._host.launch(slot, request)
        except BaseException:
            self._teardown()
            slot.release()
            raise
        self._selector.register(self._sandbox.log_fd, selectors.EVENT_READ, _LOG)
        self._selector.register(self._sandbox.pidfd, selectors.EVENT_READ, _EXIT)
        self._log_open = True
        finished = self._pump(
            lambda: self._next is not None or self._init_failure is not None or self._exited,
            time.monotonic() + INIT_TIMEOUT_S,
            watch=True,
        )
        self.init_duration_ms = (time.perf_counter() - started) * 1000
        if self._next is not None and not self._exited:
            self._sample_memory()
            self._state = "ready"
            self._sandbox.freeze()
            self._idle_since = time.monotonic()
            return
        if not finished:
            message = f"INIT phase timed out after {INIT_TIMEOUT_S:.2f} seconds"
            self._init_failure = _Outcome("timeout", error_body("Sandbox.Timedout", message), "Sandbox.Timedout")
        elif self._init_failure is None:
            self._init_failure = self._crash("")
        self._sample_memory()
        self._state = "failed"
        self._kill()

    def invoke(
        self,
        payload: bytes,
        *,
        request_id: str,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> InvokeResult:
        """Run one invocation and return its result; never raises for what the function does."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("environment is busy with another invocation")
        try:
            if self._state == "created":
                self.start()
            cold = self._invocations == 0
            self._invocations += 1
            self._idle_since = None
            if self._state == "failed":
                return self._init_failure_result(request_id)
            if self._state != "ready":
                raise RuntimeError(f"environment is {self._state}")
            return self._invoke(payload, request_id, trace_id, client_context, cognito_identity, cold)
        finally:
            self._busy.release()

    def close(self) -> None:
        """Destroy the environment.  Safe from any thread: a running invocation ends as a crash."""
        if not self._busy.acquire(blocking=False):
            if self._sandbox is not None:
                self._sandbox.kill_now()
            self._busy.acquire()
        try:
            if self._state != "closed":
                self._state = "closed"
                self._kill()
        finally:
            self._busy.release()

    # -- the invocation --

    def _invoke(self, payload: bytes, request_id: str, trace_id: str | None, client_context: str | None,
                cognito_identity: str | None, cold: bool) -> InvokeResult:  # fmt: skip
        spec = self.spec
        sandbox = self._sandbox
        assert sandbox is not None and self._api is not None
        self._state = "invoking"
        head = ""
        if cold:  # INIT output comes before START; output left over from the last invocation after it
            head, self._log = self._log.text(), LogBuffer()
        self._outcome = None
        sandbox.thaw()
        sandbox.reset_peak()
        self._peak_kb = 0
        deadline = time.monotonic() + spec.timeout_s
        self._pump(lambda: self._next is not None or self._exited, deadline)
        started = time.perf_counter()
        if self._next is not None:
            self._current = Invocation(
                request_id=request_id,
                payload=payload,
                deadline_ms=int(time.time() * 1000 + spec.timeout_s * 1000),
                function_arn=spec.function_arn,
                trace_id=trace_id,
                client_context=client_context,
                cognito_identity=cognito_identity,
            )
            call, self._next = self._next, None
            self._api.send(call.connection, self._current.http_response())
            self._pump(lambda: self._outcome is not None or self._exited, deadline, watch=True)
        duration_ms = (time.perf_counter() - started) * 1000
        self._sample_memory()
        self._drain_log()
        outcome = self._outcome
        if outcome is None:
            if not self._exited and time.monotonic() >= deadline:
                outcome = self._timeout(request_id)
            else:
                outcome = self._crash(request_id)
        elif outcome.status == "ok" and self._peak_kb > spec.memory_mb * 1024:
            outcome = self._out_of_memory(request_id)  # over the limit between two samples
        if outcome.status == "timeout":
            duration_ms = spec.timeout_s * 1000
        self._current = None
        max_memory_mb = max(1, math.ceil(self._peak_kb / 1024))
        body = self._log.text()
        if outcome.status == "timeout":
            body += f"{_timestamp()} {request_id} Task timed out after {spec.timeout_s:.2f} seconds\n"
        elif outcome.status in ("oom", "crash"):
            message = json.loads(outcome.payload)["errorMessage"]
            body += f"{message}\n{outcome.error_type}\n"
        platform_error = outcome.status in ("timeout", "oom", "crash")
        report = report_line(
            request_id,
            duration_ms=duration_ms,
            billed_ms=billed_duration(duration_ms),
            memory_mb=spec.memory_mb,
            max_memory_mb=max_memory_mb,
            init_duration_ms=self.init_duration_ms if cold else None,
            status=("timeout" if outcome.status == "timeout" else "error") if platform_error else None,
            error_type=outcome.error_type if outcome.status in ("oom", "crash") else None,
        )
        start = f"START RequestId: {request_id} Version: {spec.version}\n"
        log = f"{head}{start}{body}END RequestId: {request_id}\n{report}\n"
        self._log = LogBuffer()
        if platform_error:
            self._state = "closed"
            self._kill()
        else:
            self._state = "ready"
            sandbox.freeze()
            self._idle_since = time.monotonic()
        return InvokeResult(
            request_id=request_id,
            payload=outcome.payload,
            function_error=None if outcome.status == "ok" else "Unhandled",
            error_type=outcome.error_type,
            duration_ms=duration_ms,
            billed_duration_ms=billed_duration(duration_ms),
            max_memory_used_mb=max_memory_mb,
            init_duration_ms=self.init_duration_ms if cold else None,
            cold=cold,
            log=log,
            status=outcome.status,
        )

    def _init_failure_result(self, request_id: str) -> InvokeResult:
        failure = self._init_failure
        assert failure is not None and self.init_duration_ms is not None
        error_type = failure.error_type or "Runtime.Unknown"
        status = "timeout" if failure.status == "timeout" else "error"
        init_report = (
            f"INIT_REPORT Init Duration: {self.init_duration_ms:.2f} ms\tPhase: init\t"
            f"Status: {status}\tError Type: {error_type}"
        )
        report = report_line(
            request_id,
            duration_ms=0.0,
            billed_ms=billed_duration(0.0),
            memory_mb=self.spec.memory_mb,
            max_memory_mb=max(1, math.ceil(self._peak_kb / 1024)),
            init_duration_ms=self.init_duration_ms,
            status=status,
            error_type=error_type,
        )
        log = (
            f"{self._log.text()}{init_report}\nSTART RequestId: {request_id} Version: {self.spec.version}\n"
            f"END RequestId: {request_id}\n{report}\n"
        )
        self._state = "closed"
        return InvokeResult(
            request_id=request_id,
            payload=failure.payload,
            function_error="Unhandled",
            error_type=error_type,
            duration_ms=0.0,
            billed_duration_ms=billed_duration(0.0),
            max_memory_used_mb=max(1, math.ceil(self._peak_kb / 1024)),
            init_duration_ms=self.init_duration_ms,
            cold=True,
            log=log,
            status=failure.status,
        )

    def _timeout(self, request_id: str) -> _Outcome:
        self._kill_sandbox()
        message = f"RequestId: {request_id} Error: Task timed out after {self.spec.timeout_s:.2f} seconds"
        return _Outcome("timeout", error_body("Sandbox.Timedout", message), "Sandbox.Timedout")

    def _out_of_memory(self, request_id: str) -> _Outcome:
        self._kill_sandbox()
        message = _platform_message(request_id, "Runtime exited with error: signal: killed")
        return _Outcome("oom", error_body("Runtime.OutOfMemory", message), "Runtime.OutOfMemory")

    def _crash(self, request_id: str) -> _Outcome:
        assert self._sandbox is not None
        self._settle_exit()
        if any(self._log.contains(marker) for marker in _OOM_MARKERS):
            return self._out_of_memory(request_id)
        message = _platform_message(request_id, _exit_reason(self._sandbox.exit_status()))
        return _Outcome("crash", error_body("Runtime.ExitError", message), "Runtime.ExitError")

    # -- the selector loop --

    def _pump(self, done: Callable[[], bool], deadline: float, *, watch: bool = False) -> bool:
        """Serve the sandbox until ``done()`` (True) or the deadline (False)."""
        assert self._selector is not None
        poll = self._host.config.memory_poll_s
        next_sample = time.monotonic() + poll if watch else math.inf
        while not done():
            now = time.monotonic()
            if now >= deadline:
                return False
            for key, mask in self._selector.select(min(deadline, next_sample) - now):
                self._dispatch(key.data, mask)
            if time.monotonic() >= next_sample:
                next_sample = time.monotonic() + poll
                self._watchdog()
        return True

    def _dispatch(self, data: object, mask: int) -> None:
        assert self._api is not None and self._selector is not None and self._sandbox is not None
        if data is _LOG:
            self._read_log()
        elif data is _EXIT:
            self._exited = True
            self._selector.unregister(self._sandbox.pidfd)
        elif data is _ENDPOINT:
            self._accept_endpoint()
        elif self._api.owns(data):
            for call in self._api.handle(data, mask):
                self._on_call(call)
        elif self._splice is not None and self._splice.owns(data):
            self._splice.handle(data, mask)

    def _on_call(self, call: ApiCall) -> None:
        assert self._api is not None
        api, request = self._api, call.request
        if call.route is Route.NEXT:
            self._next = call
            return
        if call.route is Route.INIT_ERROR:
            if self._state != "created":
                api.reply(call.connection, 403, error_body("InvalidStateTransition", "init already done"))
                return
            error_type = request.headers.get("lambda-runtime-function-error-type") or _error_type(request.body)
            self._init_failure = _Outcome("error", request.body, error_type)
            api.reply(call.connection, 202, b'{"status":"OK"}')
            return
        current = self._current
        if current is None or call.request_id != current.request_id or self._outcome is not None:
            api.reply(call.connection, 400, error_body("InvalidRequestID", "Invalid request ID"))
            return
        if request.too_large:
            api.reply(call.connection, 413, error_body(
                "RequestEntityTooLarge", "Exceeded maximum allowed payload size (6291556 bytes)."))  # fmt: skip
            message = "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
            self._outcome = _Outcome("error", error_body("Function.ResponseSizeTooLarge", message),
                                     "Function.ResponseSizeTooLarge")  # fmt: skip
            return
        api.reply(call.connection, 202, b'{"status":"OK"}')
        if call.route is Route.RESPONSE:
            self._outcome = _Outcome("ok", request.body, None)
        else:
            error_type = request.headers.get("lambda-runtime-function-error-type") or _error_type(request.body)
            self._outcome = _Outcome("error", request.body, error_type)

    def _watchdog(self) -> None:
        """Memory size and /tmp file count are enforced here when no cgroup does it."""
        self._sample_memory()
        if self._exited:
            return
        assert self._sandbox is not None
        config = self._host.config
        over_memory = self._peak_kb > self.spec.memory_mb * 1024
        if not over_memory and self._sandbox.tmp_files() <= config.tmp_max_files:
            return
        request_id = self._current.request_id if self._current is not None else ""
        if over_memory:
            outcome = self._out_of_memory(request_id)
        else:
            self._log.feed(f"Sandbox: /tmp holds more than {config.tmp_max_files} files\n".encode())
            self._kill_sandbox()
            outcome = self._crash(request_id)
        if self._state == "created":
            self._init_failure = outcome
        elif self._outcome is None:
            self._outcome = outcome

    def _sample_memory(self) -> None:
        if self._sandbox is not None and not self._exited:
            self._sandbox.refresh()
            total, runtime_peak = self._sandbox.memory_kb(precise_above_kb=self.spec.memory_mb * 1024)
            self._peak_kb = max(self._peak_kb, total, runtime_peak)

    def _read_log(self) -> None:
        assert self._sandbox is not None and self._selector is not None
        while self._log_open:
            try:
                data = os.read(self._sandbox.log_fd, 65536)
            except BlockingIOError:
                return
            if not data:
                self._log_open = False
                self._selector.unregister(self._sandbox.log_fd)
                return
            self._log.feed(data)

    def _drain_log(self) -> None:
        if self._log_open:
            self._read_log()

    def _settle_exit(self) -> None:
        """The runtime is gone: collect bwrap's status and the last of the output."""
        assert self._sandbox is not None
        try:
            self._sandbox.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._sandbox.terminate()
        self._exited = True
        self._pump(lambda: not self._log_open, time.monotonic() + 1.0)

    def _accept_endpoint(self) -> None:
        assert self._endpoint is not None and self._splice is not None and self.spec.endpoint is not None
        try:
            inner, _ = self._endpoint.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            # Only ever the configured endpoint address: the sandbox chooses nothing here.
            outer = socket.create_connection(self.spec.endpoint, timeout=2)
        except OSError:
            inner.close()
            return
        outer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._splice.join(inner, outer)

    # -- teardown --

    def _kill_sandbox(self) -> None:
        assert self._sandbox is not None
        self._sandbox.terminate()
        self._exited = True
        self._drain_log()

    def _kill(self) -> None:
        if self._sandbox is not None:
            self._sandbox.terminate()
            self._drain_log()
            self._sandbox.release()
        self._teardown()

    def _teardown(self) -> None:
        if self._splice is not None:
            self._splice.close()
        if self._api is not None:
            self._api.close()
        if self._endpoint is not None:
            if self._selector is not None:
                self._selector.unregister(self._endpoint)
            self._endpoint.close()
        if self._selector is not None:
            self._selector.close()
        self._splice = self._api = self._endpoint = self._selector = None
        self._log_open = False


def _unix_listener(path: Path, owner_uid: int | None) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    if owner_uid is not None:
        os.chown(path, owner_uid, owner_uid)
    os.chmod(path, 0o600)
    listener.listen(16)
    listener.setblocking(False)
    return listener


def _platform_message(request_id: str, reason: str) -> str:
    return f"RequestId: {request_id} Error: {reason}" if request_id else f"Error: {reason}"


def _error_type(body: bytes) -> str:
    try:
        document = json.loads(body)
        return str(document.get("errorType") or "Unhandled")
    except (ValueError, AttributeError):
        return "Unhandled"


# --- the pool ---------------------------------------------------------------------------------


class EnvironmentPool:
    """Warm environments of one worker process, reused per function configuration and code.

    Thread-safe.  ``acquire`` hands out an idle environment of the same :meth:`FunctionSpec.pool_key`
    (warm start) or starts a new one (cold start); ``release`` gives it back, or drops it if it died.
    """

    def __init__(self, config: IsolationConfig | None = None) -> None:
        self._host = SandboxHost(config) if config is not None else default_host()
        self._lock = threading.Lock()
        self._idle: dict[tuple[object, ...], list[ExecutionEnvironment]] = {}
        self._busy: set[ExecutionEnvironment] = set()
        self._closed = False

    def acquire(self, spec: FunctionSpec) -> ExecutionEnvironment:
        key = spec.pool_key()
        stale = []
        env = None
        with self._lock:
            if self._closed:
                raise RuntimeError("pool is closed")
            idle = self._idle.get(key, [])
            while idle:
                candidate = idle.pop()
                if candidate.alive:
                    env = candidate
                    break
                stale.append(candidate)
            if not idle:
                self._idle.pop(key, None)
            if env is not None:
                self._busy.add(env)
        for dead in stale:
            dead.close()
        if env is not None:
            return env
        env = ExecutionEnvironment(spec, host=self._host)
        with self._lock:
            self._busy.add(env)
        try:
            env.start()
        except BaseException:
            with self._lock:
                self._busy.discard(env)
            env.close()
            raise
        return env

    def release(self, env: ExecutionEnvironment) -> None:
        with self._lock:
            self._busy.discard(env)
            if env.alive and not self._closed:
                self._idle.setdefault(env.spec.pool_key(), []).append(env)
                return
        env.close()

    def reap(self, idle_seconds: float) -> int:
        """Close environments idle for at least ``idle_seconds``; return how many."""
        cutoff = time.monotonic() - idle_seconds
        doomed = []
        with self._lock:
            for key in list(self._idle):
                keep = []
                for env in self._idle[key]:
                    idle_since = env.idle_since
                    if not env.alive or (idle_since is not None and idle_since <= cutoff):
                        doomed.append(env)
                    else:
                        keep.append(env)
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]
        for env in doomed:
            env.close()
        return len(doomed)

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            envs = [env for idle in self._idle.values() for env in idle] + list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for env in envs:
            env.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._busy) + sum(len(idle) for idle in self._idle.values())


_default_host: SandboxHost | None = None
_default_host_lock = threading.Lock()


def default_host() -> SandboxHost:
    """The process-wide :class:`SandboxHost` with the default :class:`IsolationConfig`."""
    global _default_host
    with _default_host_lock:
        if _default_host is None:
            _default_host = SandboxHost()
        return _default_host
