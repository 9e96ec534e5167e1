"""DynamoDB state: tables, items, secondary-index entries, transaction tokens.

Items are stored with their primary key encoded by ``logic.encode_key_value`` into
order-preserving bytes (``pkey``, ``skey``), so Query is a range scan on the unique
``(table, pkey, skey)`` index and Scan walks ``(table, shard, pkey, skey)`` where ``shard`` is a
hash of the partition key (DynamoDB scans in hash order too, and Segment/TotalSegments
become shard ranges). Every secondary index (GSI or LSI) keeps one ``IndexEntry`` per
indexed item, rewritten in the same transaction as the item.
"""

from __future__ import annotations

import uuid

from django.db import models

from serverless_lab.sandboxes.models import Sandbox


class Table(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="dynamodb_tables")
    name = models.CharField(max_length=255)
    table_id = models.UUIDField(default=uuid.uuid4, editable=False)
    key_schema = models.JSONField()  # botocore KeySchema: [{"AttributeName", "KeyType"}]
    attribute_definitions = models.JSONField()  # [{"AttributeName", "AttributeType"}]
    # Index descriptions as stored: [{"IndexName", "KeySchema", "Projection", "ProvisionedThroughput"?}]
    global_indexes = models.JSONField(default=list, blank=True)
    local_indexes = models.JSONField(default=list, blank=True)
    billing_mode = models.CharField(max_length=32, default="PROVISIONED")
    provisioned_throughput = models.JSONField(default=dict, blank=True)  # {"ReadCapacityUnits", "WriteCapacityUnits"}
    stream_specification = models.JSONField(null=True, blank=True)  # None while no stream is enabled
    stream_label = models.CharField(max_length=32, blank=True, default="")  # the latest stream's, "" if none ever
    ttl_attribute = models.CharField(max_length=255, blank=True, default="")  # "" = TTL disabled
    tags = models.JSONField(default=list, blank=True)  # [{"Key", "Value"}]
    deletion_protection = models.BooleanField(default=False)
    status = models.CharField(max_length=16, default="ACTIVE")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["sandbox", "name"], name="dynamodb_table_name_unique_per_sandbox")
        ]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="items")
    pkey = models.BinaryField()  # encode_key_value(partition key)
    skey = models.BinaryField(default=b"")  # encode_key_value(sort key); b"" for tables without one
    shard = models.BigIntegerField()  # crc32 of pkey: Scan order and segments
    data = models.TextField()  # the item in wire JSON, binary values base64-encoded (see backend.dump_item)
    size = models.PositiveIntegerField()
    expires = models.BigIntegerField(null=True, blank=True)  # the TTL attribute's epoch seconds, when set

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "pkey", "skey"], name="dynamodb_item_key_unique")]
        indexes = [models.Index(fields=["table", "shard", "pkey", "skey"], name="dynamodb_item_scan")]

    def __str__(self) -> str:
        return f"{self.table_id}: {self.data[:80]}"


class IndexEntry(models.Model):
    """An item's place in one secondary index; ``item_pkey``/``item_skey`` break ties between equal index keys."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="index_entries")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="index_entries")
    index_name = models.CharField(max_length=255)
    pkey = models.BinaryField()
    skey = models.BinaryField(default=b"")
    item_pkey = models.BinaryField()
    item_skey = models.BinaryField(default=b"")

    class Meta:
        indexes = [
            models.Index(
                fields=["table", "index_name", "pkey", "skey", "item_pkey", "item_skey"], name="dynamodb_index_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.index_name} -> item {self.item_id}"


class StreamRecord(models.Model):
    """One change in a table's stream; the row id is the record's sequence number."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="stream_records")
    label = models.CharField(max_length=32)  # the stream (a table gets a new one each time it is re-enabled)
    event_name = models.CharField(max_length=8)  # INSERT, MODIFY, REMOVE
    data = models.TextField()  # {"Keys", "NewImage"?, "OldImage"?} as stored items are (backend.dump_item)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["table", "label", "id"], name="dynamodb_stream_position")]

    def __str__(self) -> str:
        return f"{self.event_name} #{self.pk}"


class TransactionToken(models.Model):
    """A TransactWriteItems ClientRequestToken, remembered for ten minutes (idempotency)."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="dynamodb_transaction_tokens")
    token = models.CharField(max_length=36)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "token"], name="dynamodb_token_unique_per_sandbox")]

    def __str__(self) -> str:
        return self.token
