from __future__ import annotations

from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "lessons"
    label = "lessons"
    verbose_name = "Lessons"
    default_auto_field = "django.db.models.BigAutoField"
