"""Read-side queries for lesson pages and the home course map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Max

from lessons.blocks import split_rendered
from lessons.models import Attempt, Exercise, Lesson, LessonRecord, QuizAnswer
from serverless_lab.accounts.selectors import user_teaches
from serverless_lab.sandboxes.models import Sandbox

ProgressStatus = Literal["not_started", "in_progress", "completed"]
_STATUS_LABELS: dict[ProgressStatus, str] = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "completed": "Completed",
}


@dataclass(frozen=True)
class LessonProgress:
    percent: int
    status: ProgressStatus

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self.status]


NOT_STARTED = LessonProgress(percent=0, status="not_started")


@dataclass(frozen=True)
class CourseMapEntry:
    """One card of the course map: the lesson, and the viewer's progress (None when anonymous)."""

    lesson: Lesson
    progress: LessonProgress | None


def lesson_list() -> list[Lesson]:
    return list(Lesson.objects.order_by("order").defer("body_markdown", "body_html", "toc"))


def student_sandbox(*, user: AbstractBaseUser | AnonymousUser) -> Sandbox | None:
    """The sandbox lessons grade and reset: the student's newest one."""
    if not user.is_authenticated:
        return None
    return Sandbox.objects.filter(owner=user).order_by("-created_at").first()


def best_scores(*, user: AbstractBaseUser, exercise_slugs: list[str] | None = None) -> dict[str, int]:
    attempts = Attempt.objects.filter(user=user, status=Attempt.Status.DONE)
    if exercise_slugs is not None:
        attempts = attempts.filter(exercise_slug__in=exercise_slugs)
    return dict(attempts.values("exercise_slug").annotate(best=Max("score")).values_list("exercise_slug", "best"))


def lesson_progress_for_user(
    *, user: AbstractBaseUser | AnonymousUser, lessons: list[Lesson]
) -> dict[str, LessonProgress]:
    """Progress per lesson slug for ``user``; empty for anonymous visitors.

    A lesson's steps are: reading it, each quiz answered correctly, and each exercise (its best
    score counts as a fraction of a step). "Completed" means every step is done or the student
    marked the lesson complete; "in progress" means the lesson was opened.
    """
    if not user.is_authenticated:
        return {}
    slugs = [lesson.slug for lesson in lessons]
    records = {r.lesson_slug: r for r in LessonRecord.objects.filter(user=user, lesson_slug__in=slugs)}
    right = set(
        QuizAnswer.objects.filter(user=user, lesson_slug__in=slugs, correct=True).values_list("quiz_id", flat=True)
    )
    exercises: dict[str, list[str]] = {}
    for exercise_slug, lesson_slug in Exercise.objects.filter(lesson_slug__in=slugs).values_list("slug", "lesson_slug"):
        exercises.setdefault(lesson_slug, []).append(exercise_slug)
    scores = best_scores(user=user, exercise_slugs=[e for group in exercises.values() for e in group])
    progress: dict[str, LessonProgress] = {}
    for lesson in lessons:
        record = records.get(lesson.slug)
        if record is None:
            progress[lesson.slug] = NOT_STARTED
            continue
        quizzes = [b["data"]["id"] for b in lesson.blocks if b["kind"] == "quiz"]
        own = exercises.get(lesson.slug, [])
        done = 1 + sum(q in right for q in quizzes) + sum(scores.get(e, 0) / 100 for e in own)
        percent = int(100 * done / (1 + len(quizzes) + len(own)))
        if record.completed_at is not None or percent == 100:
            progress[lesson.slug] = LessonProgress(percent=100, status="completed")
        else:
            progress[lesson.slug] = LessonProgress(percent=percent, status="in_progress")
    return progress


def course_map(*, user: AbstractBaseUser | AnonymousUser) -> list[CourseMapEntry]:
    lessons = lesson_list()
    progress = lesson_progress_for_user(user=user, lessons=lessons)
    return [CourseMapEntry(lesson=lesson, progress=progress.get(lesson.slug)) for lesson in lessons]


@dataclass(frozen=True)
class QuizView:
    lesson_slug: str
    quiz: dict[str, Any]
    answer: QuizAnswer | None

    @property
    def options(self) -> list[dict[str, Any]]:
        picked = set(self.answer.choices) if self.answer else set()
        return [{"index": i, "picked": i in picked, **option} for i, option in enumerate(self.quiz["options"])]


