from __future__ import annotations

from django.conf import settings
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
    blocks = models.JSONField(default=list, blank=True)  # interactive blocks, see lessons/blocks.py
    source_path = models.CharField(max_length=500)
    content_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lessons:detail", args=[self.slug])


class AuthoredExercise(models.Model):
    """An exercise written in the browser by an instructor: the same fields as the two files of
    ``lessons/content/exercises/`` (front matter and instructions, checks module), stored here.

    Saving one refreshes its :class:`Exercise` row, which is what lesson pages, grading and progress
    read, so an authored exercise is graded exactly like a file-based one.
    """

    slug = models.SlugField(max_length=80, unique=True)
    lesson_slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=1)
    summary = models.CharField(max_length=300)
    hints = models.JSONField(default=list)
    starter = models.TextField(blank=True)
    instructions = models.TextField()  # Markdown, sanitised when rendered
    module_source = models.TextField()  # the checks and solution(session): instructors only
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["lesson_slug", "order", "slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lessons:authoring_edit", args=[self.slug])


class Exercise(models.Model):
    """An exercise as loaded from ``lessons/content/exercises/<slug>.md`` and its checks module.

    Like :class:`Lesson`, a cache of the files; attempts key on ``slug`` so they survive reloads.
    """

    slug = models.SlugField(max_length=80, unique=True)
    lesson_slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField()
    summary = models.CharField(max_length=300)
    instructions_html = models.TextField()
    hints = models.JSONField(default=list)
    starter = models.TextField(blank=True)
    checks = models.JSONField(default=list)
    source_path = models.CharField(max_length=500)
    module_path = models.CharField(max_length=500)  # empty for an authored exercise
    content_hash = models.CharField(max_length=64)
    # Set for an exercise authored in the browser (its checks live in the database); `lessons load`
    # leaves these rows alone.
    authored = models.OneToOneField(
        AuthoredExercise, on_delete=models.CASCADE, null=True, blank=True, related_name="exercise"
    )

    class Meta:
        ordering = ["lesson_slug", "order"]

    def __str__(self) -> str:
        return self.title


class LessonRecord(models.Model):
    """One student's reading of one lesson: when it was first opened and marked complete."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_records")
    lesson_slug = models.SlugField(max_length=80)
    read_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lesson_slug"], name="lesson_record_unique")]

    def __str__(self) -> str:
        return f"{self.user} read {self.lesson_slug}"


class QuizAnswer(models.Model):
    """A student's latest answer to one quiz (re-answering replaces it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_answers")
    lesson_slug = models.SlugField(max_length=80)
    quiz_id = models.SlugField(max_length=80)
    choices = models.JSONField(default=list)  # indexes of the ticked options
    correct = models.BooleanField()
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "quiz_id"], name="quiz_answer_unique")]

    def __str__(self) -> str:
        return f"{self.user} on {self.quiz_id}: {'right' if self.correct else 'wrong'}"


class Attempt(models.Model):
    """One grading run of an exercise against a student's sandbox."""

    # Grading history belongs to the student, not to the sandbox's resources.
    KEEP_ON_SANDBOX_RESET = True

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        ERROR = "error"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts")
    sandbox = models.ForeignKey("sandboxes.Sandbox", on_delete=models.SET_NULL, null=True, related_name="+")
    exercise_slug = models.SlugField(max_length=80)
    # An instructor's run of the reference solution in a throwaway sandbox: not a student's work,
    # so it never counts towards progress or the class dashboard.
    reference = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    results = models.JSONField(default=list)  # [{name, label, status, message}] in check order
    total = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField(default=0)  # percent of checks passed
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "exercise_slug"])]

    def __str__(self) -> str:
        return f"{self.user} on {self.exercise_slug}: {self.score}%"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.ERROR)

    @property
    def progress_percent(self) -> int:
        return round(100 * len(self.results) / self.total) if self.total else 100
