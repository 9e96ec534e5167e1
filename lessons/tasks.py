"""Celery entry points of the lessons app: grading runs here, never in a student's Lambda environment."""

from __future__ import annotations

from collections.abc import Callable

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from lessons import services

GRADING_SOFT_LIMIT_SECONDS = 45


@shared_task(soft_time_limit=GRADING_SOFT_LIMIT_SECONDS, time_limit=GRADING_SOFT_LIMIT_SECONDS + 15)
def attempt_grade(attempt_id: int) -> None:
    _grade(services.attempt_run, attempt_id)


@shared_task(soft_time_limit=GRADING_SOFT_LIMIT_SECONDS, time_limit=GRADING_SOFT_LIMIT_SECONDS + 15)
def reference_grade(attempt_id: int) -> None:
    _grade(services.attempt_run_reference, attempt_id)


def _grade(run: Callable[..., object], attempt_id: int) -> None:
    try:
        run(attempt_id=attempt_id, reraise=(SoftTimeLimitExceeded,))
    except SoftTimeLimitExceeded:
        services.attempt_fail(
            attempt_id=attempt_id,
            message=f"Grading stopped after {GRADING_SOFT_LIMIT_SECONDS} seconds; the checks above finished.",
        )
    except Exception as exc:
        services.attempt_fail(attempt_id=attempt_id, message=f"The grader failed ({type(exc).__name__}); try again.")
        raise


@shared_task(soft_time_limit=30, time_limit=40)
def try_run(sandbox_id: int, action: str) -> list[dict[str, str]]:
    """Run a prepared "try it" action; the result (its steps) is read back by the page."""
    return services.try_action_run(sandbox_id=sandbox_id, action=action)


@shared_task(soft_time_limit=60, time_limit=75)
def editor_run(sandbox_id: int, function: str, code: str, event: object) -> dict[str, object]:
    """Deploy and invoke an editor block's code; the page reads the result back."""
    return services.editor_run(sandbox_id=sandbox_id, function=function, code=code, event=event)


@shared_task(soft_time_limit=150, time_limit=170)
def scaling_burst(sandbox_id: int, size: int) -> dict[str, object]:
    """Fire the auto-scaling demo's burst; the page reads the figure back."""
    return services.scaling_burst_run(sandbox_id=sandbox_id, size=size)
