"""CloudWatch Logs state: groups, streams and their events (written by Lambda invocations)."""

from __future__ import annotations

from django.db import models

from serverless_lab.sandboxes.models import Sandbox


class LogGroup(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="log_groups")
    name = models.CharField(max_length=512)
    created_ms = models.BigIntegerField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["sandbox", "name"], name="logs_group_name_unique")]

    def __str__(self) -> str:
        return self.name


class LogStream(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="log_streams")
    group = models.ForeignKey(LogGroup, on_delete=models.CASCADE, related_name="streams")
    name = models.CharField(max_length=512)
    created_ms = models.BigIntegerField()
    first_event_ms = models.BigIntegerField(null=True)
    last_event_ms = models.BigIntegerField(null=True)
    last_ingestion_ms = models.BigIntegerField(null=True)
    stored_bytes = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="logs_stream_name_unique")]

    def __str__(self) -> str:
        return self.name


class LogEvent(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="log_events")
    stream = models.ForeignKey(LogStream, on_delete=models.CASCADE, related_name="events")
    timestamp_ms = models.BigIntegerField()
    ingestion_ms = models.BigIntegerField()
    message = models.TextField()

    class Meta:
        ordering = ["timestamp_ms", "id"]
        indexes = [models.Index(fields=["stream", "timestamp_ms", "id"], name="logs_event_by_time")]

    def __str__(self) -> str:
        return f"{self.timestamp_ms} {self.message[:40]}"
