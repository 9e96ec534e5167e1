"""Celery entry points of the lessons app: grading runs here, never in a student's Lambda environment."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from lessons import services

GRADING_SOFT_LIMIT_SECONDS = 45


@shared_task(soft_time_limit=GRADING_SOFT_LIMIT_SECONDS, time_limit=GRADING_SOFT_LIMIT_SECONDS + 15)
def attempt_grade(attempt_id: int) -> None:
    try:
        services.attempt_run(attempt_id=attempt_id, reraise=(SoftTimeLimitExceeded,))
    except SoftTimeLimitExceeded:
        services.attempt_fail(
            attempt_id=attempt_id,
            message=f"Grading stopped after {GRADING_SOFT_LIMIT_SECONDS} seconds; the checks above finished.",
        )
    except Exception as exc:
        services.attempt_fail(attempt_id=attempt_id, message=f"The grader failed ({type(exc).__name__}); try again.")
        raise
