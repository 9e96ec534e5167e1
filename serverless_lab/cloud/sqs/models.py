"""SQS state: queues, their messages, and FIFO deduplication records.

Times are epoch milliseconds (integers), so visibility arithmetic and indexes stay simple. A
message is *visible* when ``visible_at <= now``; *in flight* when it was received
(``receive_count > 0``) and ``visible_at > now``; *delayed* when never received and ``visible_at > now``.
"""

from __future__ import annotations

import uuid

from django.db import models

from serverless_lab.sandboxes.models import Sandbox


class Queue(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="sqs_queues")
    name = models.CharField(max_length=80)
    fifo = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict)  # settable attributes, values as SQS strings
    tags = models.JSONField(default=dict, blank=True)
    created_ms = models.BigIntegerField()
    modified_ms = models.BigIntegerField()
    next_sequence = models.BigIntegerField(default=1)  # FIFO SequenceNumber counter

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["sandbox", "name"], name="sqs_queue_name_unique_per_sandbox")]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="messages")
    message_id = models.UUIDField(default=uuid.uuid4, unique=True)
    body = models.TextField()
    attributes = models.JSONField(default=dict, blank=True)  # message attributes, binary as base64
    md5_body = models.CharField(max_length=32)
    md5_attributes = models.CharField(max_length=32, blank=True, default="")
    trace_header = models.CharField(max_length=256, blank=True, default="")
    sent_ms = models.BigIntegerField()
    visible_at = models.BigIntegerField()
    expires_at = models.BigIntegerField()
    receive_count = models.PositiveIntegerField(default=0)
    first_received_ms = models.BigIntegerField(null=True, blank=True)
    receipt_nonce = models.CharField(max_length=32, blank=True, default="")
    group_id = models.CharField(max_length=128, blank=True, default="")
    dedup_id = models.CharField(max_length=128, blank=True, default="")
    sequence = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["queue", "visible_at"], name="sqs_message_visible"),
            models.Index(fields=["queue", "group_id", "sequence"], name="sqs_message_group"),
            models.Index(fields=["queue", "expires_at"], name="sqs_message_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.queue_id}: {self.message_id}"


class Deduplication(models.Model):
    """A FIFO deduplication id seen within the last five minutes."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="deduplications")
    dedup_id = models.CharField(max_length=128)
    group_id = models.CharField(max_length=128, blank=True, default="")  # "" unless DeduplicationScope=messageGroup
    message_id = models.UUIDField()
    sequence = models.BigIntegerField()
    expires_ms = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "group_id", "dedup_id"], name="sqs_dedup_unique_per_queue")
        ]

    def __str__(self) -> str:
        return self.dedup_id


class DepthSample(models.Model):
    """A queue's depth at one moment, for the console's chart.

    Recorded only while somebody watches the queue's console page (its depth panel polls), and only
    when the depth changed or the last sample is old, so an unwatched queue costs nothing.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="depth_samples")
    at_ms = models.BigIntegerField()
    visible = models.PositiveIntegerField()
    in_flight = models.PositiveIntegerField()
    delayed = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["queue", "at_ms"], name="sqs_depth_recent")]

    def __str__(self) -> str:
        return f"{self.queue_id}@{self.at_ms}"
