"""The Celery application. Workers start with ``celery -A serverless_lab.celery worker``."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverless_lab.settings")

app = Celery("serverless_lab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
