"""Read-side queries for lesson pages and the home course map."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max

from lessons import tryit
from lessons.blocks import split_rendered
from lessons.scaling import concurrency_steps
from lessons.models import Attempt, Exercise, Lesson, LessonRecord, QuizAnswer
from serverless_lab.accounts.models import Classroom
from serverless_lab.accounts.selectors import user_teaches
from serverless_lab.cloud.lambda_.backend import sandbox_concurrency_limit
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
    attempts = Attempt.objects.filter(user=user, status=Attempt.Status.DONE, reference=False)
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
    sandbox: Sandbox | None

    @property
    def starter(self) -> str:
        """The starter code, with the student's own endpoint, keys and account id filled in."""
        if self.sandbox is None:
            return self.exercise.starter
        values = {
            "PASTE_ACCESS_KEY_ID": self.sandbox.access_key_id,
            "PASTE_SECRET_ACCESS_KEY": self.sandbox.secret_access_key,
            "PASTE_ENDPOINT_URL": self.sandbox.endpoint_url,
            "PASTE_ACCOUNT_ID": self.sandbox.account_id,
            '"us-east-1"': f'"{self.sandbox.region}"',
        }
        code = self.exercise.starter
        for placeholder, value in values.items():
            code = code.replace(placeholder, value)
        return code


@dataclass(frozen=True)
class Segment:
    """A piece of the lesson body: sanitised HTML, or one interactive block and its viewer state."""

    kind: str  # "html" or a block kind
    html: str = ""
    data: dict[str, Any] | None = None
    quiz: QuizView | None = None
    exercise: ExerciseView | None = None
    ready: bool = False  # a "try" block whose prepared action exists


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

    @property
    def has_editor(self) -> bool:
        return any(segment.kind == "editor" for segment in self.segments)

    @property
    def has_scaling_demo(self) -> bool:
        return any(segment.kind == "scaling-demo" for segment in self.segments)

    @property
    def concurrency_limit(self) -> int:
        return sandbox_concurrency_limit(self.sandbox) if self.sandbox else 10


def quiz_view(*, lesson: Lesson, quiz: dict[str, Any], user: AbstractBaseUser | AnonymousUser) -> QuizView:
    answer = QuizAnswer.objects.filter(user=user, quiz_id=quiz["id"]).first() if user.is_authenticated else None
    return QuizView(lesson_slug=lesson.slug, quiz=quiz, answer=answer)


def exercise_view(*, exercise: Exercise, user: AbstractBaseUser | AnonymousUser) -> ExerciseView:
    if not user.is_authenticated:
        return ExerciseView(exercise=exercise, latest=None, best=None, sandbox=None)
    latest = Attempt.objects.filter(user=user, exercise_slug=exercise.slug, reference=False).first()
    return ExerciseView(
        exercise=exercise,
        latest=latest,
        best=best_scores(user=user, exercise_slugs=[exercise.slug]).get(exercise.slug),
        sandbox=student_sandbox(user=user),
    )


def editor_view(data: dict[str, Any]) -> dict[str, Any]:
    """An editor block's data plus what its template shows: the event as JSON, the editor height."""
    rows = min(max(data["starter"].count("\n") + 1, 6), 30)
    return {**data, "event_json": json.dumps(data["event"], indent=2), "rows": rows}


def lesson_segments(*, lesson: Lesson, user: AbstractBaseUser | AnonymousUser) -> list[Segment]:
    exercises = {e.slug: e for e in Exercise.objects.filter(lesson_slug=lesson.slug)}
    segments: list[Segment] = []
    for kind, value in split_rendered(lesson.body_html, lesson.blocks):
        if kind == "html":
            segments.append(Segment(kind="html", html=value))
        elif value["kind"] == "quiz":
            segments.append(Segment(kind="quiz", quiz=quiz_view(lesson=lesson, quiz=value["data"], user=user)))
        elif value["kind"] == "exercise":
            exercise = exercises.pop(value["data"]["id"], None)
            if exercise is not None:
                segments.append(Segment(kind="exercise", exercise=exercise_view(exercise=exercise, user=user)))
        elif value["kind"] == "editor":
            segments.append(Segment(kind="editor", data=editor_view(value["data"])))
        else:
            ready = value["kind"] == "try" and value["data"].get("action") in tryit.ACTIONS
            segments.append(Segment(kind=value["kind"], data=value["data"], ready=ready))
    # Exercises no block embeds: those authored in the browser for this lesson, at the end.
    extra = sorted(exercises.values(), key=lambda exercise: (exercise.order, exercise.slug))
    if extra:
        segments.append(Segment(kind="more-exercises"))
        segments.extend(Segment(kind="exercise", exercise=exercise_view(exercise=e, user=user)) for e in extra)
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


