"""Read exercise files: ``lessons/content/exercises/<id>.md`` plus its checks module ``<id>.py``.

The Markdown file has the same front matter format as a lesson::

    ---
    id: s3-photos-versioning
    title: Keep every version of your photos
    lesson: amazon-s3                 # the lesson that embeds it (```exercise``` block)
    order: 1                          # position among that lesson's exercises
    summary: One sentence.
    hints:                            # revealed one at a time
      - Versioning is a bucket setting...
    starter: |                        # optional: code the student starts from
      import boto3
    ---
    ## What to build
    Instructions in Markdown.

The module declares checks with ``lessons.checks.check`` and a ``solution(session)`` function (see
``lessons/checks.py``). Pure: no Django; importing the module runs its top level, which is the
authors' code, never a student's.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lessons.checks import load_module, module_checks
from lessons.content import (
    SLUG_RE,
    SUMMARY_MAX_CHARS,
    ContentError,
    LessonSource,
    content_hash,
    read_front_matter,
    render_markdown,
)

REQUIRED_FIELDS = ("id", "title", "lesson", "order", "summary", "hints")
OPTIONAL_FIELDS = ("starter",)


@dataclass
class ExerciseSource:
    slug: str
    title: str
    lesson: str
    order: int
    summary: str
    hints: list[str]
    starter: str
    instructions_html: str
    checks: list[dict[str, str]]  # [{name, label}] in order
    source_path: str
    module_path: str
    content_hash: str
    field_lines: dict[str, int] = field(default_factory=dict)
    instructions: str = ""  # the Markdown body, as written


def _front(
    text: str, *, shown: str, stem: str
) -> tuple[dict[str, Any] | None, str, dict[str, int], list[ContentError]]:
    """Validate an exercise's front matter; returns (data, body, field lines, errors)."""
    front, errors = read_front_matter(text, path=shown, required=REQUIRED_FIELDS, optional=OPTIONAL_FIELDS)
    if front is None:
        return None, "", {}, errors
    data, lines = front.data, front.field_lines

    def bad(key: str, message: str) -> None:
        errors.append(ContentError(shown, lines.get(key, 1), f"'{key}' {message}"))

    if not (isinstance(data["id"], str) and SLUG_RE.match(data["id"])):
        bad("id", "must be a slug like 's3-photos-versioning'")
    elif data["id"] != stem:
        bad("id", f"must match the file name ('{stem}')")
    for key in ("title", "lesson", "summary"):
        if not (isinstance(data[key], str) and data[key].strip()):
            bad(key, "must be non-empty text")
    if isinstance(data["summary"], str) and len(data["summary"].strip()) > SUMMARY_MAX_CHARS:
        bad("summary", f"must be at most {SUMMARY_MAX_CHARS} characters")
    if not (isinstance(data["order"], int) and not isinstance(data["order"], bool) and data["order"] >= 1):
        bad("order", "must be a whole number, 1 or more")
    hints = data["hints"]
    if not (isinstance(hints, list) and hints and all(isinstance(h, str) and h.strip() for h in hints)):
        bad("hints", "must be a non-empty list of text")
    if not isinstance(data.get("starter") or "", str):
        bad("starter", "must be text (use 'starter: |' for code)")
    return data, front.body, lines, errors


def _source(
    data: dict[str, Any], body: str, lines: dict[str, int], checks: list[dict[str, str]], **where: str
) -> ExerciseSource:
    instructions_html, _toc = render_markdown(body.strip("\n"))
    return ExerciseSource(
        slug=data["id"],
        title=data["title"].strip(),
        lesson=data["lesson"].strip(),
        order=data["order"],
        summary=data["summary"].strip(),
        hints=[h.strip() for h in data["hints"]],
        starter=(data.get("starter") or "").rstrip(),
        instructions_html=instructions_html,
        checks=checks,
        field_lines=lines,
        instructions=body.strip("\n"),
        **where,  # type: ignore[arg-type]
    )


def parse_exercise(md_path: Path, *, shown: str, shown_module: str) -> tuple[ExerciseSource | None, list[ContentError]]:
    text = md_path.read_text(encoding="utf-8")
    data, body, lines, errors = _front(text, shown=shown, stem=md_path.stem)
    if data is None:
        return None, errors
    module_file = md_path.with_suffix(".py")
    checks: list[dict[str, str]] = []
    if not module_file.is_file():
        errors.append(ContentError(shown, 1, f"missing the checks module {shown_module}"))
    else:
        try:
            module = load_module(module_file, name=md_path.stem)
        except Exception as exc:  # any import-time failure is a content error, not a crash
            errors.append(ContentError(shown_module, getattr(exc, "lineno", None), f"cannot import: {exc!r}"))
        else:
            functions = module_checks(module)
            if not functions:
                errors.append(ContentError(shown_module, None, "declares no @check functions"))
            for function in functions:
                label = function.check_label  # type: ignore[attr-defined]
                line = function.__code__.co_firstlineno
                if not (isinstance(label, str) and label.strip()):
                    errors.append(ContentError(shown_module, line, f"check '{function.__name__}' needs a label"))
                checks.append({"name": function.__name__, "label": str(label)})
            if not callable(getattr(module, "solution", None)):
                errors.append(ContentError(shown_module, None, "needs a solution(session) function"))
    if errors:
        return None, errors
    module_text = module_file.read_text(encoding="utf-8")
    source = _source(
        data,
        body,
        lines,
        checks,
        source_path=shown,
        module_path=shown_module,
        content_hash=content_hash(text + "\0" + module_text),
    )
    return source, errors


