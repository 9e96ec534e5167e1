"""The coverage map: every concept of the source document, and the lesson sections that teach it.

``lessons/content/coverage.yaml`` lists concepts (each feature, work-process step, use case and
diagram of the seven topics)::

    concepts:
      - id: wis-pay-for-use
        topic: What is Serverless
        kind: feature            # feature | work-process | use-case | diagram | overview
        name: Pay-for-use
        sections: [what-is-serverless#four-traits-of-a-serverless-service]
        keywords: [pay for use]  # each must appear in one of the sections (case-insensitive)
        runnable: [exercise:wis-first-bucket, quiz:wis-pay-for-use]

A section is ``<lesson id>#<heading anchor>`` (an h2 or h3 of the table of contents); its text runs
to the next heading of the same or a higher level. Keywords keep the map honest: a section that
stops mentioning its concept breaks the check. Runnable steps are ``exercise:<id>``,
``quiz:<id>`` or ``snippet:<lesson>#<anchor>`` (a section with a code snippet to run). Pure: no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lessons.content import ContentError, LessonSource
from lessons.exercises import ExerciseSource

KINDS = ("overview", "feature", "work-process", "use-case", "diagram")
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")


@dataclass
class Concept:
    id: str
    topic: str
    kind: str
    name: str
    sections: list[str]
    runnable: list[str]
    keywords: list[str]
    line: int
    problems: list[str] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return bool(self.sections) and not self.problems

    @property
    def section_links(self) -> list[dict[str, str]]:
        """``{url, label}`` for each section, for the instructors' page."""
        links = []
        for ref in self.sections:
            lesson, _, anchor = ref.partition("#")
            links.append({"url": f"/lessons/{lesson}/#{anchor}", "label": ref})
        return links


def section_texts(lesson: LessonSource) -> dict[str, str]:
    """Anchor → Markdown text of each h2/h3 section, matched to the toc in document order."""
    headings: list[tuple[int, int]] = []  # (line index, level)
    lines = lesson.body_markdown.split("\n")
    in_fence = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and (match := _HEADING.match(line)):
            headings.append((index, len(match.group(1))))
    texts: dict[str, str] = {}
    for position, ((start, level), entry) in enumerate(zip(headings, lesson.toc, strict=False)):
        end = next((s for s, lv in headings[position + 1 :] if lv <= level), len(lines))
        texts[entry["id"]] = "\n".join(lines[start:end])
    return texts


def read_coverage(
    path: Path, *, shown: str, lessons: list[LessonSource], exercises: list[ExerciseSource]
) -> tuple[list[Concept], list[ContentError]]:
    """Parse and check the coverage map. Errors are format problems; per-concept gaps are ``problems``."""
    if not path.is_file():
        return [], [ContentError(shown, None, "the coverage map is missing")]
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [ContentError(shown, mark.line + 1 if mark else None, "not valid YAML")]
    if not isinstance(data, dict) or not isinstance(data.get("concepts"), list):
        return [], [ContentError(shown, 1, "expected a top-level 'concepts:' list")]
    concept_nodes = next(v for k, v in node.value if k.value == "concepts").value  # type: ignore[union-attr]

    sections = {lesson.slug: section_texts(lesson) for lesson in lessons}
    quizzes = {b["data"]["id"] for lesson in lessons for b in lesson.blocks if b["kind"] == "quiz"}
    exercise_ids = {exercise.slug for exercise in exercises}
    concepts: list[Concept] = []
    errors: list[ContentError] = []
    seen: set[str] = set()
    for item, item_node in zip(data["concepts"], concept_nodes, strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "topic", "kind", "name")):
            errors.append(ContentError(shown, line, "a concept needs text 'id', 'topic', 'kind' and 'name'"))
            continue
        if item["id"] in seen:
            errors.append(ContentError(shown, line, f"duplicate concept id '{item['id']}'"))
        seen.add(item["id"])
        if item["kind"] not in KINDS:
            errors.append(ContentError(shown, line, f"'kind' must be one of {', '.join(KINDS)}"))
        lists = {key: item.get(key) or [] for key in ("sections", "runnable", "keywords")}
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists.values()):
            errors.append(ContentError(shown, line, "'sections', 'runnable' and 'keywords' must be lists of text"))
            continue
        concept = Concept(id=item["id"], topic=item["topic"], kind=item["kind"], name=item["name"], line=line, **lists)
        if not concept.sections:
            concept.problems.append("no lesson section teaches it")
        texts = []
        for ref in concept.sections:
            lesson_slug, _, anchor = ref.partition("#")
            text = sections.get(lesson_slug, {}).get(anchor)
            if text is None:
                concept.problems.append(f"unknown section '{ref}'")
            else:
                texts.append(" ".join(text.lower().split()))  # keywords may wrap across lines
        for keyword in concept.keywords:
            if texts and not any(keyword.lower() in text for text in texts):
                concept.problems.append(f"keyword '{keyword}' appears in none of its sections")
        for ref in concept.runnable:
            kind, _, target = ref.partition(":")
            known = (
                (kind == "exercise" and target in exercise_ids)
                or (kind == "quiz" and target in quizzes)
                or (kind == "snippet" and target.partition("#")[2] in sections.get(target.partition("#")[0], {}))
            )
            if not known:
                concept.problems.append(f"unknown runnable step '{ref}'")
        concepts.append(concept)
    return concepts, errors


def coverage_report(concepts: list[Concept]) -> list[str]:
    """One line per concept, then exactly ``coverage: N/M concepts`` as the last line."""
    lines = []
    for concept in concepts:
        mark = "ok " if concept.covered else "GAP"
        where = ", ".join(concept.sections) or "-"
        lines.append(f"{mark} {concept.topic} / {concept.name}: {where}")
        lines.extend(f"      {problem}" for problem in concept.problems)
    covered = sum(concept.covered for concept in concepts)
    lines.append(f"coverage: {covered}/{len(concepts)} concepts")
    return lines
