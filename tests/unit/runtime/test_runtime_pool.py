"""The per-process pool: warm reuse per configuration and code, dead environments dropped, reaping."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from serverless_lab.runtime import EnvironmentPool, ExecutionEnvironment, FunctionSpec

Write = Callable[..., Path]
MakeSpec = Callable[..., FunctionSpec]
CODE = {"lambda_function.py": "import os\ndef handler(event, context):\n    return os.getpid()\n"}


@pytest.fixture
def pool() -> Iterator[EnvironmentPool]:
    pool = EnvironmentPool()
    yield pool
    pool.close_all()


def _invoke(pool: EnvironmentPool, spec: FunctionSpec, request_id: str) -> tuple[bool, bytes]:
    env = pool.acquire(spec)
    try:
        result = env.invoke(b"{}", request_id=request_id)
        return result.cold, result.payload
    finally:
        pool.release(env)


def test_an_idle_environment_is_reused_warm(pool: EnvironmentPool, make_spec: MakeSpec, write_code: Write) -> None:
    spec = make_spec(write_code(CODE), code_sha256="sha-1")
    assert _invoke(pool, spec, "a")[0] is True
    assert _invoke(pool, spec, "b")[0] is False
    assert len(pool) == 1


def test_new_code_or_configuration_gets_a_new_environment(
    pool: EnvironmentPool, make_spec: MakeSpec, write_code: Write
) -> None:
    spec = make_spec(write_code(CODE), code_sha256="sha-1")
    _invoke(pool, spec, "a")
    assert _invoke(pool, dataclasses.replace(spec, code_sha256="sha-2"), "b")[0] is True
    assert _invoke(pool, dataclasses.replace(spec, memory_mb=256), "c")[0] is True
    assert _invoke(pool, dataclasses.replace(spec, environment={"A": "1"}), "d")[0] is True
    assert _invoke(pool, spec, "e")[0] is False
    assert len(pool) == 4


def test_busy_environments_are_not_shared(pool: EnvironmentPool, make_spec: MakeSpec, write_code: Write) -> None:
    spec = make_spec(write_code(CODE))
    first, second = pool.acquire(spec), pool.acquire(spec)
    assert first is not second
    pids = {first.invoke(b"{}", request_id="1").payload, second.invoke(b"{}", request_id="2").payload}
    assert len(pids) == 1  # each sandbox has its own PID namespace: the runtime is PID 2 in both
    pool.release(first)
    pool.release(second)
    assert len(pool) == 2


def test_a_dead_environment_is_replaced(pool: EnvironmentPool, make_spec: MakeSpec, write_code: Write) -> None:
    code = write_code({"lambda_function.py": "import os\ndef handler(event, context):\n    os._exit(1)\n"})
    spec = make_spec(code)
    env = pool.acquire(spec)
    assert env.invoke(b"{}", request_id="a").status == "crash"
    pool.release(env)
    assert len(pool) == 0
    assert pool.acquire(spec) is not env


def test_reap_closes_environments_idle_long_enough(
    pool: EnvironmentPool, make_spec: MakeSpec, write_code: Write
) -> None:
    spec = make_spec(write_code(CODE))
    _invoke(pool, spec, "a")
    assert pool.reap(idle_seconds=60) == 0
    time.sleep(0.05)
    assert pool.reap(idle_seconds=0.01) == 1
    assert len(pool) == 0
    assert _invoke(pool, spec, "b")[0] is True


def test_concurrent_invocations_from_many_threads(
    pool: EnvironmentPool, make_spec: MakeSpec, write_code: Write
) -> None:
    spec = make_spec(write_code(CODE))
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                env = pool.acquire(spec)
                try:
                    assert env.invoke(b"{}", request_id=f"{n}-{i}").status == "ok"
                finally:
                    pool.release(env)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert 1 <= len(pool) <= 4


def test_close_all_closes_everything(pool: EnvironmentPool, make_spec: MakeSpec, write_code: Write) -> None:
    spec = make_spec(write_code(CODE))
    busy = pool.acquire(spec)
    _invoke(pool, spec, "idle")
    pool.close_all()
    assert busy.state == "closed" and len(pool) == 0
    with pytest.raises(RuntimeError):
        pool.acquire(spec)


def test_closing_from_another_thread_ends_a_running_invocation(make_spec: MakeSpec, write_code: Write) -> None:
    code = write_code({"lambda_function.py": "import time\ndef handler(event, context):\n    time.sleep(30)\n"})
    env = ExecutionEnvironment(make_spec(code, timeout_s=60))
    env.start()
    results = []
    worker = threading.Thread(target=lambda: results.append(env.invoke(b"{}", request_id="long")))
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    env.close()
    worker.join(10)
    assert time.monotonic() - started < 5
    assert results[0].status == "crash" and results[0].error_type == "Runtime.ExitError"
    assert env.state == "closed" and not env.alive