# --- classes and the instructor dashboard -------------------------------------------------------


def classes_taught(*, user: AbstractBaseUser | AnonymousUser) -> list[Classroom]:
    if not user.is_authenticated:
        return []
    return list(Classroom.objects.filter(instructor=user).annotate(student_count=Count("students")).order_by("name"))


def class_for_instructor(*, class_id: int, user: AbstractBaseUser | AnonymousUser) -> Classroom | None:
    """The classroom if ``user`` is its instructor; None otherwise (the page answers 404)."""
    if not user.is_authenticated:
        return None
    return Classroom.objects.filter(pk=class_id, instructor=user).first()


@dataclass(frozen=True)
class StudentRow:
    student: Any
    progress: list[LessonProgress]  # in lesson order
    best: list[int | None]  # best score per exercise, in exercise order
    attempts: int


@dataclass(frozen=True)
class ClassDashboard:
    classroom: Classroom
    lessons: list[Lesson]
    exercises: list[Exercise]
    rows: list[StudentRow]
    figures: dict[str, dict[str, Any]]  # Plotly figure dicts, read by static/js/pages/class_dashboard.js


def class_dashboard(*, classroom: Classroom) -> ClassDashboard:
    students = list(classroom.students.order_by("username"))
    lessons = lesson_list()
    exercises = list(Exercise.objects.order_by("lesson_slug", "order"))
    lesson_order = {lesson.slug: lesson.order for lesson in lessons}
    exercises.sort(key=lambda e: (lesson_order.get(e.lesson_slug, 0), e.order))
    attempts = list(Attempt.objects.filter(user__in=students, status=Attempt.Status.DONE, reference=False))
    rows = []
    for student in students:
        progress = lesson_progress_for_user(user=student, lessons=lessons)
        best = best_scores(user=student)
        rows.append(
            StudentRow(
                student=student,
                progress=[progress[lesson.slug] for lesson in lessons],
                best=[best.get(exercise.slug) for exercise in exercises],
                attempts=sum(a.user_id == student.pk for a in attempts),
            )
        )
    return ClassDashboard(
        classroom=classroom,
        lessons=lessons,
        exercises=exercises,
        rows=rows,
        figures=_class_figures(lessons=lessons, exercises=exercises, rows=rows, attempts=attempts),
    )


def _bar_layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left"},
        "margin": {"t": 70, "r": 10, "b": 90, "l": 60},
        "height": 340,
        # Legend on the title's row, right-aligned, above the plot area (it covered the bars).
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        "xaxis": {"tickangle": -30, "automargin": True},
        **extra,
    }


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _whole_ticks(largest: int) -> dict[str, Any]:
    """Whole-number ticks: small counts otherwise get fractional ticks printed as "0 0 1 1"."""
    return {"tickformat": "d", "dtick": max(1, largest // 8)}


def _class_figures(
    *, lessons: list[Lesson], exercises: list[Exercise], rows: list[StudentRow], attempts: list[Attempt]
) -> dict[str, dict[str, Any]]:
    count = max(len(rows), 1)
    titles = [f"{lesson.order}. {lesson.service}" for lesson in lessons]
    completed = [sum(r.progress[i].status == "completed" for r in rows) for i in range(len(lessons))]
    started = [sum(r.progress[i].status == "in_progress" for r in rows) for i in range(len(lessons))]
    exercise_titles = [exercise.slug for exercise in exercises]
    solved = [sum(r.best[i] == 100 for r in rows) for i in range(len(exercises))]
    tried = [sum(r.best[i] is not None and r.best[i] != 100 for r in rows) for i in range(len(exercises))]
    per_pair: dict[tuple[int, str], int] = {}
    failing: dict[tuple[str, str], int] = {}
    titles_by_slug = {exercise.slug: exercise.title for exercise in exercises}
    for attempt in attempts:
        per_pair[(attempt.user_id, attempt.exercise_slug)] = (
            per_pair.get((attempt.user_id, attempt.exercise_slug), 0) + 1
        )
        for result in attempt.results:
            if result["status"] != "passed":
                key = (titles_by_slug.get(attempt.exercise_slug, attempt.exercise_slug), result["label"])
                failing[key] = failing.get(key, 0) + 1
    top = sorted(failing.items(), key=lambda item: (-item[1], item[0]))[:10][::-1]
    percent = {"range": [0, 100], "title": {"text": f"% of {len(rows)} student(s)"}}
    return {
        "lessons": {
            "data": [
                {"type": "bar", "name": "Completed", "x": titles, "y": [100 * c / count for c in completed]},
                {"type": "bar", "name": "In progress", "x": titles, "y": [100 * s / count for s in started]},
            ],
            "layout": _bar_layout("Lesson completion", barmode="stack", yaxis=percent),
        },
        "exercises": {
            "data": [
                {
                    "type": "bar",
                    "name": "All checks pass",
                    "x": exercise_titles,
                    "y": [100 * s / count for s in solved],
                },
                {"type": "bar", "name": "Attempted", "x": exercise_titles, "y": [100 * t / count for t in tried]},
            ],
            "layout": _bar_layout("Exercise completion", barmode="stack", yaxis=percent),
        },
        "attempts": {
            "data": [{"type": "histogram", "x": list(per_pair.values()), "name": "Attempts"}],
            "layout": _bar_layout(
                "Attempts per student and exercise",
                xaxis={"title": {"text": "attempts"}, "dtick": 1},
                yaxis={"title": {"text": "student × exercise pairs"}, **_whole_ticks(len(per_pair))},
            ),
        },
        "failing": {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "x": [n for _, n in top],
                    # The check's label whole, its exercise's title shortened (long labels were cut off).
                    "y": [f"{_short(title, 36)}: {label}" for (title, label), _ in top],
                    "hovertext": [f"{title}: {label}" for (title, label), _ in top],
                    "hoverinfo": "text+x",
                }
            ],
            "layout": _bar_layout(
                "Most common failing checks",
                margin={"t": 40, "r": 10, "b": 40, "l": 10},
                xaxis={"title": {"text": "failed runs"}, **_whole_ticks(top[-1][1] if top else 1)},
                yaxis={"automargin": True},
            ),
        },
    }


