"""Lambda benchmark: Invoke through boto3 end to end, and the execution environment on its own.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/serverless_lab REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_lambda.py [--warm 500] [--cold 30] [--burst 600] [--clients 4] [--workers 2]

Runs what a deployment runs: uvicorn and the Celery workers of ``ops.workers`` (``--workers``
processes for the default and delivery queues, as many threads for the runtime queue) on PostgreSQL
and Redis, on a throwaway database ``<name>_bench_lambda_<pid>`` and its own Redis key
prefix (so nothing else's workers take its tasks). A trivial Python handler (``return event``):

* warm invoke: sequential RequestResponse invokes once every worker process has a warm environment;
* cold invoke: an UpdateFunctionConfiguration (a new environment variable, so no environment
  matches) before each invoke; only the invoke is timed, and its log must show ``Init Duration``;
* sustained: ``--clients`` threads, each with its own boto3 client, invoking back to back;
  invokes/s over the whole burst, and the latency each client saw;
* CPU per warm invoke: user + system time of the lab's processes (uvicorn and its trace writer, the
  runtime worker, the sandboxes, the other worker) and of their PostgreSQL backends over the warm
  invokes, divided by their number, in total and per part: less at the mercy of a busy machine than
  the latencies;
* environment level (no HTTP, no Celery, no database): ``ExecutionEnvironment.start()`` (cold start)
  and ``invoke()`` on a warm one, in this process.

Prints p50/p99 (and the minimum, telling on a shared machine) against the issue's targets; nothing
is asserted. ``--rounds N`` repeats the end-to-end measurements N times, interleaved, so a busy
moment on a shared machine shows up as a spread between rounds rather than as one bad figure.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import bench_database, bench_sandbox, drop_redis_keys, free_port, percentile, process, uvicorn, wait  # noqa: E402

from serverless_lab.ops.workers import worker_commands  # noqa: E402
from serverless_lab.runtime import ExecutionEnvironment, FunctionSpec  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/bench"
SOURCE = "def handler(event, context):\n    return event\n"
EVENT = json.dumps({"n": 1, "text": "x" * 64}).encode()


@dataclass
class Lab:
    endpoint: str
    credentials: dict[str, Any]
    pids: list[int]  # uvicorn, the runtime worker (the sandboxes descend from it), the other worker
    database_url: str


def _stat_fields(pid: int | str) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # from field 3 (state) on


CPU_PARTS = ("uvicorn", "trace writer", "runtime worker", "sandboxes", "other worker", "PostgreSQL")


def cpu_seconds(lab: Lab) -> dict[str, float]:
    """CPU time (user + system) used so far by the lab's processes and their descendants, and by
    the PostgreSQL backends connected to its database, per part (``CPU_PARTS``). Unlike wall-clock
    latency, this hardly depends on what else the machine is running."""
    import psycopg

    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(entry.name)[1]), []).append(int(entry.name))
            except (OSError, ValueError):
                continue
    with psycopg.connect(lab.database_url, autocommit=True) as conn:
        backends = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )]  # fmt: skip
    web, runtime, other = lab.pids
    roots: dict[str, tuple[list[int], bool]] = {  # a part's processes, and whether their descendants count
        "uvicorn": ([web], False),
        "trace writer": (children.get(web, []), True),
        "runtime worker": ([runtime], False),
        "sandboxes": (children.get(runtime, []), True),
        "other worker": ([other], True),
        "PostgreSQL": (backends, False),
    }
    ticks = dict.fromkeys(CPU_PARTS, 0)
    for part, (todo, descend) in roots.items():
        todo, seen = list(todo), set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                fields = _stat_fields(pid)
            except OSError:
                continue
            ticks[part] += int(fields[11]) + int(fields[12])  # utime, stime
            if descend:
                todo.extend(children.get(pid, []))
    return {part: count / os.sysconf("SC_CLK_TCK") for part, count in ticks.items()}


@contextmanager
def serverless_lab(workdir: Path, workers: int) -> Iterator[Lab]:
    """uvicorn and a runtime worker on a fresh database, and a sandbox's credentials."""
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL: invocations run on a Celery worker")
    prefix = f"bench-lambda-{os.getpid()}"
    with bench_database(os.environ["DATABASE_URL"], "lambda") as database_url:
        port = free_port()
        env = dict(os.environ) | {
            "DATABASE_URL": database_url,
            "LAB_REDIS_PREFIX": prefix,
            "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MEDIA_ROOT": str(workdir / "media"),
            "LOG_LEVEL": "WARNING",
        }
        credentials = bench_sandbox(env)
        other, runtime = worker_commands(
            concurrency=workers, name=f"bench-{os.getpid()}", loglevel="WARNING",
            extra=["--without-gossip", "--without-mingle"],
        )  # fmt: skip
        try:
            with (
                process(uvicorn(port), env, workdir / "lab.log") as web,
                process(runtime.argv, env, workdir / "runtime.log") as runtime_worker,
                process(other.argv, env, workdir / "worker.log") as other_worker,
            ):
                wait(port)
                pids = [web.pid, runtime_worker.pid, other_worker.pid]
                yield Lab(f"http://127.0.0.1:{port}/aws/", credentials, pids, database_url)
        finally:
            drop_redis_keys(os.environ["REDIS_URL"], prefix)


