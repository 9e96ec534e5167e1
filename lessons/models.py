from __future__ import annotations

from django.db import models
from django.urls import reverse


class Lesson(models.Model):
    """A lesson as loaded from ``lessons/content/*.md`` by ``manage.py lessons load``.

    The Markdown file is the source of truth: this row is a rendered cache of it, rewritten when the
    file's ``content_hash`` changes and deleted when the file goes away. Key anything that must
    survive a reload (progress, attempts) on ``slug``, or protect the foreign key.
    """

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    # Unique across lessons, but checked by the loader rather than the database so that a reload
    # can reorder lessons without tripping over a transient duplicate.
    order = models.PositiveIntegerField()
    service = models.CharField(max_length=80)
    summary = models.CharField(max_length=300)
    objectives = models.JSONField(default=list)
    concepts = models.JSONField(default=list, blank=True)
    estimated_minutes = models.PositiveSmallIntegerField()
    prerequisites = models.JSONField(default=list, blank=True)
    body_markdown = models.TextField()
    body_html = models.TextField()
    toc = models.JSONField(default=list, blank=True)
    source_path = models.CharField(max_length=500)
    content_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lessons:detail", args=[self.slug])
