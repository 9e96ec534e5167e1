from __future__ import annotations

from django.contrib import admin

from lessons.models import Lesson


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    """Read-only: lessons are edited as Markdown files and loaded with ``manage.py lessons load``."""

    list_display = ("order", "title", "service", "estimated_minutes", "source_path", "updated_at")
    search_fields = ("slug", "title", "service")

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