def student_attempts(*, classroom: Classroom, student_id: int) -> tuple[Any, list[Attempt]] | None:
    """A student of ``classroom`` and all their attempts, newest first; None if not in the class."""
    student = classroom.students.filter(pk=student_id).first()
    if student is None:
        return None
    return student, list(Attempt.objects.filter(user=student, reference=False))


# --- the auto-scaling demo ----------------------------------------------------------------------


def scaling_figure(
    *,
    started: datetime,
    rows: list[dict[str, Any]],
    throttled_at: list[datetime],
    errors: list[str],
    limit: int,
    size: int,
) -> dict[str, Any]:
    """The burst's summary and a Plotly figure of concurrency over time (seconds since the burst).

    A request counts from the moment Lambda accepted it (its row was created) until it finished:
    what the concurrency limit counts. (A synchronous invoke's row starts as running, so the time
    its handler ran would draw the same line.)
    """

    def seconds(moment: datetime) -> float:
        return round((moment - started).total_seconds(), 3)

    done = [row for row in rows if row["finished_at"]]
    accepted_x, accepted_y = concurrency_steps([(seconds(r["created_at"]), seconds(r["finished_at"])) for r in done])
    end = max([accepted_x[-1], *(seconds(t) for t in throttled_at)], default=0) + 0.2
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Requests in flight",
            "x": [*accepted_x, end],
            "y": [*accepted_y, 0],
            "line": {"shape": "hv", "width": 3},
        },
    ]
    if throttled_at:
        data.append(
            {"type": "scatter", "mode": "markers", "name": "Throttled (429)",
             "x": sorted(seconds(t) for t in throttled_at), "y": [limit] * len(throttled_at),
             "marker": {"symbol": "x", "size": 11, "color": "#dc2626"}}
        )
    layout = {
        "margin": {"t": 30, "r": 10, "b": 50, "l": 50},
        "height": 320,
        "legend": {"orientation": "h", "y": 1.15},
        "xaxis": {"title": {"text": "seconds since the burst"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "concurrent requests"}, "rangemode": "tozero", "dtick": max(1, limit // 5)},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": limit, "y1": limit,
                    "line": {"color": "#dc2626", "dash": "dash", "width": 1}}],
        "annotations": [{"xref": "paper", "x": 1, "y": limit, "xanchor": "right", "yanchor": "bottom",
                         "text": f"concurrency limit {limit}", "showarrow": False, "font": {"color": "#dc2626"}}],
    }
    return {
        "size": size,
        "limit": limit,
        "succeeded": len(done),
        "accepted": size - len(throttled_at),
        "throttled": len(throttled_at),
        "failed": len(errors),
        "errors": sorted(set(errors))[:3],
        "peak_accepted": max(accepted_y),
        "cold": sum(bool(r["cold"]) for r in done),
        "figure": {"data": data, "layout": layout},
    }