@dataclass(frozen=True)
class ExerciseView:
    exercise: Exercise
    latest: Attempt | None
    best: int | None
    has_sandbox: bool


@dataclass(frozen=True)
class Segment:
    """A piece of the lesson body: sanitised HTML, or one interactive block and its viewer state."""

    kind: str  # "html" or a block kind
    html: str = ""
    data: dict[str, Any] | None = None
    quiz: QuizView | None = None
    exercise: ExerciseView | None = None


@dataclass(frozen=True)
class LessonPage:
    lesson: Lesson
    previous: Lesson | None
    next: Lesson | None
    prerequisites: list[Lesson]
    progress: LessonProgress | None
    segments: list[Segment]
    sandbox: Sandbox | None

    @property
    def has_cost_calculator(self) -> bool:
        return any(segment.kind == "cost-calculator" for segment in self.segments)


def quiz_view(*, lesson: Lesson, quiz: dict[str, Any], user: AbstractBaseUser | AnonymousUser) -> QuizView:
    answer = QuizAnswer.objects.filter(user=user, quiz_id=quiz["id"]).first() if user.is_authenticated else None
    return QuizView(lesson_slug=lesson.slug, quiz=quiz, answer=answer)


def exercise_view(*, exercise: Exercise, user: AbstractBaseUser | AnonymousUser) -> ExerciseView:
    if not user.is_authenticated:
        return ExerciseView(exercise=exercise, latest=None, best=None, has_sandbox=False)
    latest = Attempt.objects.filter(user=user, exercise_slug=exercise.slug).first()
    return ExerciseView(
        exercise=exercise,
        latest=latest,
        best=best_scores(user=user, exercise_slugs=[exercise.slug]).get(exercise.slug),
        has_sandbox=student_sandbox(user=user) is not None,
    )


def lesson_segments(*, lesson: Lesson, user: AbstractBaseUser | AnonymousUser) -> list[Segment]:
    exercises = {e.slug: e for e in Exercise.objects.filter(lesson_slug=lesson.slug)}
    segments: list[Segment] = []
    for kind, value in split_rendered(lesson.body_html, lesson.blocks):
        if kind == "html":
            segments.append(Segment(kind="html", html=value))
        elif value["kind"] == "quiz":
            segments.append(Segment(kind="quiz", quiz=quiz_view(lesson=lesson, quiz=value["data"], user=user)))
        elif value["kind"] == "exercise":
            exercise = exercises.get(value["data"]["id"])
            if exercise is not None:
                segments.append(Segment(kind="exercise", exercise=exercise_view(exercise=exercise, user=user)))
        else:
            segments.append(Segment(kind=value["kind"], data=value["data"]))
    return segments


def lesson_page(*, slug: str, user: AbstractBaseUser | AnonymousUser) -> LessonPage | None:
    """Everything the lesson page shows, or None for an unknown slug."""
    lesson = Lesson.objects.filter(slug=slug).first()
    if lesson is None:
        return None
    outline = lesson_list()
    titles = {item.slug: item for item in outline}
    index = next(i for i, item in enumerate(outline) if item.slug == slug)
    progress = lesson_progress_for_user(user=user, lessons=[lesson])
    return LessonPage(
        lesson=lesson,
        previous=outline[index - 1] if index > 0 else None,
        next=outline[index + 1] if index + 1 < len(outline) else None,
        prerequisites=[titles[p] for p in lesson.prerequisites if p in titles],
        progress=progress.get(lesson.slug),
        segments=lesson_segments(lesson=lesson, user=user),
        sandbox=student_sandbox(user=user),
    )


def attempt_for_viewer(*, attempt_id: int, user: AbstractBaseUser | AnonymousUser) -> Attempt | None:
    """The attempt if ``user`` may see it: its student, the student's instructor, or staff."""
    attempt = Attempt.objects.filter(pk=attempt_id).first()
    if attempt is None or not user.is_authenticated:
        return None
    if attempt.user_id == user.pk or user.is_staff or user_teaches(user, attempt.user_id):
        return attempt
    return None
