"""Exercises authored in the browser: save, import and export, in the format of
``lessons/content/exercises/`` (``<id>.md`` + ``<id>.py``).

Only instructors reach these services (the views check). The checks module is never run in the web
process: it is read with ``ast`` here (:func:`lessons.exercises.checks_from_source`) and imported
only by the grader in the Celery worker, like the file-based modules. Instructors are trusted
authors, as the people who write ``lessons/content/`` are: their checks run with the worker's rights.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from lessons.content import ContentError
from lessons.exercises import ExerciseSource, exercise_markdown, parse_exercise_texts
from lessons.models import AuthoredExercise, Exercise, Lesson

MAX_UPLOAD_BYTES = 256 * 1024
AUTHORED_SOURCE = "(authored in the browser)"


class AuthoringInvalid(Exception):
    """The exercise does not validate; ``errors`` name the file and line where they can."""

    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


@dataclass(frozen=True)
class ExerciseDraft:
    """What an author writes: the fields of ``<id>.md`` and the text of ``<id>.py``."""

    slug: str
    title: str
    lesson: str
    order: int
    summary: str
    hints: list[str]
    starter: str
    instructions: str
    module_source: str

    @property
    def markdown(self) -> str:
        return exercise_markdown(
            slug=self.slug,
            title=self.title,
            lesson=self.lesson,
            order=self.order,
            summary=self.summary,
            hints=self.hints,
            starter=self.starter,
            instructions=self.instructions,
        )


def draft_of(authored: AuthoredExercise) -> ExerciseDraft:
    return ExerciseDraft(
        slug=authored.slug,
        title=authored.title,
        lesson=authored.lesson_slug,
        order=authored.order,
        summary=authored.summary,
        hints=list(authored.hints),
        starter=authored.starter,
        instructions=authored.instructions,
        module_source=authored.module_source,
    )


def draft_validate(draft: ExerciseDraft, *, existing: AuthoredExercise | None = None) -> ExerciseSource:
    """Parse the draft exactly as its two files would be, plus the rules across the site:
    the lesson exists, and the id is not taken by a shipped exercise or another authored one."""
    source, errors = parse_exercise_texts(
        draft.markdown, draft.module_source, stem=draft.slug, shown=f"{draft.slug}.md", shown_module=f"{draft.slug}.py"
    )
    shown = f"{draft.slug}.md"
    if not Lesson.objects.filter(slug=draft.lesson).exists():
        errors.append(ContentError(shown, None, f"unknown lesson '{draft.lesson}'"))
    if Exercise.objects.filter(slug=draft.slug, authored__isnull=True).exists():
        errors.append(ContentError(shown, None, f"'{draft.slug}' is the id of a shipped exercise; choose another"))
    elif AuthoredExercise.objects.filter(slug=draft.slug).exclude(pk=existing.pk if existing else None).exists():
        errors.append(ContentError(shown, None, f"an authored exercise '{draft.slug}' already exists"))
    if errors or source is None:
        raise AuthoringInvalid(errors)
    return source


@transaction.atomic
def authored_save(
    *, author: AbstractBaseUser, draft: ExerciseDraft, existing: AuthoredExercise | None = None
) -> AuthoredExercise:
    """Create or update an authored exercise and its ``Exercise`` row (what pages and grading read)."""
    source = draft_validate(draft, existing=existing)
    authored = existing or AuthoredExercise(author=author)
    authored.slug = draft.slug
    authored.lesson_slug = source.lesson
    authored.title = source.title
    authored.order = source.order
    authored.summary = source.summary
    authored.hints = source.hints
    authored.starter = source.starter
    authored.instructions = source.instructions
    authored.module_source = draft.module_source
    authored.save()
    Exercise.objects.update_or_create(
        slug=authored.slug,
        defaults={
            "authored": authored,
            "lesson_slug": source.lesson,
            "title": source.title,
            "order": source.order,
            "summary": source.summary,
            "instructions_html": source.instructions_html,
            "hints": source.hints,
            "starter": source.starter,
            "checks": source.checks,
            "source_path": AUTHORED_SOURCE,
            "module_path": "",
            "content_hash": source.content_hash,
        },
    )
    return authored


def authored_delete(*, authored: AuthoredExercise) -> None:
    """Delete it and its ``Exercise`` row; attempts stay (keyed on the slug) but no page shows them."""
    authored.delete()


# --- files ----------------------------------------------------------------------------------------


def _pair(files: list[tuple[str, bytes]]) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """The ``.md`` and ``.py`` of an upload: a zip holding both, or the two files themselves."""
    if len(files) == 1 and files[0][0].lower().endswith(".zip"):
        name, data = files[0]
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [info for info in archive.infolist() if not info.is_dir()]
            if sum(info.file_size for info in members) > MAX_UPLOAD_BYTES:
                raise AuthoringInvalid([ContentError(name, None, "the files in it are too large (256 KB at most)")])
            # Read into memory by base name: nothing is ever extracted to disk.
            files = [(PurePosixPath(info.filename).name, archive.read(info)) for info in members]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
            raise AuthoringInvalid([ContentError(name, None, "is not a readable zip file")]) from None
    markdown = [item for item in files if item[0].endswith(".md")]
    modules = [item for item in files if item[0].endswith(".py")]
    if len(markdown) != 1 or len(modules) != 1:
        raise AuthoringInvalid(
            [ContentError("upload", None, "upload <id>.md and <id>.py (or one .zip holding both), nothing else")]
        )
    md, py = markdown[0], modules[0]
    if PurePosixPath(md[0]).stem != PurePosixPath(py[0]).stem:
        raise AuthoringInvalid([ContentError(py[0], None, f"must be named {PurePosixPath(md[0]).stem}.py")])
    return md, py


def _text(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthoringInvalid([ContentError(name, None, "is not UTF-8 text")]) from None


def draft_from_files(files: list[tuple[str, bytes]]) -> ExerciseDraft:
    """Read an uploaded exercise; raises :class:`AuthoringInvalid` with file and line errors."""
    if sum(len(data) for _, data in files) > MAX_UPLOAD_BYTES:
        raise AuthoringInvalid([ContentError("upload", None, "is too large (256 KB at most)")])
    (md_name, md_data), (py_name, py_data) = _pair(files)
    md_text, py_text = _text(md_name, md_data), _text(py_name, py_data)
    stem = PurePosixPath(md_name).stem
    source, errors = parse_exercise_texts(md_text, py_text, stem=stem, shown=md_name, shown_module=py_name)
    if source is None:
        raise AuthoringInvalid(errors)
    return ExerciseDraft(
        slug=source.slug,
        title=source.title,
        lesson=source.lesson,
        order=source.order,
        summary=source.summary,
        hints=source.hints,
        starter=source.starter,
        instructions=source.instructions,
        module_source=py_text,
    )


def authored_import(*, author: AbstractBaseUser, files: list[tuple[str, bytes]]) -> tuple[AuthoredExercise, bool]:
    """Create an authored exercise from uploaded files, or replace the one with the same id;
    returns it and whether it is new."""
    draft = draft_from_files(files)
    existing = AuthoredExercise.objects.filter(slug=draft.slug).first()
    return authored_save(author=author, draft=draft, existing=existing), existing is None


def exercise_files(exercise: Exercise) -> dict[str, str]:
    """The exercise as the two files of ``lessons/content/exercises/`` (authored or shipped)."""
    if exercise.authored_id is not None:
        draft = draft_of(AuthoredExercise.objects.get(pk=exercise.authored_id))
        return {f"{draft.slug}.md": draft.markdown, f"{draft.slug}.py": draft.module_source}
    root = Path(settings.BASE_DIR)
    return {
        f"{exercise.slug}.md": (root / exercise.source_path).read_text(encoding="utf-8"),
        f"{exercise.slug}.py": (root / exercise.module_path).read_text(encoding="utf-8"),
    }


def exercise_zip(exercise: Exercise) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in exercise_files(exercise).items():
            archive.writestr(name, text)
    return buffer.getvalue()
