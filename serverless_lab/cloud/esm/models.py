"""Event source mappings: which queue or stream feeds which function, where each poller stands, and
the batches it handed to the function.

One poll at a time takes the mapping's row lock. A FIFO queue's or a stream's mapping has at most
one batch in flight (``Batch.finished_at`` null), which keeps their order; a standard queue's may
have several (``pollers.concurrency``). The receive hides what a batch holds, so no message is
delivered twice within its visibility timeout.
"""

from __future__ import annotations

import uuid

from django.db import models

from serverless_lab.cloud.lambda_.models import Function, Invocation
from serverless_lab.sandboxes.models import Sandbox


class EventSourceMapping(models.Model):
    class Kind(models.TextChoices):
        SQS = "sqs"
        DYNAMODB = "dynamodb"

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="event_source_mappings")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="event_source_mappings")
    qualifier = models.CharField(max_length=128, blank=True, default="")  # "" = unqualified ($LATEST)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    event_source_arn = models.CharField(max_length=1024)
    source_id = models.BigIntegerField()  # the sqs.Queue or dynamodb.Table pk when the mapping was created
    enabled = models.BooleanField(default=True)
    batch_size = models.PositiveIntegerField()
    batching_window_s = models.PositiveIntegerField(default=0)
    starting_position = models.CharField(max_length=16, blank=True, default="")
    maximum_retry_attempts = models.IntegerField(default=-1)
    maximum_record_age_s = models.IntegerField(default=-1)
    bisect_on_error = models.BooleanField(default=False)
    parallelization_factor = models.PositiveSmallIntegerField(default=1)
    function_response_types = models.JSONField(default=list, blank=True)
    scaling_config = models.JSONField(default=dict, blank=True)
    last_modified = models.DateTimeField()
    last_processing_result = models.CharField(max_length=256, default="No records processed")
    # DynamoDB streams: the last record id processed, the failed attempts of the batch at the
    # checkpoint, (bisecting) how many records the next attempt takes, and when it may start.
    checkpoint = models.BigIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    bisect_limit = models.PositiveIntegerField(null=True, blank=True)
    retry_at_ms = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["kind", "source_id"], name="esm_by_source")]
        constraints = [
            models.UniqueConstraint(fields=["function", "qualifier", "event_source_arn"], name="esm_one_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.event_source_arn} -> {self.function_id}"


class Batch(models.Model):
    """One invocation a mapping made, and what it carried (for SQS the receipt handles to delete)."""

    class Outcome(models.TextChoices):
        OK = "ok"
        PARTIAL = "partial"  # ReportBatchItemFailures named some records
        FAILED = "failed"

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="event_source_batches")
    mapping = models.ForeignKey(EventSourceMapping, on_delete=models.CASCADE, related_name="batches")
    invocation = models.ForeignKey(Invocation, on_delete=models.SET_NULL, null=True, related_name="esm_batches")
    request_id = models.CharField(max_length=36, unique=True)
    items = models.JSONField(default=list)  # SQS: [[message id, receipt handle]]; streams: [sequence numbers]
    first_record = models.BigIntegerField(null=True)  # streams: the record ids the batch spans
    last_record = models.BigIntegerField(null=True)
    trace_header = models.CharField(max_length=256, blank=True, default="")
    started_at = models.DateTimeField()
    deadline_ms = models.BigIntegerField()  # past it, a batch still in flight counts as failed
    finished_at = models.DateTimeField(null=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    error = models.CharField(max_length=256, blank=True, default="")

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["mapping", "finished_at"], name="esm_batch_in_flight")]

    def __str__(self) -> str:
        return f"{self.mapping_id}: {self.request_id}"
