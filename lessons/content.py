"""Read lesson files: Markdown with a YAML front matter block, validated and rendered to safe HTML.

Pure functions with no Django and no database, so ``manage.py lessons check`` can validate a content
folder without touching anything, and the rules are cheap to unit-test. Every problem is a
:class:`ContentError` that names the file and the line, the way a compiler would.

A lesson file looks like::

    ---
    id: aws-lambda
    title: AWS Lambda
    order: 2
    service: Lambda
    summary: One sentence for the course map.
    objectives:
      - Explain what an execution environment is
    estimated_minutes: 20
    prerequisites: [what-is-serverless]
    concepts: [Functions, Triggers]      # optional: short tags for the course map
    ---
    ## First heading
    ...
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown
import nh3
import yaml

from lessons.blocks import extract_blocks

# Part of every content hash: bump it when rendering changes, so `lessons load` re-renders files
# whose text did not change.
RENDERER_VERSION = "2"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED_FIELDS = (
    "id",
    "title",
    "order",
    "service",
    "summary",
    "objectives",
    "estimated_minutes",
    "prerequisites",
)
OPTIONAL_FIELDS = ("concepts",)
SUMMARY_MAX_CHARS = 300
TITLE_MAX_CHARS = 200

# What survives sanitising. Raw HTML in a lesson is never trusted: anything not listed here is
# removed, and <script>/<style> are removed together with their content.
_ALLOWED_TAGS = set(
    "a abbr blockquote br code dd del div dl dt em h2 h3 h4 h5 h6 hr img kbd li ol p pre strong sub sup table "
    "tbody td th thead tr ul".split()
)
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},
    "td": {"style"},
    **{f"h{level}": {"id"} for level in range(2, 7)},
}
_CODE_LANGUAGES = "bash console http ini javascript js json python sh shell sql text toml yaml".split()
_ALLOWED_CLASSES = {
    "code": {f"language-{lang}" for lang in _CODE_LANGUAGES},
    "div": {"admonition", "note", "tip", "warning", "danger"},
    "p": {"admonition-title"},
}


@dataclass(frozen=True)
class ContentError:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class LessonSource:
    """One lesson file, parsed, validated on its own and rendered."""

    slug: str
    title: str
    order: int
    service: str
    summary: str
    objectives: list[str]
    concepts: list[str]
    estimated_minutes: int
    prerequisites: list[str]
    body_markdown: str
    body_html: str
    toc: list[dict[str, Any]]
    blocks: list[dict[str, Any]]
    source_path: str
    content_hash: str
    # Line of each front matter key, for errors found only across files (duplicates, prerequisites).
    field_lines: dict[str, int] = field(default_factory=dict)


def content_hash(text: str) -> str:
    return hashlib.sha256(f"{RENDERER_VERSION}\0{text}".encode()).hexdigest()


def sanitize_html(raw_html: str) -> str:
    return nh3.clean(
        raw_html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        allowed_classes=_ALLOWED_CLASSES,
        filter_style_properties={"text-align"},
        url_schemes={"http", "https", "mailto"},
    )


def render_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Markdown → sanitised HTML, plus the h2/h3 table of contents as ``{id, title, level}`` dicts."""
    md = markdown.Markdown(
        extensions=["fenced_code", "tables", "toc", "admonition", "sane_lists"],
        extension_configs={"toc": {"toc_depth": "2-3"}},
    )
    raw = md.convert(text)
    toc: list[dict[str, Any]] = []

    def walk(tokens: list[dict[str, Any]]) -> None:
        for token in tokens:
            toc.append({"id": token["id"], "title": html.unescape(token["name"]), "level": token["level"]})
            walk(token.get("children", []))

    walk(md.toc_tokens)  # type: ignore[attr-defined]
    # Wrap tables so wide ones scroll sideways on a phone instead of widening the page. Safe to do
    # on sanitised output: a <table> tag there never carries attributes.
    body = sanitize_html(raw)
    body = body.replace("<table>", '<div class="table-scroll"><table>').replace("</table>", "</table></div>")
    return body, toc


