"""Load lesson files into the database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from lessons import editor, scaling, tryit
from lessons.checks import LabSession, load_module, load_module_source, module_checks, run_check
from lessons.content import ContentError, LessonSource, read_directory
from lessons.coverage import Concept, read_coverage
from lessons.exercises import ExerciseSource, read_exercises, validate_links
from lessons.models import Attempt, AuthoredExercise, Exercise, Lesson, LessonRecord, QuizAnswer
from lessons.selectors import scaling_figure, student_sandbox
from serverless_lab.accounts.models import Classroom
from serverless_lab.cloud.lambda_.backend import sandbox_concurrency_limit
from serverless_lab.cloud.lambda_.models import Invocation
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.services import sandbox_create, sandbox_delete, sandbox_reset

DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent / "content"
COVERAGE_FILE = "coverage.yaml"


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[ContentError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def loaded(self) -> int:
        return len(self.created) + len(self.updated) + len(self.unchanged)

    def summary(self) -> str:
        if self.errors:
            return f"lessons: {len(self.errors)} error(s), nothing loaded"
        return (
            f"lessons: {self.loaded} loaded ({len(self.created)} new, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed)"
        )


@dataclass
class Content:
    lessons: list[LessonSource]
    exercises: list[ExerciseSource]
    concepts: list[Concept]
    errors: list[ContentError]

    @property
    def gaps(self) -> list[Concept]:
        return [concept for concept in self.concepts if not concept.covered]


def content_read(content_dir: Path | None = None) -> Content:
    """Parse and validate a content folder (lessons and ``exercises/``) without touching the database."""
    folder = content_dir or DEFAULT_CONTENT_DIR
    root = Path(settings.BASE_DIR).resolve()

    def shown(path: Path) -> str:
        resolved = path.resolve()
        return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)

    lessons, errors = read_directory(folder, display_root=root)
    exercises, exercise_errors = read_exercises(folder / "exercises", shown=shown)
    errors += exercise_errors
    concepts: list[Concept] = []
    if not errors:
        errors += validate_links(lessons, exercises)
        coverage_file = folder / COVERAGE_FILE
        concepts, coverage_errors = read_coverage(
            coverage_file, shown=shown(coverage_file), lessons=lessons, exercises=exercises
        )
        errors += coverage_errors
    return Content(lessons=lessons, exercises=exercises, concepts=concepts, errors=errors)


@transaction.atomic
def lessons_load(content_dir: Path | None = None) -> LoadReport:
    """Make the ``Lesson`` table match the content folder: insert, update, and delete.

    All or nothing: if any file has an error, nothing is written. Rows whose file did not change
    (same content hash and path) are left alone, so a second load is a no-op.
    """
    content = content_read(content_dir)
    report = LoadReport(errors=content.errors)
    if content.errors:
        return report
    sources = content.lessons
    existing = {lesson.slug: lesson for lesson in Lesson.objects.select_for_update()}
    for source in sources:
        values = {
            "title": source.title,
            "order": source.order,
            "service": source.service,
            "summary": source.summary,
            "objectives": source.objectives,
            "concepts": source.concepts,
            "estimated_minutes": source.estimated_minutes,
            "prerequisites": source.prerequisites,
            "body_markdown": source.body_markdown,
            "body_html": source.body_html,
            "toc": source.toc,
            "blocks": source.blocks,
            "source_path": source.source_path,
            "content_hash": source.content_hash,
        }
        row = existing.pop(source.slug, None)
        if row is None:
            Lesson.objects.create(slug=source.slug, **values)
            report.created.append(source.slug)
        elif row.content_hash == source.content_hash and row.source_path == source.source_path:
            report.unchanged.append(source.slug)
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.save()
            report.updated.append(source.slug)
    if existing:
        Lesson.objects.filter(slug__in=existing).delete()
        report.removed.extend(sorted(existing))
    _exercises_sync(content.exercises)
    return report


def _exercises_sync(sources: list[ExerciseSource]) -> None:
    keep = []
    for source in sources:
        Exercise.objects.update_or_create(
            slug=source.slug,
            defaults={
                "authored": None,  # a file wins over an authored exercise of the same id
                "lesson_slug": source.lesson,
                "title": source.title,
                "order": source.order,
                "summary": source.summary,
                "instructions_html": source.instructions_html,
                "hints": source.hints,
                "starter": source.starter,
                "checks": source.checks,
                "source_path": source.source_path,
                "module_path": source.module_path,
                "content_hash": source.content_hash,
            },
        )
        keep.append(source.slug)
    Exercise.objects.filter(authored__isnull=True).exclude(slug__in=keep).delete()


# --- quizzes, progress and grading --------------------------------------------------------------


class LessonsError(Exception):
    """A request the student can fix (unknown quiz, no sandbox, ...); the message is for them."""


def quiz_find(*, lesson: Lesson, quiz_id: str) -> dict[str, Any]:
    for block in lesson.blocks:
        if block["kind"] == "quiz" and block["data"]["id"] == quiz_id:
            return block["data"]
    raise LessonsError("This lesson has no such quiz.")


def quiz_answer(*, user: AbstractBaseUser, lesson: Lesson, quiz_id: str, choices: list[int]) -> QuizAnswer:
    """Grade and store ``user``'s answer (indexes of ticked options); the latest answer wins."""
    quiz = quiz_find(lesson=lesson, quiz_id=quiz_id)
    picked = sorted({c for c in choices if 0 <= c < len(quiz["options"])})
    if not picked:
        raise LessonsError("Choose an answer first.")
    if not quiz["multiple"] and len(picked) > 1:
        raise LessonsError("Choose one answer.")
    right = [i for i, option in enumerate(quiz["options"]) if option["correct"]]
    answer, _ = QuizAnswer.objects.update_or_create(
        user=user,
        quiz_id=quiz_id,
        defaults={"lesson_slug": lesson.slug, "choices": picked, "correct": picked == right, "answered_at": now()},
    )
    return answer


