"""What tracing costs and how fast hops reach browsers.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/bench_tracing.py [--calls 20] [--rounds 30] [--clients 200] [--postgres URL]

1. Overhead: the p50 of six AWS API rows (STS, S3 put/get, DynamoDB put/get, SQS send) through
   boto3 against two live servers on one database, one with LAB_TRACING=true and one with
   LAB_TRACING=false, alternating call by call so drift hits both alike; reported pooled and as
   the median of the per-round ratios (target: ≤ +10%), with each server's CPU per call.
2. Delivery: a WebSocket client on the sandbox's events socket; p50/p99 of
   (a) ``hop_record`` called in this process (as a Celery task would) → the message arrives, and
   (b) the endpoint's answer reaches boto3 → that call's hop arrives (target p50 ≤ 50 ms).
3. Fan-out: ``--clients`` sockets on the one sandbox group; p99 over every client of
   ``hop_record`` → arrival (target ≤ 250 ms).

Needs REDIS_URL (the channel layer must cross processes). The database is a throwaway SQLite
file in a temp dir, or with ``--postgres URL`` a throwaway database on that server; keys in Redis
get a unique prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import PYTHON, free_port, percentile, process, wait  # noqa: E402


def fresh_postgres(server_url: str) -> str:
    """Create a throwaway database on ``server_url`` (postgres://user@host:port); return its URL."""
    import psycopg

    name = f"bench_tracing_{os.getpid()}"
    with psycopg.connect(f"{server_url.rstrip('/')}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return f"{server_url.rstrip('/')}/{name}"


def drop_postgres(database_url: str) -> None:
    import psycopg

    server_url, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def setup_django(workdir: Path, database_url: str | None) -> dict[str, str]:
    """Point this process at a fresh database; return the environment the servers get."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT", "LAB_TRACING")}
    if database_url:
        env["DATABASE_URL"] = database_url
    env |= {
        "LAB_VAR_DIR": str(workdir / "var"),
        "LOG_LEVEL": "WARNING",
        "LAB_REDIS_PREFIX": f"bench-tracing-{os.getpid()}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_SETTINGS_MODULE": "serverless_lab.settings",
    }
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def make_sandbox() -> tuple[Any, str]:
    """A sandbox without a rate quota, and a logged-in session cookie of its owner."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from serverless_lab.sandboxes.services import sandbox_create

    user = User.objects.create_user("bench", "bench@example.com", "bench-password-123")
    sandbox = sandbox_create(owner=user, name="bench")
    sandbox.max_requests_per_second = 1_000_000
    sandbox.save()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return sandbox, f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def server(env: dict[str, str], workdir: Path, tracing: bool) -> tuple[Any, str]:
    port = free_port()
    args = [
        PYTHON,
        "-m",
        "uvicorn",
        "serverless_lab.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
        "--ws",
        "websockets-sansio",
    ]
    server_env = env | {"LAB_TRACING": "true" if tracing else "false", "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    return process(args, server_env, workdir / f"lab-{'on' if tracing else 'off'}.log"), f"http://127.0.0.1:{port}"


def aws_client(service: str, url: str, sandbox: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=f"{url}/aws/",
        region_name="us-east-1",
        aws_access_key_id=sandbox.access_key_id,
        aws_secret_access_key=sandbox.secret_access_key,
        config=Config(retries={"max_attempts": 0}),
    )


def sts_client(url: str, sandbox: Any) -> Any:
    return aws_client("sts", url, sandbox)


def operations(url: str, sandbox: Any) -> dict[str, Any]:
    """The AWS API rows measured with tracing on and off: name → a call (both servers share the
    database, so the resources made through the first server serve the second)."""
    s3, dynamodb = aws_client("s3", url, sandbox), aws_client("dynamodb", url, sandbox)
    sqs, sts = aws_client("sqs", url, sandbox), aws_client("sts", url, sandbox)
    queue_url = sqs.create_queue(QueueName="bench-tracing")["QueueUrl"]
    try:
        s3.create_bucket(Bucket="bench-tracing")
        dynamodb.create_table(
            TableName="bench-tracing",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except Exception as error:  # the second server finds them made
        if "AlreadyOwnedByYou" not in str(error) and "ResourceInUse" not in str(error):
            raise
    body, item = b"x" * 1024, {"pk": {"S": "k"}, "n": {"N": "1"}}
    s3.put_object(Bucket="bench-tracing", Key="k", Body=body)
    return {
        "sts:GetCallerIdentity": sts.get_caller_identity,
        "s3:PutObject 1 KiB": lambda: s3.put_object(Bucket="bench-tracing", Key="k", Body=body),
        "s3:GetObject 1 KiB": lambda: s3.get_object(Bucket="bench-tracing", Key="k")["Body"].read(),
        "dynamodb:PutItem": lambda: dynamodb.put_item(TableName="bench-tracing", Item=item),
        "dynamodb:GetItem": lambda: dynamodb.get_item(TableName="bench-tracing", Key={"pk": {"S": "k"}}),
        "sqs:SendMessage": lambda: sqs.send_message(QueueUrl=queue_url, MessageBody="hello"),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far (Linux /proc) of a server, all of its threads and its live child
    processes (the hop writer's, on PostgreSQL) included."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


Samples = dict[str, dict[bool, list[list[float]]]]  # operation → tracing on? → one list per round


def overhead(
    urls: dict[bool, str], pids: dict[bool, int], sandbox: Any, calls: int, rounds: int
) -> tuple[Samples, dict[bool, float]]:
    """Latency samples per operation, server and round, and each server's CPU seconds per call (a
    figure that the machine's other load moves less than latency). Calls alternate between the two
    servers one by one (which goes first swaps every pair), so a load spike on the shared machine
    hits both alike."""
    calls_by_server = {tracing: operations(url, sandbox) for tracing, url in urls.items()}
    samples: Samples = {name: {True: [], False: []} for name in calls_by_server[True]}
    for calls_of in calls_by_server.values():
        for call in calls_of.values():
            for _ in range(20):  # warm connections, thread pools and caches
                call()
    time.sleep(0.3)  # let the writer finish the warm-up's hops
    cpu = {tracing: -cpu_seconds(pid) for tracing, pid in pids.items()}
    for _ in range(rounds):
        for name in samples:
            taken: dict[bool, list[float]] = {True: [], False: []}
            for index in range(calls):
                for tracing in (True, False) if index % 2 else (False, True):
                    start = time.perf_counter()
                    calls_by_server[tracing][name]()
                    taken[tracing].append(time.perf_counter() - start)
            for tracing in taken:
                samples[name][tracing].append(taken[tracing])
    time.sleep(0.3)
    total = rounds * calls * len(samples)
    for tracing, pid in pids.items():
        cpu[tracing] = (cpu[tracing] + cpu_seconds(pid)) / total
    return samples, cpu


async def open_socket(url: str, sandbox: Any, cookie: str) -> Any:
    from websockets.asyncio.client import connect

    socket = await connect(
        f"{url.replace('http', 'ws', 1)}/ws/sandboxes/{sandbox.pk}/events/",
        additional_headers={"Cookie": cookie},
        origin=url,
        max_queue=None,
    )
    assert json.loads(await socket.recv())["type"] == "hello"
    return socket


async def next_hop(socket: Any) -> dict[str, Any]:
    while True:
        message = json.loads(await socket.recv())
        if message["type"] == "trace.hop":
            return message


def record_one(sandbox: Any) -> float:
    from serverless_lab.tracing.services import hop_record

    start = time.perf_counter()
    hop_record(sandbox_id=sandbox.pk, trace=None, from_node="client", to_node="service:bench", action="bench:Hop")
    return start


async def delivery(url: str, sandbox: Any, cookie: str, hops: int) -> tuple[list[float], list[float]]:
    socket = await open_socket(url, sandbox, cookie)
    recorded: list[float] = []
    for _ in range(hops):
        start = await asyncio.to_thread(record_one, sandbox)
        await next_hop(socket)
        recorded.append(time.perf_counter() - start)
    client = sts_client(url, sandbox)
    answered: list[float] = []
    for _ in range(hops):
        await asyncio.to_thread(client.get_caller_identity)
        start = time.perf_counter()
        await next_hop(socket)
        answered.append(time.perf_counter() - start)
    await socket.close()
    return recorded, answered


async def fan_out(url: str, sandbox: Any, cookie: str, clients: int, hops: int) -> list[float]:
    sockets = [await open_socket(url, sandbox, cookie) for _ in range(clients)]
    latencies: list[float] = []
    for _ in range(hops):
        start = await asyncio.to_thread(record_one, sandbox)
        arrivals = await asyncio.gather(*(next_hop(socket) for socket in sockets))
        assert len(arrivals) == clients
        latencies.append(time.perf_counter() - start)  # the slowest of all clients for this hop
    await asyncio.gather(*(socket.close() for socket in sockets))
    return latencies


def ms(value: float) -> str:
    return f"{value * 1000:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="calls per operation per server per round")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--hops", type=int, default=200, help="hops for each delivery measurement")
    parser.add_argument("--clients", type=int, default=200, help="sockets in the fan-out measurement")
    parser.add_argument(
        "--postgres", metavar="URL", help="use a throwaway database on this server (postgres://postgres@127.0.0.1:5432)"
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL (e.g. redis://127.0.0.1:6379/0): WebSocket delivery crosses processes")
    database_url = fresh_postgres(args.postgres) if args.postgres else None
    with tempfile.TemporaryDirectory(prefix="bench-tracing-") as tmp:
        workdir = Path(tmp)
        env = setup_django(workdir, database_url)
        sandbox, cookie = make_sandbox()
        on_server, on_url = server(env, workdir, tracing=True)
        off_server, off_url = server(env, workdir, tracing=False)
        with on_server as on_process, off_server as off_process:
            for url in (on_url, off_url):
                wait(int(url.rsplit(":", 1)[1]))
            samples, cpu = overhead(
                {True: on_url, False: off_url},
                {True: on_process.pid, False: off_process.pid},
                sandbox,
                args.calls,
                args.rounds,
            )
            recorded, answered = asyncio.run(delivery(on_url, sandbox, cookie, args.hops))
            fanned = asyncio.run(fan_out(on_url, sandbox, cookie, args.clients, max(20, args.hops // 4)))
        if database_url:
            from django.db import connections

            connections.close_all()
            drop_postgres(database_url)
    print(f"{'AWS API row':<24} {'p50 off':>9} {'p50 on':>9} {'pooled':>8} {'median of rounds':>17}")
    per_round_all: list[float] = []
    for name, by_server in samples.items():
        off_p50 = statistics.median(x for taken in by_server[False] for x in taken)
        on_p50 = statistics.median(x for taken in by_server[True] for x in taken)
        per_round = [
            statistics.median(on) / statistics.median(off) - 1 for on, off in zip(by_server[True], by_server[False], strict=True)
        ]
        per_round_all += per_round
        print(
            f"{name:<24} {ms(off_p50)} {ms(on_p50)} {(on_p50 / off_p50 - 1) * 100:+7.1f}% "
            f"{statistics.median(per_round) * 100:+16.1f}%"
        )
    print(f"tracing overhead on the p50, median over every row and round: {statistics.median(per_round_all) * 100:+.1f}% (target ≤ +10%)")
    print(
        f"server CPU per call: off {cpu[False] * 1000:.2f} ms, on {cpu[True] * 1000:.2f} ms "
        f"({(cpu[True] / cpu[False] - 1) * 100:+.1f}%, the writer's work included, in its thread or process)"
    )
    rows = [
        ("hop_record → WebSocket client", recorded, "target p50 ≤ 50 ms"),
        ("endpoint answer → its hop on the socket", answered, ""),
        (f"hop_record → all {args.clients} clients", fanned, "target p99 ≤ 250 ms"),
    ]
    for name, values, target in rows:
        p50, p99 = ms(statistics.median(values)), ms(percentile(values, 0.99))
        print(f"{name:<42} p50 {p50}  p99 {p99}  n={len(values):<5} {target}")

if __name__ == "__main__":
    main()
