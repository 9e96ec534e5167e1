"""``manage.py runlab``: the whole lab in one command.

Applies migrations, loads lesson content, starts (when ``REDIS_URL`` is unset) an embedded Redis,
then the ASGI server (uvicorn) and the Celery workers (``ops.workers``: one for the default and
delivery queues, one for the runtime queue) as child processes, and stops all of them cleanly on
Ctrl-C / SIGTERM or as soon as one of them dies.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from serverless_lab.ops.embedded import EmbeddedRedis, start_embedded_redis, wait_for_port
from serverless_lab.ops.workers import worker_commands


class Command(BaseCommand):
    help = "Run Serverless Lab: web server (ASGI), Celery worker and, without REDIS_URL, an embedded Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("LAB_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("LAB_PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=2,
            help="Celery worker processes for the default and delivery queues, and threads for the runtime queue (default 2)",
        )  # fmt: skip
        parser.add_argument("--no-worker", action="store_true", help="do not start the Celery workers")
        parser.add_argument("--skip-setup", action="store_true", help="skip migrations and lesson loading")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._stopping = False
        embedded: EmbeddedRedis | None = None
        env = os.environ.copy()
        host, port = options["host"], options["port"]
        display_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
        env.setdefault("LAB_PUBLIC_URL", f"http://{display_host}:{port}")
        try:
            if not settings.REDIS_URL:
                embedded = start_embedded_redis(settings.VAR_DIR / "redis")
                env["REDIS_URL"] = embedded.url
                self.stdout.write(f"redis     embedded {embedded.kind} at {embedded.url}")
            else:
                self.stdout.write(f"redis     {settings.REDIS_URL}")
            database = settings.DATABASES["default"]
            self.stdout.write(f"database  {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}")
            if not options["skip_setup"]:
                call_command("migrate", interactive=False, verbosity=0)
                self.stdout.write("migrations applied")
                call_command("lessons", "load", stdout=self.stdout)
            self._spawn(
                "web",
                [sys.executable, "-m", "uvicorn", "serverless_lab.asgi:application", "--host", host, "--port", str(port),
                 "--no-access-log", "--lifespan", "off", "--ws", "websockets-sansio", "--timeout-graceful-shutdown", "5"],
                env,
            )
            if not options["no_worker"]:
                for worker in worker_commands(concurrency=options["workers"], name=f"lab-{os.getpid()}", loglevel="WARNING"):
                    self._spawn(worker.label, worker.argv, env)
            wait_for_port(display_host if host not in {"0.0.0.0", "::"} else "127.0.0.1", port, timeout=30)
            self.stdout.write(self.style.SUCCESS(f"\nServerless Lab is running: {env['LAB_PUBLIC_URL']}/"))
            self.stdout.write(f"AWS endpoint for boto3 / the AWS CLI: {env['LAB_PUBLIC_URL']}/{settings.AWS_ENDPOINT_PREFIX}")
            self.stdout.write("Press Ctrl-C to stop.\n")
            self._supervise()
        finally:
            self._stop_children()
            if embedded is not None:
                embedded.stop()

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        # Children get their own process group so a terminal's Ctrl-C reaches only us; we stop them in order.
        process = subprocess.Popen(command, env=env, start_new_session=True)
        self._children.append((name, process))

    def _supervise(self) -> None:
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self._stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        while not self._stopping:
            for name, process in self._children:
                if process.poll() is not None:
                    raise CommandError(f"{name} exited unexpectedly with code {process.returncode}")
            time.sleep(0.2)
        self.stdout.write("\nstopping…")

    def _stop_children(self) -> None:
        for _, process in self._children:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in self._children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time: killing it")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._children.clear()
