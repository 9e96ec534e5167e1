"""Lambda state: functions, published versions, aliases and the record of every invocation.

A function's code is a zip in Django storage (see ``code.py``); rows keep its name, size and
CodeSha256. Versions copy the configuration and the code reference at publish time and never change.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from serverless_lab.sandboxes.models import Sandbox


class FunctionConfig(models.Model):
    """What an execution environment is built from: shared by $LATEST and each published version."""

    runtime = models.CharField(max_length=32)
    handler = models.CharField(max_length=128, blank=True, default="")
    role = models.CharField(max_length=2048)
    description = models.CharField(max_length=256, blank=True, default="")
    memory_mb = models.PositiveIntegerField(default=128)
    timeout_s = models.PositiveIntegerField(default=3)
    environment = models.JSONField(default=dict, blank=True)  # {"KEY": "value"}
    code_sha256 = models.CharField(max_length=64)  # base64 of the zip's SHA-256, as Lambda reports it
    code_size = models.PositiveBigIntegerField()
    code_name = models.CharField(max_length=255)  # the zip's name in storage
    revision_id = models.CharField(max_length=36)
    last_modified = models.DateTimeField()

    class Meta:
        abstract = True

    # What makes a new version differ from the last one (a description alone does not).
    CONFIG_FIELDS = ("runtime", "handler", "role", "memory_mb", "timeout_s", "environment", "code_sha256")


class Function(FunctionConfig):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="lambda_functions")
    name = models.CharField(max_length=64)
    reserved_concurrency = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, default="Active")
    policy = models.JSONField(default=list, blank=True)  # IAM policy statements (AddPermission)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["sandbox", "name"], name="lambda_function_name_unique")]

    def __str__(self) -> str:
        return self.name


class Version(FunctionConfig):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="lambda_versions")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["function", "number"], name="lambda_version_unique")]

    def __str__(self) -> str:
        return f"{self.function_id}:{self.number}"


class Alias(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="lambda_aliases")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=128)
    function_version = models.CharField(max_length=16)  # "$LATEST" or a version number
    description = models.CharField(max_length=256, blank=True, default="")
    revision_id = models.CharField(max_length=36)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["function", "name"], name="lambda_alias_unique")]

    def __str__(self) -> str:
        return f"{self.function_id}:{self.name}"


class Invocation(models.Model):
    """One attempt to run a function; an async invoke that is retried leaves one row per attempt,
    all with the same request id, as Lambda reuses it."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # the function raised or the runtime failed (X-Amz-Function-Error)
        TIMED_OUT = "timed_out"
        THROTTLED = "throttled"
        ERROR = "error"  # the lab could not run it

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="lambda_invocations")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="invocations")
    request_id = models.CharField(max_length=36, db_index=True)
    version = models.CharField(max_length=16, default="$LATEST")
    invocation_type = models.CharField(max_length=16, default="RequestResponse")
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    cold = models.BooleanField(null=True)
    duration_ms = models.FloatField(null=True)
    billed_duration_ms = models.PositiveIntegerField(null=True)
    memory_mb = models.PositiveIntegerField()
    max_memory_used_mb = models.PositiveIntegerField(null=True)
    init_duration_ms = models.FloatField(null=True)
    error_type = models.CharField(max_length=128, blank=True, default="")
    log_text = models.TextField(blank=True, default="")
    log_stream = models.CharField(max_length=128, blank=True, default="")
    request_preview = models.TextField(blank=True, default="")
    response_preview = models.TextField(blank=True, default="")
    trace_header = models.CharField(max_length=256, blank=True, default="")
    # When the lab accepted the call; a synchronous invoke's row is written by the worker afterwards.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request_id", "attempt"], name="lambda_invocation_attempt_unique")
        ]
        indexes = [models.Index(fields=["function", "created_at"], name="lambda_invocation_by_time")]

    def __str__(self) -> str:
        return f"{self.request_id}#{self.attempt}"


class TestEvent(models.Model):
    """A saved test event of the Lambda console (AWS keeps these per function, too)."""

    __test__ = False  # not a pytest test class, despite the name

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="lambda_test_events")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="test_events")
    name = models.CharField(max_length=25)  # AWS: 1–25 letters, digits, '-', '_', '.'
    payload = models.TextField()  # JSON text, as typed
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["function", "name"], name="lambda_test_event_name_unique")]

    def __str__(self) -> str:
        return f"{self.function_id}:{self.name}"