@dataclass
class FrontMatter:
    data: dict[str, Any]
    field_lines: dict[str, int]
    body: str
    body_first_line: int  # file line of the body's first line


def read_front_matter(
    text: str, *, path: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> tuple[FrontMatter | None, list[ContentError]]:
    """Split a file into its YAML front matter and body; check the field names and required fields."""
    errors: list[ContentError] = []

    def error(line: int | None, message: str) -> None:
        errors.append(ContentError(path, line, message))

    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        error(1, "a lesson must start with a front matter block opened by '---'")
        return None, errors
    close = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if close is None:
        error(1, "the front matter opened here is never closed with '---'")
        return None, errors

    # File line numbers: line 1 is the opening '---', so YAML line 0 is file line 2.
    front_matter = "\n".join(lines[1:close])
    loader = yaml.SafeLoader(front_matter)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        error(mark.line + 2 if mark else 2, f"the front matter is not valid YAML: {problem}")
        return None, errors
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        error(2, "the front matter must be a list of 'field: value' lines")
        return None, errors

    field_lines: dict[str, int] = {}
    for key_node, _value_node in node.value:
        key, line = str(key_node.value), key_node.start_mark.line + 2
        if key in field_lines:
            error(line, f"field '{key}' is repeated (first set on line {field_lines[key]})")
        field_lines[key] = line
    known = set(required) | set(optional)
    for key, line in field_lines.items():
        if key not in known:
            error(line, f"unknown field '{key}' (known fields: {', '.join(required + optional)})")
    for key in required:
        if key not in data:
            error(1, f"missing required field '{key}'")
    body = "\n".join(lines[close + 1 :])
    if not body.strip():
        error(close + 1, "the file has no body after its front matter")
    if h1_line := _first_h1_line(lines, start=close + 1):
        error(h1_line, "use '##' or deeper headings: the page title comes from the front matter 'title'")
    if errors:
        return None, errors
    return FrontMatter(data=data, field_lines=field_lines, body=body, body_first_line=close + 2), errors


def parse_lesson(text: str, *, path: str) -> tuple[LessonSource | None, list[ContentError]]:
    """Parse one lesson file's text. ``path`` is only used to name the file in errors."""
    front, errors = read_front_matter(text, path=path, required=REQUIRED_FIELDS, optional=OPTIONAL_FIELDS)
    if front is None:
        return None, errors
    data, field_lines = front.data, front.field_lines

    def error(line: int | None, message: str) -> None:
        errors.append(ContentError(path, line, message))

    def check(key: str, ok: bool, message: str) -> None:
        if not ok:
            error(field_lines.get(key, 1), f"'{key}' {message}")

    def is_text_list(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    slug, order, minutes = data["id"], data["order"], data["estimated_minutes"]
    check("id", isinstance(slug, str) and bool(SLUG_RE.match(slug)), "must be a slug like 'aws-lambda'")
    for key, limit in (("title", TITLE_MAX_CHARS), ("service", 80), ("summary", SUMMARY_MAX_CHARS)):
        value = data[key]
        check(key, isinstance(value, str) and bool(value.strip()), "must be non-empty text")
        check(key, not isinstance(value, str) or len(value) <= limit, f"is longer than {limit} characters")
    check("order", is_int(order) and order >= 1, "must be a whole number, 1 or more")
    check("estimated_minutes", is_int(minutes) and 1 <= minutes <= 600, "must be a whole number of minutes (1–600)")
    objectives = data["objectives"]
    check("objectives", is_text_list(objectives) and bool(objectives), "must be a non-empty list of text")
    prerequisites = data["prerequisites"]
    check("prerequisites", prerequisites is None or is_text_list(prerequisites), "must be a list of lesson ids")
    if isinstance(prerequisites, list) and slug in prerequisites:
        error(field_lines["prerequisites"], "'prerequisites' cannot include the lesson itself")
    concepts = data.get("concepts") or []
    check("concepts", is_text_list(concepts), "must be a list of short text tags")

    # Keep leading blank lines so block line numbers stay file line numbers.
    tokenised, blocks, block_errors = extract_blocks(front.body, first_line=front.body_first_line)
    errors.extend(ContentError(path, e.line, e.message) for e in block_errors)
    if errors:
        return None, errors

    body_html, toc = render_markdown(tokenised)
    return (
        LessonSource(
            slug=slug,
            title=data["title"].strip(),
            order=order,
            service=data["service"].strip(),
            summary=data["summary"].strip(),
            objectives=[o.strip() for o in objectives],
            concepts=[c.strip() for c in concepts],
            estimated_minutes=minutes,
            prerequisites=list(prerequisites or []),
            body_markdown=front.body.strip("\n"),
            blocks=blocks,
            body_html=body_html,
            toc=toc,
            source_path=path,
            content_hash=content_hash(text),
            field_lines=field_lines,
        ),
        errors,
    )


def _first_h1_line(lines: list[str], *, start: int) -> int | None:
    """The 1-based line of the first '# ' heading outside fenced code, if any."""
    in_fence = False
    for index in range(start, len(lines)):
        stripped = lines[index].lstrip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and re.match(r"#(\s|$)", stripped):
            return index + 1
    return None


def validate_collection(lessons: list[LessonSource]) -> list[ContentError]:
    """Rules that span files: unique ids and orders, prerequisites that exist and come earlier."""
    errors: list[ContentError] = []
    by_slug: dict[str, LessonSource] = {}
    by_order: dict[int, LessonSource] = {}
    for lesson in lessons:
        if first := by_slug.get(lesson.slug):
            errors.append(
                ContentError(
                    lesson.source_path,
                    lesson.field_lines.get("id"),
                    f"duplicate id '{lesson.slug}' (also used by {first.source_path})",
                )
            )
        else:
            by_slug[lesson.slug] = lesson
        if first := by_order.get(lesson.order):
            errors.append(
                ContentError(
                    lesson.source_path,
                    lesson.field_lines.get("order"),
                    f"duplicate order {lesson.order} (also used by {first.source_path})",
                )
            )
        else:
            by_order[lesson.order] = lesson
    for lesson in lessons:
        line = lesson.field_lines.get("prerequisites")
        for prerequisite in lesson.prerequisites:
            required = by_slug.get(prerequisite)
            if required is None:
                errors.append(ContentError(lesson.source_path, line, f"unknown prerequisite '{prerequisite}'"))
            elif required.order >= lesson.order:
                errors.append(
                    ContentError(
                        lesson.source_path,
                        line,
                        f"prerequisite '{prerequisite}' (order {required.order}) must come "
                        f"before this lesson (order {lesson.order})",
                    )
                )
    return errors


def read_directory(
    content_dir: Path, *, display_root: Path | None = None
) -> tuple[list[LessonSource], list[ContentError]]:
    """Parse every ``*.md`` in ``content_dir`` (files starting with '_' and README.md are skipped).

    Paths in errors and in ``source_path`` are relative to ``display_root`` when the file is inside it.
    """

    def shown(path: Path) -> str:
        if display_root is not None and path.resolve().is_relative_to(display_root.resolve()):
            return str(path.resolve().relative_to(display_root.resolve()))
        return str(path)

    if not content_dir.is_dir():
        return [], [ContentError(shown(content_dir), None, "the lesson content folder does not exist")]
    files = sorted(p for p in content_dir.glob("*.md") if not p.name.startswith("_") and p.name.lower() != "readme.md")
    if not files:
        return [], [ContentError(shown(content_dir), None, "no lesson files (*.md) found")]
    lessons: list[LessonSource] = []
    errors: list[ContentError] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            errors.append(ContentError(shown(path), None, f"not UTF-8 text ({exc.reason})"))
            continue
        lesson, file_errors = parse_lesson(text, path=shown(path))
        errors.extend(file_errors)
        if lesson is not None:
            lessons.append(lesson)
    errors.extend(validate_collection(lessons))
    return sorted(lessons, key=lambda lesson: lesson.order), errors
