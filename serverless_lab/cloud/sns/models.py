"""SNS state: topics, subscriptions, FIFO deduplication, and the simulated inboxes.

``InboxMessage`` is where A2P and webhook deliveries land (email, email-json, sms, and http/https
to this lab's own URLs): nothing leaves the lab, and the console can show what arrived.
"""

from __future__ import annotations

import uuid

from django.db import models

from serverless_lab.sandboxes.models import Sandbox


class Topic(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="sns_topics")
    name = models.CharField(max_length=256)
    fifo = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict)  # settable attributes as SNS strings
    tags = models.JSONField(default=dict, blank=True)
    next_sequence = models.BigIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["sandbox", "name"], name="sns_topic_name_unique_per_sandbox")]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="sns_subscriptions")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="subscriptions")
    subscription_id = models.UUIDField(default=uuid.uuid4, unique=True)
    protocol = models.CharField(max_length=16)
    endpoint = models.CharField(max_length=2048)
    attributes = models.JSONField(default=dict, blank=True)  # FilterPolicy, RawMessageDelivery, ...
    confirmed = models.BooleanField(default=False)
    token = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["topic", "protocol", "endpoint"], name="sns_subscription_endpoint")]

    def __str__(self) -> str:
        return f"{self.protocol}:{self.endpoint}"


class Deduplication(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="deduplications")
    dedup_id = models.CharField(max_length=128)
    message_id = models.UUIDField()
    sequence = models.BigIntegerField()
    expires_ms = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "dedup_id"], name="sns_dedup_unique_per_topic")]

    def __str__(self) -> str:
        return self.dedup_id


class FifoOutbox(models.Model):
    """A FIFO topic's publication waiting for delivery; delivered strictly in sequence order."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="outbox")
    sequence = models.BigIntegerField()
    publication = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["topic", "sequence"], name="sns_outbox_order")]

    def __str__(self) -> str:
        return f"{self.topic_id}#{self.sequence}"


class InboxMessage(models.Model):
    """One simulated email, SMS or webhook request that SNS delivered."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="sns_inbox")
    protocol = models.CharField(max_length=16)
    endpoint = models.CharField(max_length=2048)  # address, phone number or URL
    subject = models.CharField(max_length=256, blank=True, default="")
    body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    topic_arn = models.CharField(max_length=512, blank=True, default="")
    subscription_arn = models.CharField(max_length=600, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sandbox", "protocol", "created_at"], name="sns_inbox_recent")]

    def __str__(self) -> str:
        return f"{self.protocol} to {self.endpoint}"