def lambda_client(endpoint: str, credentials: dict[str, Any]) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        config=Config(retries={"max_attempts": 1}, read_timeout=120, max_pool_connections=4),
    )


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", SOURCE)
    return buffer.getvalue()


def invoke(client: Any, name: str, **kwargs: Any) -> dict[str, Any]:
    answer = client.invoke(FunctionName=name, Payload=EVENT, **kwargs)
    body = answer["Payload"].read()
    if answer.get("FunctionError") or json.loads(body) != json.loads(EVENT):
        sys.exit(f"{name}: unexpected answer {answer.get('FunctionError')} {body[:300]!r}")
    return answer


def timed_invokes(client: Any, name: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        invoke(client, name)
        samples.append(time.perf_counter() - started)
    return samples


def cold_invokes(client: Any, name: str, count: int, round_: int) -> tuple[list[float], list[float]]:
    """End-to-end time of invokes that each need a new environment; and the Init Duration each reported."""
    samples, inits = [], []
    for index in range(count):
        client.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"COLD": f"{round_}-{index}"}}
        )
        started = time.perf_counter()
        answer = invoke(client, name, LogType="Tail")
        samples.append(time.perf_counter() - started)
        log = base64.b64decode(answer["LogResult"]).decode()
        if "Init Duration:" not in log:
            sys.exit(f"a cold invoke was warm:\n{log}")
        inits.append(float(log.split("Init Duration:")[1].split("ms")[0]) / 1000)
    return samples, inits


