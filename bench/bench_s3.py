"""S3 benchmark: Serverless Lab against moto_server, side by side, through boto3 over loopback HTTP.

    .venv/bin/python bench/bench_s3.py [--small 300] [--large 100] [--lists 30] [--rounds 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/serverless_lab REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_s3.py
    .venv/bin/python bench/bench_s3.py --backend   # S3's own work only: no HTTP, no endpoint, no moto

Starts both servers itself on free loopback ports: ours as uvicorn with filesystem storage that
fsyncs every object under a fresh LAB_VAR_DIR, moto_server in memory. Without DATABASE_URL ours
runs on SQLite in that var dir; with it (PostgreSQL, what CI and deployments use) on a throwaway
database ``<name>_bench_s3_<pid>`` next to the one named, dropped afterwards, and with REDIS_URL on
Redis under its own key prefix. Each operation runs in ``--rounds`` alternating blocks (lab, moto,
lab, …) so load from elsewhere on the machine falls on both alike. Prints p50/p99 latency and ops/s
for put/get of 1 KiB and 1 MiB objects and list_objects_v2 of 1,000 keys, and our p50 as a ratio
of moto's (lower is better; the issue's target is <= 1.0x). Also the CPU time each server used
per call (user + system, from /proc; ours includes its PostgreSQL backends), which depends far
less than latency on what else the machine runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import bench_database, bench_sandbox, lab_server, moto, percentile, timed  # noqa: E402


def serverless_lab(workdir: Path) -> Any:
    """Our server; yields the endpoint URL, a sandbox's credentials and the database's name."""
    return lab_server(workdir, "s3")


def client(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


Suite = dict[str, tuple[int, Callable[[int], Any]]]  # operation -> (calls, call(i))


def operations(s3: Any, args: argparse.Namespace) -> Suite:
    """The timed calls against one server (its buckets made and the listed one filled first)."""
    s3.create_bucket(Bucket="bench-bucket")
    s3.create_bucket(Bucket="bench-list")
    for i in range(1000):
        s3.put_object(Bucket="bench-list", Key=f"k/{i:04d}", Body=b"x")
    small, large = os.urandom(1024), os.urandom(1024 * 1024)

    def listing(i: int) -> None:
        if s3.list_objects_v2(Bucket="bench-list")["KeyCount"] != 1000:
            sys.exit("short listing")

    return {
        "put 1 KiB": (args.small, lambda i: s3.put_object(Bucket="bench-bucket", Key=f"small/{i}", Body=small)),
        "get 1 KiB": (args.small, lambda i: s3.get_object(Bucket="bench-bucket", Key=f"small/{i}")["Body"].read()),
        "put 1 MiB": (args.large, lambda i: s3.put_object(Bucket="bench-bucket", Key=f"large/{i}", Body=large)),
        "get 1 MiB": (args.large, lambda i: s3.get_object(Bucket="bench-bucket", Key=f"large/{i}")["Body"].read()),
        "list_objects_v2 1,000 keys": (args.lists, listing),
    }


def serving_pids(port: int) -> list[int]:
    """The process listening on ``port`` (found by its command line), and the PostgreSQL backends of
    this benchmark's throwaway database when it is ours on PostgreSQL."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if str(port).encode() in argv and (b"--port" in argv or b"-p" in argv):
            pids.append(int(entry.name))
    return pids


def database_backends() -> list[int]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return []
    import psycopg

    # pg_stat_activity covers every database: ask the maintenance one, which always exists.
    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname LIKE %s", [f"%\\_bench\\_s3\\_{os.getpid()}"]
        )
        return [row[0] for row in rows]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (all their threads)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


Results = dict[str, dict[str, list[float]]]  # server -> operation -> samples


