"""Read-side queries for lesson pages and the home course map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from lessons.models import Lesson

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
    return list(Lesson.objects.order_by("order").defer("body_markdown", "body_html"))


def lesson_progress_for_user(
    *, user: AbstractBaseUser | AnonymousUser, lessons: list[Lesson]
) -> dict[str, LessonProgress]:
    """Progress per lesson slug for ``user``; empty for anonymous visitors.

    Nothing records progress yet, so every lesson is honestly "not started". This is the seam the
    progress feature fills: keep the signature, compute real values here.
    """
    if not user.is_authenticated:
        return {}
    return {lesson.slug: NOT_STARTED for lesson in lessons}


def course_map(*, user: AbstractBaseUser | AnonymousUser) -> list[CourseMapEntry]:
    lessons = lesson_list()
    progress = lesson_progress_for_user(user=user, lessons=lessons)
    return [CourseMapEntry(lesson=lesson, progress=progress.get(lesson.slug)) for lesson in lessons]


@dataclass(frozen=True)
class LessonPage:
    lesson: Lesson
    previous: Lesson | None
    next: Lesson | None
    prerequisites: list[Lesson]
    progress: LessonProgress | None


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
    )
