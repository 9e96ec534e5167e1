"""Shared fixtures: the cast of characters, and the real running lab for the integration tier.

Cast (one across the suite): Alice is a student who owns a sandbox, Bob is an instructor whose
classroom Alice joined, Charlie has no access to either.

``live_lab`` starts what a user runs, as separate processes against the test database: the ASGI
server (uvicorn) and the Celery workers. Tests that use it must commit their data
(``transactional_db``) so those processes can see it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.contrib.auth.models import User

from serverless_lab.accounts.models import Classroom
from serverless_lab.accounts.services import instructor_create
from serverless_lab.ops.dburl import connection_url
from serverless_lab.ops.embedded import free_port, wait_for_port
from serverless_lab.ops.workers import worker_commands
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.services import sandbox_create

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


def _patient_flush() -> None:
    """Retry the flush that ends a transactional test when it loses a lock fight.

    The live lab's worker may still be finishing something a test started (an async invoke, a
    delivery) while TRUNCATE wants every table: PostgreSQL then picks one side of the deadlock.
    If that is the flush, wait for the worker's transaction and flush again, rather than leave the
    next test a database full of the last one's rows.
    """
    from django.db import OperationalError
    from django.test.testcases import TransactionTestCase

    flush = TransactionTestCase._fixture_teardown

    def teardown(self: TransactionTestCase) -> None:
        for attempt in range(5):
            try:
                return flush(self)
            except Exception as error:  # flush wraps the database error in a CommandError
                if attempt == 4 or not isinstance(error.__cause__ or error.__context__ or error, OperationalError):
                    raise
                time.sleep(0.5 * (attempt + 1))

    TransactionTestCase._fixture_teardown = teardown  # type: ignore[method-assign]


_patient_flush()

# The test process's own endpoint calls (the Django test client) keep their hop writer in a thread:
# unit tests catch its broadcasts in process. The live lab's server uses the default, a writer
# process on PostgreSQL with Redis (tests/integration/test_trace_writer_process.py).
settings.LAB_TRACE_WRITER = "thread"


@dataclass
class Cast:
    alice: User
    bob: User
    charlie: User
    sandbox: Sandbox


@pytest.fixture
def cast(db: Any) -> Cast:
    alice = User.objects.create_user("alice", "alice@example.com", PASSWORD)
    bob, _ = instructor_create(username="bob", email="bob@example.com", password=PASSWORD)
    charlie = User.objects.create_user("charlie", "charlie@example.com", PASSWORD)
    classroom = Classroom.objects.create(name="Serverless 101", instructor=bob)
    classroom.students.add(alice)
    sandbox = sandbox_create(owner=alice, name="alice-sandbox")
    return Cast(alice=alice, bob=bob, charlie=charlie, sandbox=sandbox)


# --- the live lab ----------------------------------------------------------------------------


def _database_url() -> str:
    from django.db import connection

    return connection_url(connection.settings_dict)


@dataclass
class LiveLab:
    url: str
    env: dict[str, str]

    @property
    def endpoint_url(self) -> str:
        return f"{self.url}/{settings.AWS_ENDPOINT_PREFIX}"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def client(self, service: str, sandbox: Sandbox, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` signed with ``sandbox``'s keys, talking over real HTTP."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=sandbox.region,
            aws_access_key_id=sandbox.access_key_id,
            aws_secret_access_key=sandbox.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60),
            **kwargs,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def live_lab(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLab]:
    if not settings.REDIS_URL:
        pytest.fail("the integration tier needs Redis: run `python3 -m serverless_lab test` or set REDIS_URL")
    with django_db_blocker.unblock():
        database_url = _database_url()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("live-lab")
    env = os.environ | {
        "DATABASE_URL": database_url,
        "LAB_PUBLIC_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serverless_lab.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--lifespan", "off", "--ws", "websockets-sansio"],
        cwd=ROOT, env=env, stdout=open(logs / "web.log", "wb"), stderr=subprocess.STDOUT,
    )
    commands = worker_commands(
        concurrency=2, name=f"test-{os.getpid()}", loglevel="INFO", extra=["--without-gossip", "--without-mingle"]
    )
    workers = [
        (subprocess.Popen(worker.argv, cwd=ROOT, env=env, stdout=open(logs / f"{worker.label}.log", "wb"),
                          stderr=subprocess.STDOUT), logs / f"{worker.label}.log")
        for worker in commands
    ]  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        _wait_for_workers(workers, [worker.node for worker in commands])
        yield LiveLab(url=url, env=env)
    finally:
        _stop(web)
        for worker, _ in workers:
            _stop(worker)
        for name in ("web.log", *(log.name for _, log in workers)):
            text = (logs / name).read_text(errors="replace")
            if "Traceback" in text:
                sys.stderr.write(f"\n--- {name} (live lab) ---\n{text[-6000:]}\n")


def _wait_for_workers(workers: list[tuple[subprocess.Popen[bytes], Path]], nodes: list[str], timeout: float = 40.0) -> None:
    from serverless_lab.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker, log in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a Celery worker exited: {log.read_text(errors='replace')[-3000:]}")
        answered = {name.split("@")[0] for reply in app.control.ping(timeout=0.5) for name in reply}
        if all(node in answered for node in nodes):
            return
    logs = "\n".join(log.read_text(errors="replace")[-3000:] for _, log in workers)
    raise TimeoutError(f"the Celery workers did not all answer: {logs}")


# --- the browser --------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tier last: Playwright's sync API keeps an event loop running in the main
    thread for as long as the session-wide browser lives, which would break any later test that
    starts its own loop (``asyncio.run``)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