def interleaved(
    suites: dict[str, Suite], rounds: int, pids: dict[str, Callable[[], list[int]]]
) -> tuple[Results, Results]:
    """Each operation in ``rounds`` alternating blocks per server; a get reads keys its put wrote.
    Returns latencies, and per operation the server's CPU seconds and the calls they were spent on."""
    results: Results = {name: {} for name in suites}
    cpu: Results = {name: {} for name in suites}
    for operation, (count, _) in next(iter(suites.values())).items():
        block = max(1, count // rounds)
        for first in range(0, block * rounds, block):
            for name, suite in suites.items():
                call = suite[operation][1]
                call(first)  # warm, outside the CPU window (timed() repeats it)
                processes = pids[name]()
                before = cpu_seconds(processes)
                samples = timed(block, lambda i, call=call, first=first: call(first + i))
                spent = cpu[name].setdefault(operation, [0.0, 0.0])
                spent[0] += cpu_seconds(processes) - before
                spent[1] += block + 1
                results[name].setdefault(operation, []).extend(samples)
    return results, cpu


def backend_costs(args: argparse.Namespace) -> None:
    """S3's own work per call, apart from the AWS endpoint every service shares (signature, sandbox
    lookup, rate counter, parsing, tracing): ``backend.put_object`` and ``get_object`` +
    ``read_object`` called in this process, on a throwaway database as for the servers. Prints the
    p50 wall time and this process's CPU time per call (all its threads: a large body's MD5 and
    fsyncs run on pool threads), which excludes the database server's own CPU."""
    database_url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        with bench_database(database_url, "s3") if database_url else nullcontext("") as url:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT")}
            env |= {"LAB_VAR_DIR": str(Path(tmp) / "var"), "LOG_LEVEL": "WARNING"}
            if url:
                env["DATABASE_URL"] = url
            credentials = bench_sandbox(env)
            os.environ.clear()
            os.environ.update(env, DJANGO_SETTINGS_MODULE="serverless_lab.settings")
            import django

            django.setup()
            from django.db import connections

            from serverless_lab.cloud.s3 import backend
            from serverless_lab.sandboxes.models import Sandbox

            sandbox = Sandbox.objects.get(pk=credentials["id"])
            backend.create_bucket(sandbox=sandbox, name="bench-bucket", region="us-east-1")
            rows = []
            for label, body, count in (("1 KiB", os.urandom(1024), args.small), ("1 MiB", os.urandom(1 << 20), args.large)):
                calls = {
                    "put": lambda i, label=label, body=body: backend.put_object(
                        sandbox=sandbox, bucket_name="bench-bucket", key=f"{label}/{i}", body=body,
                        fields=backend.ObjectFields(),
                    ),
                    "get": lambda i, label=label: backend.read_object(
                        backend.get_object(sandbox=sandbox, bucket_name="bench-bucket", key=f"{label}/{i}")
                    ),
                }
                for verb, call in calls.items():
                    started = time.process_time()
                    samples = timed(count, call)
                    rows.append((f"{verb} {label}", statistics.median(samples), (time.process_time() - started) / (count + 1)))
            connections.close_all()
    vendor = "PostgreSQL" if database_url else "SQLite"
    print(f"S3 backend in process on {vendor}, load average " + " / ".join(f"{n:.1f}" for n in os.getloadavg()))
    print(f"{'operation':<12} {'p50':>9} {'CPU/call':>9}")
    for name, p50, cpu in rows:
        print(f"{name:<12} {p50 * 1000:>7.2f}ms {cpu * 1000:>7.2f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=300, help="1 KiB puts and gets")
    parser.add_argument("--large", type=int, default=100, help="1 MiB puts and gets")
    parser.add_argument("--lists", type=int, default=30, help="list_objects_v2 calls over 1,000 keys")
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks per operation")
    parser.add_argument("--backend", action="store_true", help="time S3's own work only, in this process")
    args = parser.parse_args()
    if args.backend:
        backend_costs(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        workdir = Path(tmp)
        with serverless_lab(workdir) as (endpoint, creds, database), moto(workdir) as moto_endpoint:
            suites = {
                "lab": operations(client(endpoint, creds["access_key_id"], creds["secret_access_key"]), args),
                "moto": operations(client(moto_endpoint, "testing", "testing"), args),
            }
            lab_port, moto_port = (int(url.split(":")[2].split("/")[0]) for url in (endpoint, moto_endpoint))
            pids = {
                "lab": lambda: serving_pids(lab_port) + database_backends(),
                "moto": lambda: serving_pids(moto_port),
            }
            results, cpu = interleaved(suites, args.rounds, pids)
    load = os.getloadavg()
    print(f"lab on {database}, {args.rounds} alternating rounds, load average " + " / ".join(f"{n:.1f}" for n in load))
    columns = ("lab p50", "lab p99", "lab op/s", "moto p50", "moto p99", "moto op/s", "p50 ratio", "lab CPU", "moto CPU")
    header = f"{'operation':<28} " + " ".join(f"{column:>9}" for column in columns)
    print(header)
    print("-" * len(header))
    for name, samples in results["lab"].items():
        other = results["moto"][name]
        p50, q50 = statistics.median(samples), statistics.median(other)
        lab = f"{p50 * 1000:>7.2f}ms {percentile(samples, 0.99) * 1000:>7.2f}ms {len(samples) / sum(samples):>9.0f}"
        ref = f"{q50 * 1000:>7.2f}ms {percentile(other, 0.99) * 1000:>7.2f}ms {len(other) / sum(other):>9.0f}"
        cpus = (cpu[server][name][0] / cpu[server][name][1] * 1000 for server in ("lab", "moto"))
        print(f"{name:<28} {lab} {ref} {p50 / q50:>8.2f}x " + " ".join(f"{c:>7.2f}ms" for c in cpus))


if __name__ == "__main__":
    main()
