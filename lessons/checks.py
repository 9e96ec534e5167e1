"""What exercise modules import, and how their checks are run.

An exercise module (``lessons/content/exercises/<id>.py``) declares its checks in order::

    from lessons.checks import check, fail

    @check("Bucket 'photos' exists")
    def bucket_exists(session):
        session.client("s3").head_bucket(Bucket="photos")

    def solution(session):
        session.client("s3").create_bucket(Bucket="photos")

A check passes when it returns; it fails with its message when it calls ``fail(...)`` or an
``assert`` fails; an AWS error (``ClientError``) is a failure that quotes AWS's code; any other
exception is reported as an error in the check itself. ``session`` is a :class:`LabSession`: a
boto3 Session whose clients talk to the lab's ``/aws/`` endpoint with the sandbox's keys.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

CheckFn = Callable[[Any], None]
Status = Literal["passed", "failed", "error"]


class CheckFailed(Exception):
    """Raised by :func:`fail`: the student's resources do not meet the check."""


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def account_id(session: Any) -> str:
    """The sandbox's 12-digit account id. Bucket names are global across all accounts (as on AWS),
    so exercises name buckets ``<name>-<account id>`` to keep one student's from blocking another's."""
    return str(session.client("sts").get_caller_identity()["Account"])


def check(label: str) -> Callable[[CheckFn], CheckFn]:
    """Mark a function as a check; ``label`` is what the student reads next to its result."""

    def mark(function: CheckFn) -> CheckFn:
        function.check_label = label  # type: ignore[attr-defined]
        return function

    return mark


class LabSession(boto3.session.Session):
    """A boto3 Session whose clients and resources default to the lab's AWS endpoint."""

    def __init__(self, *, endpoint_url: str, access_key_id: str, secret_access_key: str, region: str) -> None:
        super().__init__(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region)
        self.endpoint_url = endpoint_url

    def _defaults(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        kwargs.setdefault(
            "config",
            Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20, s3={"addressing_style": "path"}),
        )
        return kwargs

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().client(*args, **self._defaults(kwargs))

    def resource(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().resource(*args, **self._defaults(kwargs))


@dataclass
class CheckResult:
    name: str
    label: str
    status: Status
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def load_module(path: Path, *, name: str) -> ModuleType:
    """Import an exercise module from its file (fresh every time, never cached in sys.modules)."""
    spec = importlib.util.spec_from_file_location(f"lessons_exercise_{name.replace('-', '_')}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop(spec.name, None)
    return module


def load_module_source(source: str, *, name: str) -> ModuleType:
    """Import an exercise module from its text (an exercise authored in the browser)."""
    module = ModuleType(f"lessons_authored_{name.replace('-', '_')}")
    module.__file__ = f"<authored exercise {name}>"
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)  # instructors' code, run by the grader only
    return module


def module_checks(module: ModuleType) -> list[CheckFn]:
    """The module's checks, in the order they are defined."""
    return [value for value in vars(module).values() if callable(value) and hasattr(value, "check_label")]


def run_check(function: CheckFn, session: Any, *, reraise: tuple[type[BaseException], ...] = ()) -> CheckResult:
    """Run one check; ``reraise`` lists exceptions that must escape (the grader's time limit)."""
    name, label = function.__name__, function.check_label  # type: ignore[attr-defined]
    try:
        function(session)
    except reraise:
        raise
    except (CheckFailed, AssertionError) as exc:
        return CheckResult(name, label, "failed", str(exc) or "This check did not pass.")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        if code.isdigit():  # HEAD requests have no body: only the HTTP status comes back
            meaning = "it does not exist yet" if code == "404" else "the request was refused"
            return CheckResult(name, label, "failed", f"AWS answered HTTP {code}: {meaning}.")
        return CheckResult(name, label, "failed", f"AWS answered {code}: {message}".rstrip(": "))
    except BotoCoreError as exc:
        return CheckResult(name, label, "error", f"Could not reach your sandbox: {exc}")
    except Exception as exc:  # a bug in the check itself, reported rather than crashing the grader
        return CheckResult(name, label, "error", f"The check itself failed ({type(exc).__name__}: {exc}).")
    return CheckResult(name, label, "passed")