def lesson_read(*, user: AbstractBaseUser, lesson: Lesson) -> None:
    """Record that ``user`` opened the lesson (the first time only)."""
    LessonRecord.objects.get_or_create(user=user, lesson_slug=lesson.slug, defaults={"read_at": now()})


def lesson_complete(*, user: AbstractBaseUser, lesson: Lesson) -> LessonRecord:
    record, _ = LessonRecord.objects.get_or_create(user=user, lesson_slug=lesson.slug, defaults={"read_at": now()})
    if record.completed_at is None:
        record.completed_at = now()
        record.save(update_fields=["completed_at"])
    return record


def lesson_sandbox_reset(*, user: AbstractBaseUser) -> int:
    """Wipe the student's lesson sandbox (see ``selectors.student_sandbox``); returns rows deleted."""
    sandbox = student_sandbox(user=user)
    if sandbox is None:
        raise LessonsError("You have no sandbox yet: create one on the Sandboxes page.")
    return sandbox_reset(sandbox=sandbox)


def exercise_submit(*, user: AbstractBaseUser, exercise: Exercise) -> Attempt:
    """Queue a grading run of ``exercise`` against the student's sandbox (after commit)."""
    from lessons.tasks import attempt_grade

    sandbox = student_sandbox(user=user)
    if sandbox is None:
        raise LessonsError("Create a sandbox first: the checks look at the resources in it.")
    attempt = Attempt.objects.create(
        user=user, sandbox=sandbox, exercise_slug=exercise.slug, total=len(exercise.checks)
    )
    attempt_grade.delay_on_commit(attempt.pk)
    return attempt


def exercise_reference_run(*, user: AbstractBaseUser, exercise: Exercise) -> Attempt:
    """Queue a run of the reference solution, then the checks, in a throwaway sandbox (instructors)."""
    from lessons.tasks import reference_grade

    attempt = Attempt.objects.create(user=user, exercise_slug=exercise.slug, total=len(exercise.checks), reference=True)
    reference_grade.delay_on_commit(attempt.pk)
    return attempt


def attempt_run_reference(*, attempt_id: int, reraise: tuple[type[BaseException], ...] = ()) -> Attempt:
    """Create a fresh sandbox for the attempt's user, build the reference solution in it, run the
    checks, and delete the sandbox whatever happens, before the attempt is marked finished."""
    attempt = Attempt.objects.select_related("user").get(pk=attempt_id)
    exercise = Exercise.objects.filter(slug=attempt.exercise_slug).first()
    if exercise is None:
        return attempt_fail(attempt_id=attempt_id, message="The exercise no longer exists.")
    try:
        sandbox = sandbox_create(owner=attempt.user, name=f"reference-run-{attempt.pk}")
    except ValidationError as exc:
        return attempt_fail(attempt_id=attempt_id, message=f"No throwaway sandbox: {' '.join(exc.messages)}")
    try:
        attempt.sandbox = sandbox
        attempt.save(update_fields=["sandbox"])
        module = exercise_module(exercise)
        try:
            module.solution(lab_session(sandbox))
        except reraise:
            raise
        except Exception as exc:
            failure = f"The reference solution raised {type(exc).__name__}: {exc}"
        else:
            failure = ""
            _attempt_check(attempt, exercise=exercise, sandbox=sandbox, reraise=reraise)
    finally:
        sandbox_delete(sandbox=sandbox)
        attempt.sandbox = None  # the database set it to NULL; the deleted instance cannot be saved
    # Finished only once the throwaway sandbox is gone.
    return attempt_fail(attempt_id=attempt_id, message=failure) if failure else _attempt_finish(attempt)


