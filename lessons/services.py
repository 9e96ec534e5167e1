"""Load lesson files into the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from lessons.content import ContentError, LessonSource, read_directory
from lessons.models import Lesson

DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent / "content"


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


def lessons_read(content_dir: Path | None = None) -> tuple[list[LessonSource], list[ContentError]]:
    """Parse and validate a content folder without touching the database."""
    return read_directory(content_dir or DEFAULT_CONTENT_DIR, display_root=Path(settings.BASE_DIR))


@transaction.atomic
def lessons_load(content_dir: Path | None = None) -> LoadReport:
    """Make the ``Lesson`` table match the content folder: insert, update, and delete.

    All or nothing: if any file has an error, nothing is written. Rows whose file did not change
    (same content hash and path) are left alone, so a second load is a no-op.
    """
    sources, errors = lessons_read(content_dir)
    report = LoadReport(errors=errors)
    if errors:
        return report
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
    return report