def checks_from_source(source: str, *, shown: str) -> tuple[list[dict[str, str]], list[ContentError]]:
    """The checks a module declares, read from its syntax tree without running it.

    Used for exercises authored in the browser, whose code the web process must not execute: the
    module is only imported by the grader in the worker. A check is a top-level function decorated
    with ``@check("label")`` (a literal label); ``solution(session)`` must be defined.
    """
    try:
        tree = ast.parse(source, filename=shown)
    except SyntaxError as exc:
        return [], [ContentError(shown, exc.lineno, f"invalid Python: {exc.msg}")]
    checks: list[dict[str, str]] = []
    errors: list[ContentError] = []
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        names.add(node.name)
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if not (isinstance(target, ast.Name) and target.id == "check"):
                continue
            label = call.args[0] if call and len(call.args) == 1 and not call.keywords else None
            if not (isinstance(label, ast.Constant) and isinstance(label.value, str) and label.value.strip()):
                errors.append(ContentError(shown, node.lineno, f"check '{node.name}' needs a label: @check(\"...\")"))
                continue
            checks.append({"name": node.name, "label": label.value.strip()})
    if not checks and not errors:
        errors.append(ContentError(shown, None, "declares no @check functions"))
    if "solution" not in names:
        errors.append(ContentError(shown, None, "needs a solution(session) function"))
    return checks, errors


def parse_exercise_texts(
    md_text: str, module_text: str, *, stem: str, shown: str, shown_module: str
) -> tuple[ExerciseSource | None, list[ContentError]]:
    """Like :func:`parse_exercise` for two texts (an upload, a form), reading the checks without
    running the module (see :func:`checks_from_source`)."""
    data, body, lines, errors = _front(md_text, shown=shown, stem=stem)
    checks, module_errors = checks_from_source(module_text, shown=shown_module)
    errors += module_errors
    if data is None or errors:
        return None, errors
    source = _source(
        data,
        body,
        lines,
        checks,
        source_path=shown,
        module_path="",
        content_hash=content_hash(md_text + "\0" + module_text),
    )
    return source, errors


class _Literal(str):
    """A string YAML writes as a ``|`` block (starter code)."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def exercise_markdown(
    *, slug: str, title: str, lesson: str, order: int, summary: str, hints: list[str], starter: str, instructions: str
) -> str:
    """The ``<id>.md`` file of an exercise: front matter in the documented order, then the body."""
    front: dict[str, Any] = {
        "id": slug,
        "title": title,
        "lesson": lesson,
        "order": order,
        "summary": summary,
        "hints": hints,
    }
    if starter.strip():
        front["starter"] = _Literal(starter.rstrip() + "\n")
    text = yaml.dump(front, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{text}---\n{instructions.strip()}\n"


def read_exercises(folder: Path, *, shown: Any) -> tuple[list[ExerciseSource], list[ContentError]]:
    """Parse every ``*.md`` of ``folder`` (a missing folder means no exercises)."""
    exercises: list[ExerciseSource] = []
    errors: list[ContentError] = []
    if not folder.is_dir():
        return exercises, errors
    for md_path in sorted(folder.glob("*.md")):
        if md_path.name.startswith("_") or md_path.name.lower() == "readme.md":
            continue
        exercise, file_errors = parse_exercise(
            md_path, shown=shown(md_path), shown_module=shown(md_path.with_suffix(".py"))
        )
        errors.extend(file_errors)
        if exercise is not None:
            exercises.append(exercise)
    return exercises, errors


def validate_links(lessons: list[LessonSource], exercises: list[ExerciseSource]) -> list[ContentError]:
    """Rules across lessons and exercises: unique quiz ids, exercises that exist and are embedded."""
    errors: list[ContentError] = []
    lesson_slugs = {lesson.slug for lesson in lessons}
    by_slug = {exercise.slug: exercise for exercise in exercises}
    quiz_ids: dict[str, str] = {}
    embedded: set[str] = set()
    for lesson in lessons:
        editors: set[str] = set()
        for block in lesson.blocks:
            ident = block["data"].get("id")
            if block["kind"] == "editor":
                function = block["data"]["function"]
                if function in editors:
                    errors.append(
                        ContentError(lesson.source_path, block["line"], f"another editor block runs '{function}'")
                    )
                editors.add(function)
            if block["kind"] == "quiz":
                if ident in quiz_ids:
                    errors.append(
                        ContentError(
                            lesson.source_path,
                            block["line"],
                            f"duplicate quiz id '{ident}' (also in {quiz_ids[ident]})",
                        )
                    )
                quiz_ids[ident] = lesson.source_path
            elif block["kind"] == "exercise":
                exercise = by_slug.get(ident)
                if exercise is None:
                    errors.append(ContentError(lesson.source_path, block["line"], f"unknown exercise '{ident}'"))
                elif exercise.lesson != lesson.slug:
                    errors.append(
                        ContentError(
                            lesson.source_path,
                            block["line"],
                            f"exercise '{ident}' belongs to lesson '{exercise.lesson}'",
                        )
                    )
                embedded.add(ident)
    for exercise in exercises:
        if exercise.lesson not in lesson_slugs:
            errors.append(
                ContentError(
                    exercise.source_path, exercise.field_lines.get("lesson"), f"unknown lesson '{exercise.lesson}'"
                )
            )
        elif exercise.slug not in embedded:
            errors.append(
                ContentError(
                    exercise.source_path,
                    1,
                    f"no lesson embeds this exercise (add an ```exercise``` block to '{exercise.lesson}')",
                )
            )
    return errors