def lab_session(sandbox: Sandbox) -> LabSession:
    return LabSession(
        endpoint_url=sandbox.endpoint_url,
        access_key_id=sandbox.access_key_id,
        secret_access_key=sandbox.secret_access_key,
        region=sandbox.region,
    )


def exercise_module_path(exercise: Exercise) -> Path:
    return Path(settings.BASE_DIR) / exercise.module_path


def exercise_module(exercise: Exercise) -> ModuleType:
    """Import the exercise's checks module: its file, or an authored exercise's stored source."""
    if exercise.authored_id is not None:
        source = AuthoredExercise.objects.values_list("module_source", flat=True).get(pk=exercise.authored_id)
        return load_module_source(source, name=exercise.slug)
    return load_module(exercise_module_path(exercise), name=exercise.slug)


def attempt_run(*, attempt_id: int, reraise: tuple[type[BaseException], ...] = ()) -> Attempt:
    """Run every check of the attempt's exercise against its sandbox, saving after each check.

    Each save commits on its own (no surrounding transaction), so the page polling the attempt sees
    the checks complete one by one. ``reraise`` lets the task's time limit escape the checks.
    """
    attempt = Attempt.objects.select_related("sandbox").get(pk=attempt_id)
    exercise = Exercise.objects.filter(slug=attempt.exercise_slug).first()
    if exercise is None or attempt.sandbox is None:
        return attempt_fail(attempt_id=attempt_id, message="The exercise or the sandbox no longer exists.")
    _attempt_check(attempt, exercise=exercise, sandbox=attempt.sandbox, reraise=reraise)
    return _attempt_finish(attempt)


def _attempt_check(
    attempt: Attempt, *, exercise: Exercise, sandbox: Sandbox, reraise: tuple[type[BaseException], ...]
) -> None:
    attempt.status = Attempt.Status.RUNNING
    attempt.save(update_fields=["status"])
    module = exercise_module(exercise)
    session = lab_session(sandbox)
    checks = module_checks(module)
    attempt.total = len(checks)
    for function in checks:
        attempt.results = [*attempt.results, run_check(function, session, reraise=reraise).as_dict()]
        attempt.save(update_fields=["results", "total"])


def _attempt_finish(attempt: Attempt) -> Attempt:
    passed = sum(result["status"] == "passed" for result in attempt.results)
    attempt.score = round(100 * passed / attempt.total) if attempt.total else 0
    attempt.status = Attempt.Status.DONE
    attempt.finished_at = now()
    attempt.save(update_fields=["score", "status", "finished_at"])
    return attempt


def attempt_fail(*, attempt_id: int, message: str) -> Attempt:
    attempt = Attempt.objects.get(pk=attempt_id)
    attempt.status = Attempt.Status.ERROR
    attempt.error = message
    attempt.finished_at = now()
    attempt.save(update_fields=["status", "error", "finished_at"])
    return attempt


# --- classes ------------------------------------------------------------------------------------


def classroom_create(*, instructor: AbstractBaseUser, name: str) -> Classroom:
    name = name.strip()
    if not name or len(name) > 120:
        raise LessonsError("Give the class a name of 1 to 120 characters.")
    return Classroom.objects.create(instructor=instructor, name=name)


def classroom_join(*, student: AbstractBaseUser, join_code: str) -> Classroom:
    """Add ``student`` to the class with that join code (case and spaces ignored)."""
    classroom = Classroom.objects.filter(join_code=join_code.strip().upper()).first()
    if classroom is None:
        raise LessonsError("No class has that join code. Check it with your instructor.")
    if classroom.instructor_id == student.pk:
        raise LessonsError("You teach this class; students join it with the code.")
    classroom.students.add(student)
    return classroom


# --- "try it" buttons ---------------------------------------------------------------------------