def sustained(endpoint: str, credentials: dict[str, Any], name: str, clients: int, total: int) -> tuple[float, list[float]]:
    """``total`` invokes from ``clients`` threads at once; returns invokes/s and every latency."""
    boto = [lambda_client(endpoint, credentials) for _ in range(clients)]
    for client in boto:
        invoke(client, name)  # connect
    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def run(index: int) -> None:
        barrier.wait()
        latencies[index] = timed_invokes(boto[index], name, total // clients)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [sample for samples in latencies for sample in samples]
    return len(flat) / elapsed, flat


def environment_level(workdir: Path, cold_runs: int, warm_runs: int) -> tuple[list[float], list[float]]:
    """Cold ``start()`` and warm ``invoke()`` of an ExecutionEnvironment in this process."""
    code = workdir / "env-code"
    code.mkdir(mode=0o755)
    (code / "app.py").write_text(SOURCE)
    (code / "app.py").chmod(0o644)
    spec = FunctionSpec(
        function_name="bench", function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        runtime="python3.11", handler="app.handler", code_dir=code,
    )  # fmt: skip
    ExecutionEnvironment(spec).start()  # host set-up, bootstrap bytecode
    cold = []
    for _ in range(cold_runs):
        env = ExecutionEnvironment(spec)
        started = time.perf_counter()
        env.start()
        cold.append(time.perf_counter() - started)
        env.close()
    env = ExecutionEnvironment(spec)
    env.start()
    warm = []
    for index in range(warm_runs + 50):
        started = time.perf_counter()
        result = env.invoke(EVENT, request_id=f"bench-{index}")
        if result.status != "ok":
            sys.exit(result.log)
        if index >= 50:
            warm.append(time.perf_counter() - started)
    env.close()
    return cold, warm


def row(name: str, samples: list[float], target: str = "") -> str:
    ms = sorted(sample * 1000 for sample in samples)
    return (
        f"{name:<34} {statistics.median(ms):>8.2f} {percentile(ms, 0.99):>8.2f} {ms[0]:>8.2f} {len(ms):>6}   {target}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=500, help="sequential warm invokes per round")
    parser.add_argument("--cold", type=int, default=30, help="cold invokes per round")
    parser.add_argument("--burst", type=int, default=600, help="invokes of the sustained run per round")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients of the sustained run")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes / runtime threads")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the end-to-end measurements, interleaved")
    parser.add_argument("--env-cold", type=int, default=30, help="environment-level cold starts")
    parser.add_argument("--env-warm", type=int, default=1000, help="environment-level warm invokes")
    args = parser.parse_args()

    warm: list[float] = []
    cold: list[float] = []
    init: list[float] = []
    burst: list[float] = []
    rates: list[float] = []
    cpu_per_invoke: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)
        with serverless_lab(workdir, args.workers) as lab:
            endpoint, credentials = lab.endpoint, lab.credentials
            client = lambda_client(endpoint, credentials)
            client.create_function(
                FunctionName="echo", Runtime="python3.11", Handler="app.handler", Role=ROLE,
                Code={"ZipFile": code_zip()},
            )  # fmt: skip
            client.create_function(
                FunctionName="cold", Runtime="python3.11", Handler="app.handler", Role=ROLE,
                Code={"ZipFile": code_zip()},
            )  # fmt: skip
            # The first invokes also wait for the workers; a short burst leaves the runtime worker a warm
            # environment for each invoke it runs at once.
            for _ in range(4 * args.workers + 10):
                invoke(client, "echo")
            sustained(endpoint, credentials, "echo", args.clients, 4 * args.clients)
            for round_ in range(args.rounds):
                cpu_before = cpu_seconds(lab)
                warm += timed_invokes(client, "echo", args.warm)
                cpu_after = cpu_seconds(lab)
                cpu_per_invoke.append({part: (cpu_after[part] - cpu_before[part]) / args.warm for part in CPU_PARTS})
                samples, inits = cold_invokes(client, "cold", args.cold, round_)
                cold += samples
                init += inits
                rate, latencies = sustained(endpoint, credentials, "echo", args.clients, args.burst)
                rates.append(rate)
                burst += latencies
                print(f"round {round_ + 1}: warm p50 {statistics.median(warm[-args.warm:]) * 1000:.2f} ms, "
                      f"cold p50 {statistics.median(samples) * 1000:.2f} ms, sustained {rate:.0f}/s, "
                      f"CPU {sum(cpu_per_invoke[-1].values()) * 1000:.2f} ms per warm invoke", flush=True)
        env_cold, env_warm = environment_level(workdir, args.env_cold, args.env_warm)

    header = f"{'measure':<34} {'p50 ms':>8} {'p99 ms':>8} {'min ms':>8} {'n':>6}   target"
    print()
    print(header)
    print("-" * len(header))
    print(row("warm invoke, boto3 end to end", warm, "p50 <= 10, p99 <= 30"))
    print(row("cold invoke, boto3 end to end", cold))
    print(row("  Init Duration reported", init))
    print(row(f"sustained, {args.clients} clients: latency", burst))
    print(row("environment start() (cold start)", env_cold, "p50 <= 60"))
    print(row("environment invoke() (warm)", env_warm, "raw overhead"))
    print()
    rates_text = ", ".join(f"{rate:.0f}" for rate in rates)
    print(f"sustained throughput, {args.workers} workers, {args.clients} clients: {rates_text} invokes/s "
          f"(target >= 100)")  # fmt: skip
    cpu_text = ", ".join(f"{sum(cpu.values()) * 1000:.2f}" for cpu in cpu_per_invoke)
    print(f"CPU per warm invoke (uvicorn, workers, sandboxes, their PostgreSQL backends): {cpu_text} ms")
    for part in CPU_PARTS:
        print(f"  {part:<16} " + ", ".join(f"{cpu[part] * 1000:.2f}" for cpu in cpu_per_invoke) + " ms")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
