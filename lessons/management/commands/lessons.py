from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lessons.content import ContentError
from lessons.coverage import coverage_report
from lessons.services import content_read, lessons_load


class Command(BaseCommand):
    help = "Validate lessons, exercises and the coverage map of lessons/content/ (check), or load them (load)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["load", "check"], help="check: validate only; load: validate and upsert")
        parser.add_argument("--content-dir", type=Path, help="folder of lesson files (default: lessons/content/)")

    def handle(self, *args: Any, **options: Any) -> None:
        content_dir: Path | None = options["content_dir"]
        if options["action"] == "check":
            content = content_read(content_dir)
            self._fail_on(content.errors, "")
            self.stdout.write(self.style.SUCCESS(f"lessons: {len(content.lessons)} OK"))
            self.stdout.write(self.style.SUCCESS(f"exercises: {len(content.exercises)} OK"))
            for line in coverage_report(content.concepts):
                self.stdout.write(line)
            if content.gaps:
                raise CommandError(f"lessons: {len(content.gaps)} concept(s) of the coverage map have a gap")
            return
        report = lessons_load(content_dir)
        self._fail_on(report.errors, ", nothing loaded")
        self.stdout.write(self.style.SUCCESS(report.summary()))

    def _fail_on(self, errors: list[ContentError], consequence: str) -> None:
        """Print each error as ``path:line: message`` and exit non-zero."""
        if errors:
            for error in errors:
                self.stderr.write(str(error))
            raise CommandError(f"lessons: {len(errors)} error(s) in lesson content{consequence}")