def try_action_start(*, user: AbstractBaseUser, action: str) -> str:
    """Queue a prepared action against the student's sandbox; returns the Celery task id."""
    from lessons.tasks import try_run

    if action not in tryit.ACTIONS:
        raise LessonsError("This button does nothing yet.")
    sandbox = student_sandbox(user=user)
    if sandbox is None:
        raise LessonsError("Create a sandbox first: the button works in it.")
    return str(try_run.delay(sandbox.pk, action).id)


def try_action_run(*, sandbox_id: int, action: str) -> list[dict[str, str]]:
    """Run in the worker. AWS errors become a step the student can read, not a failed task."""
    sandbox = Sandbox.objects.get(pk=sandbox_id)
    try:
        return tryit.ACTIONS[action](lab_session(sandbox))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return [{"call": "Error", "detail": f"AWS answered {error.get('Code')}: {error.get('Message', '')}"}]


# --- the ```editor``` block ---------------------------------------------------------------------


def editor_block(*, lesson: Lesson, function: str) -> dict[str, Any]:
    for block in lesson.blocks:
        if block["kind"] == "editor" and block["data"]["function"] == function:
            return block["data"]
    raise LessonsError("This lesson has no such code editor.")


def editor_run_start(*, user: AbstractBaseUser, lesson: Lesson, function: str, code: str) -> str:
    """Queue a Run of the editor block's code in the student's sandbox; returns the Celery task id."""
    from lessons.tasks import editor_run

    block = editor_block(lesson=lesson, function=function)
    code = code.replace("\r\n", "\n")  # browsers send CRLF; the same code must give the same package
    problem = editor.code_problem(code)
    if problem:
        raise LessonsError(problem)
    sandbox = student_sandbox(user=user)
    if sandbox is None:
        raise LessonsError("Create a sandbox first: Run deploys the function there.")
    return str(editor_run.delay(sandbox.pk, function, code, block["event"]).id)


def editor_run(*, sandbox_id: int, function: str, code: str, event: Any) -> dict[str, Any]:
    """Run in the worker: deploy and invoke, then add what the invocation's row knows (cold or warm,
    durations). AWS errors become a message for the student, not a failed task."""
    sandbox = Sandbox.objects.get(pk=sandbox_id)
    try:
        run = editor.deploy_and_invoke(lab_session(sandbox), function=function, code=code, event=event)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return {"error": f"AWS answered {error.get('Code')}: {error.get('Message', '')}"}
    result: dict[str, Any] = dict(run)
    invocation = (
        Invocation.objects.filter(sandbox=sandbox, request_id=result["request_id"]).order_by("-attempt").first()
        if result["request_id"]
        else None
    )
    result["function"] = function
    result["event"] = json.dumps(event, indent=2)
    result["cold"] = invocation.cold if invocation else None
    result["duration_ms"] = round(invocation.duration_ms, 1) if invocation and invocation.duration_ms else None
    result["init_duration_ms"] = (
        round(invocation.init_duration_ms, 1) if invocation and invocation.init_duration_ms else None
    )
    return result


# --- the auto-scaling demo ----------------------------------------------------------------------


def scaling_burst_start(*, user: AbstractBaseUser, size: int) -> str:
    """Queue a burst of ``size`` simultaneous invokes in the student's sandbox; returns the task id."""
    from lessons.tasks import scaling_burst

    if not 1 <= size <= scaling.MAX_BURST:
        raise LessonsError(f"Choose a burst of 1 to {scaling.MAX_BURST} requests.")
    sandbox = student_sandbox(user=user)
    if sandbox is None:
        raise LessonsError("Create a sandbox first: the burst runs there.")
    return str(scaling_burst.delay(sandbox.pk, size).id)


def scaling_burst_run(*, sandbox_id: int, size: int) -> dict[str, Any]:
    """Run in the worker: fire the burst, then describe it from the invocations' rows."""
    sandbox = Sandbox.objects.get(pk=sandbox_id)
    try:
        burst = scaling.fire(lab_session(sandbox), size=size)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return {"error": f"AWS answered {error.get('Code')}: {error.get('Message', '')}"}
    rows = list(
        Invocation.objects.filter(sandbox=sandbox, request_id__in=burst.request_ids).values(
            "created_at", "started_at", "finished_at", "cold"
        )
    )
    return scaling_figure(
        started=burst.started,
        rows=rows,
        throttled_at=burst.throttled_at,
        errors=burst.errors,
        limit=sandbox_concurrency_limit(sandbox),
        size=size,
    )
