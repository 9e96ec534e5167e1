"""A trace is one chain of causes (a student's call and everything it set off); a hop is one step of it.

Hops are append-only. ``Hop.pk`` grows monotonically, so a browser that reconnects asks for the
hops after the last pk it saw and misses nothing.
"""

from __future__ import annotations

from django.db import models

from serverless_lab.sandboxes.models import Sandbox


class Trace(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="traces")
    trace_id = models.CharField(max_length=35)  # 1-<8 hex>-<24 hex>
    started_at = models.DateTimeField()
    first_action = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["sandbox", "trace_id"], name="trace_id_unique_per_sandbox")]
        indexes = [models.Index(fields=["sandbox", "started_at"], name="trace_sandbox_started")]

    def __str__(self) -> str:
        return self.trace_id


class Hop(models.Model):
    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        THROTTLED = "throttled"
        RETRIED = "retried"
        FILTERED_OUT = "filtered-out"
        SENT_TO_DLQ = "sent-to-DLQ"

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="hops")
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="hops")
    hop_id = models.CharField(max_length=16)
    parent_hop_id = models.CharField(max_length=16, blank=True, default="")
    from_node = models.CharField(max_length=512)  # a resource ARN, "client" or "browser"
    to_node = models.CharField(max_length=512)
    action = models.CharField(max_length=128)  # "s3:PutObject", "sqs→lambda batch", ...
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    error_code = models.CharField(max_length=128, blank=True, default="")
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(default=0.0)
    payload_preview = models.CharField(max_length=512, blank=True, default="")

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["sandbox", "id"], name="hop_sandbox_seq")]

    def __str__(self) -> str:
        return f"{self.action} {self.from_node} → {self.to_node} ({self.status})"
