"""The DynamoDB JSON API: botocore parameters in, botocore output shapes out."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from serverless_lab.cloud.core.protocol import load_service_model, validate_required
from serverless_lab.cloud.core.registry import RequestContext

from . import backend, legacy
from .backend import Capacity, Expressions, Page, TableState

Params = dict[str, Any]
Method = Callable[[Any, RequestContext, Params], dict[str, Any]]


def _checked(method: Method) -> Method:
    """Answer a request that lacks a required member with AWS's ValidationException (the endpoint
    does not check), so no method reads a missing key."""

    @functools.wraps(method)
    def run(self: Any, ctx: RequestContext, params: Params) -> dict[str, Any]:
        validate_required(load_service_model(ctx.service).operation_model(ctx.operation), params)
        return method(self, ctx, params)

    return run


class _RequiredMembers:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if callable(value) and not name.startswith("_"):
                setattr(cls, name, _checked(value))


def _expressions(params: Params) -> Expressions:
    if legacy.check_not_mixed(params):
        params = {**params, **legacy.translate(params)}
    return Expressions(
        names=params.get("ExpressionAttributeNames"),
        values=params.get("ExpressionAttributeValues"),
        condition=params.get("ConditionExpression"),
        projection=params.get("ProjectionExpression"),
        filter=params.get("FilterExpression"),
        key_condition=params.get("KeyConditionExpression"),
        update=params.get("UpdateExpression"),
        attributes_to_get=params.get("AttributesToGet"),
    )


def _capacity(mode: str | None, capacity: Capacity, *, kind: str | None = None) -> dict[str, Any] | None:
    """ConsumedCapacity for ReturnConsumedCapacity TOTAL or INDEXES (None for NONE)."""
    if mode not in ("TOTAL", "INDEXES"):
        return None
    out: dict[str, Any] = {"TableName": capacity.table_name, "CapacityUnits": capacity.total}
    if kind is not None:
        out[kind] = capacity.total
    if mode == "INDEXES":
        out["Table"] = {"CapacityUnits": capacity.table}
        if capacity.global_indexes:
            out["GlobalSecondaryIndexes"] = {n: {"CapacityUnits": u} for n, u in capacity.global_indexes.items()}
        if capacity.local_indexes:
            out["LocalSecondaryIndexes"] = {n: {"CapacityUnits": u} for n, u in capacity.local_indexes.items()}
    return out


def _capacities(mode: str | None, capacities: list[Capacity] | None) -> list[dict[str, Any]] | None:
    if mode not in ("TOTAL", "INDEXES") or capacities is None:
        return None
    return [c for c in (_capacity(mode, capacity) for capacity in capacities) if c is not None]


def _table_description(state: TableState) -> dict[str, Any]:
    table = state.table
    arn = backend.table_arn(table)
    provisioned = table.billing_mode == "PROVISIONED"

    def throughput(value: dict[str, Any] | None) -> dict[str, Any]:
        value = value or {}
        return {
            "ReadCapacityUnits": value.get("ReadCapacityUnits", 0),
            "WriteCapacityUnits": value.get("WriteCapacityUnits", 0),
            "NumberOfDecreasesToday": 0,
        }

    description: dict[str, Any] = {
        "TableName": table.name,
        "TableArn": arn,
        "TableId": str(table.table_id),
        "TableStatus": table.status,
        "CreationDateTime": table.created_at,
        "AttributeDefinitions": table.attribute_definitions,
        "KeySchema": table.key_schema,
        "ProvisionedThroughput": throughput(table.provisioned_throughput if provisioned else None),
        "TableSizeBytes": state.size_bytes,
        "ItemCount": state.item_count,
        "BillingModeSummary": {"BillingMode": table.billing_mode},
        "DeletionProtectionEnabled": table.deletion_protection,
        "TableClassSummary": {"TableClass": "STANDARD"},
    }
    if table.global_indexes:
        description["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index["IndexName"],
                "KeySchema": index["KeySchema"],
                "Projection": index["Projection"],
                "IndexStatus": "ACTIVE",
                "ProvisionedThroughput": throughput(index.get("ProvisionedThroughput")),
                "ItemCount": state.index_counts.get(index["IndexName"], (0, 0))[0],
                "IndexSizeBytes": state.index_counts.get(index["IndexName"], (0, 0))[1],
                "IndexArn": f"{arn}/index/{index['IndexName']}",
            }
            for index in table.global_indexes
        ]
    if table.local_indexes:
        description["LocalSecondaryIndexes"] = [
            {
                "IndexName": index["IndexName"],
                "KeySchema": index["KeySchema"],
                "Projection": index["Projection"],
                "ItemCount": state.index_counts.get(index["IndexName"], (0, 0))[0],
                "IndexSizeBytes": state.index_counts.get(index["IndexName"], (0, 0))[1],
                "IndexArn": f"{arn}/index/{index['IndexName']}",
            }
            for index in table.local_indexes
        ]
    if backend.stream_enabled(table):
        description["StreamSpecification"] = table.stream_specification
    if table.stream_label:
        description["LatestStreamLabel"] = table.stream_label
        description["LatestStreamArn"] = backend.stream_arn(table)
    return description


def _page(params: Params, page: Page) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Count": page.count,
        "ScannedCount": page.scanned,
        "LastEvaluatedKey": page.last_key,
        "ConsumedCapacity": _capacity(params.get("ReturnConsumedCapacity"), page.capacity),
    }
    if params.get("Select") != "COUNT":
        out["Items"] = page.items
    return out


class DynamoDBHandler(_RequiredMembers):
    """DynamoDB: tables, items, queries, batches, transactions, PartiQL, tags and TTL."""

    # --- tables ---------------------------------------------------------------------------

    def create_table(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        table = backend.create_table(
            sandbox=ctx.sandbox,
            name=params["TableName"],
            key_schema=params["KeySchema"],
            attribute_definitions=params["AttributeDefinitions"],
            global_indexes=params.get("GlobalSecondaryIndexes"),
            local_indexes=params.get("LocalSecondaryIndexes"),
            billing_mode=params.get("BillingMode", "PROVISIONED"),
            provisioned_throughput=params.get("ProvisionedThroughput"),
            stream_specification=params.get("StreamSpecification"),
            tags=params.get("Tags"),
            deletion_protection=params.get("DeletionProtectionEnabled", False),
        )
        table.sandbox = ctx.sandbox
        return {"TableDescription": _table_description(TableState(table, 0, 0, {}))}

    def delete_table(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        state = backend.delete_table(sandbox=ctx.sandbox, name=params["TableName"])
        state.table.sandbox = ctx.sandbox
        return {"TableDescription": _table_description(state)}

    def describe_endpoints(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        return {"Endpoints": [{"Address": ctx.request.headers.get("host", "localhost"), "CachePeriodInMinutes": 1440}]}

    def describe_limits(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        return {
            "AccountMaxReadCapacityUnits": 80000,
            "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000,
            "TableMaxWriteCapacityUnits": 40000,
        }

    def describe_table(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        return {"Table": _table_description(backend.describe_table(sandbox=ctx.sandbox, name=params["TableName"]))}

    def describe_time_to_live(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        attribute = backend.describe_time_to_live(sandbox=ctx.sandbox, name=params["TableName"])
        if not attribute:
            return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}}

    def list_tables(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        names, last = backend.list_tables(
            sandbox=ctx.sandbox, exclusive_start=params.get("ExclusiveStartTableName"), limit=params.get("Limit", 100)
        )
        return {"TableNames": names, "LastEvaluatedTableName": last}

    def list_tags_of_resource(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        return {"Tags": backend.list_tags_of_resource(sandbox=ctx.sandbox, arn=params["ResourceArn"])}

    def tag_resource(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        backend.tag_resource(sandbox=ctx.sandbox, arn=params["ResourceArn"], tags=params["Tags"])
        return {}

    def untag_resource(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        backend.untag_resource(sandbox=ctx.sandbox, arn=params["ResourceArn"], keys=params["TagKeys"])
        return {}

    def update_table(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        state = backend.update_table(
            sandbox=ctx.sandbox,
            name=params["TableName"],
            attribute_definitions=params.get("AttributeDefinitions"),
            billing_mode=params.get("BillingMode"),
            provisioned_throughput=params.get("ProvisionedThroughput"),
            index_updates=params.get("GlobalSecondaryIndexUpdates"),
            stream_specification=params.get("StreamSpecification"),
            deletion_protection=params.get("DeletionProtectionEnabled"),
        )
        return {"TableDescription": _table_description(state)}

    def update_time_to_live(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        spec = params["TimeToLiveSpecification"]
        backend.update_time_to_live(
            sandbox=ctx.sandbox, name=params["TableName"], enabled=spec["Enabled"], attribute=spec["AttributeName"]
        )
        return {"TimeToLiveSpecification": spec}

    # --- items ----------------------------------------------------------------------------

    def delete_item(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        result = backend.delete_item(
            sandbox=ctx.sandbox,
            table_name=params["TableName"],
            key=params["Key"],
            expressions=_expressions(params),
            return_values=params.get("ReturnValues", "NONE"),
            return_on_failure=params.get("ReturnValuesOnConditionCheckFailure", "NONE"),
        )
        return {
            "Attributes": result.attributes,
            "ConsumedCapacity": _capacity(params.get("ReturnConsumedCapacity"), result.capacity),
        }

    def get_item(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        result = backend.get_item(
            sandbox=ctx.sandbox,
            table_name=params["TableName"],
            key=params["Key"],
            expressions=_expressions(params),
            consistent=params.get("ConsistentRead", False),
        )
        return {
            "Item": result.item,
            "ConsumedCapacity": _capacity(params.get("ReturnConsumedCapacity"), result.capacity),
        }

    def put_item(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        result = backend.put_item(
            sandbox=ctx.sandbox,
            table_name=params["TableName"],
            item=params["Item"],
            expressions=_expressions(params),
            return_values=params.get("ReturnValues", "NONE"),
            return_on_failure=params.get("ReturnValuesOnConditionCheckFailure", "NONE"),
        )
        return {
            "Attributes": result.attributes,
            "ConsumedCapacity": _capacity(params.get("ReturnConsumedCapacity"), result.capacity),
        }

    def update_item(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        result = backend.update_item(
            sandbox=ctx.sandbox,
            table_name=params["TableName"],
            key=params["Key"],
            expressions=_expressions(params),
            return_values=params.get("ReturnValues", "NONE"),
            return_on_failure=params.get("ReturnValuesOnConditionCheckFailure", "NONE"),
        )
        return {
            "Attributes": result.attributes,
            "ConsumedCapacity": _capacity(params.get("ReturnConsumedCapacity"), result.capacity),
        }

    # --- queries --------------------------------------------------------------------------

    def query(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        page = backend.query(
            sandbox=ctx.sandbox,
            table_name=params["TableName"],
            index_name=params.get("IndexName"),
            expressions=_expressions(params),
            forward=params.get("ScanIndexForward", True),
            limit=params.get("Limit"),
            exclusive_start_key=params.get("ExclusiveStartKey"),
            select=params.get("Select"),
            consistent=params.get("ConsistentRead", False),
        )
        return _page(params, page)

    def scan(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        page = backend.scan(
            sandbox=ctx.sandbox,
            table_name=params["TableName"],
            index_name=params.get("IndexName"),
            expressions=_expressions(params),
            limit=params.get("Limit"),
            exclusive_start_key=params.get("ExclusiveStartKey"),
            select=params.get("Select"),
            segment=params.get("Segment"),
            total_segments=params.get("TotalSegments"),
            consistent=params.get("ConsistentRead", False),
        )
        return _page(params, page)

    # --- batches and transactions ---------------------------------------------------------

    def batch_get_item(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        responses, capacities = backend.batch_get_item(sandbox=ctx.sandbox, request_items=params["RequestItems"])
        return {
            "Responses": responses,
            "UnprocessedKeys": {},
            "ConsumedCapacity": _capacities(params.get("ReturnConsumedCapacity"), capacities),
        }

    def batch_write_item(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        capacities = backend.batch_write_item(sandbox=ctx.sandbox, request_items=params["RequestItems"])
        return {
            "UnprocessedItems": {},
            "ConsumedCapacity": _capacities(params.get("ReturnConsumedCapacity"), capacities),
        }

    def execute_statement(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        items, token, capacity = backend.execute_statement(
            sandbox=ctx.sandbox,
            statement=params["Statement"],
            parameters=params.get("Parameters"),
            limit=params.get("Limit"),
            next_token=params.get("NextToken"),
            consistent=params.get("ConsistentRead", False),
            return_on_failure=params.get("ReturnValuesOnConditionCheckFailure", "NONE"),
        )
        return {
            "Items": items,
            "NextToken": token,
            "ConsumedCapacity": _capacity(params.get("ReturnConsumedCapacity"), capacity),
        }

    def transact_get_items(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        items, capacities = backend.transact_get_items(sandbox=ctx.sandbox, transact_items=params["TransactItems"])
        return {
            "Responses": [{"Item": item} if item is not None else {} for item in items],
            "ConsumedCapacity": _capacities(params.get("ReturnConsumedCapacity"), capacities),
        }

    def transact_write_items(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        capacities = backend.transact_write_items(
            sandbox=ctx.sandbox,
            transact_items=params["TransactItems"],
            client_request_token=params.get("ClientRequestToken"),
        )
        return {"ConsumedCapacity": _capacities(params.get("ReturnConsumedCapacity"), capacities)}


class DynamoDBStreamsHandler(_RequiredMembers):
    """DynamoDB Streams: one shard per stream, records in commit order."""

    def describe_stream(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        state = backend.describe_stream(sandbox=ctx.sandbox, arn=params["StreamArn"])
        table = state.table
        enabled = backend.stream_enabled(table)
        numbers: dict[str, Any] = {}
        if state.first is not None:
            numbers["StartingSequenceNumber"] = backend.sequence_number(state.first)
        if not enabled and state.last is not None:
            numbers["EndingSequenceNumber"] = backend.sequence_number(state.last)
        return {
            "StreamDescription": {
                "StreamArn": backend.stream_arn(table),
                "StreamLabel": table.stream_label,
                "StreamStatus": "ENABLED" if enabled else "DISABLED",
                "StreamViewType": (table.stream_specification or {}).get("StreamViewType"),
                "CreationRequestDateTime": table.created_at,
                "TableName": table.name,
                "KeySchema": table.key_schema,
                "Shards": [{"ShardId": backend.shard_id(table), "SequenceNumberRange": numbers}],
            }
        }

    def get_records(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        page = backend.get_records(
            sandbox=ctx.sandbox, iterator=params["ShardIterator"], limit=params.get("Limit", 1000)
        )
        return {
            "Records": [backend.stream_record(record, page.table) for record in page.records],
            "NextShardIterator": page.next_iterator,
        }

    def get_shard_iterator(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        iterator = backend.get_shard_iterator(
            sandbox=ctx.sandbox,
            arn=params["StreamArn"],
            shard=params["ShardId"],
            iterator_type=params["ShardIteratorType"],
            sequence=params.get("SequenceNumber"),
        )
        return {"ShardIterator": iterator}

    def list_streams(self, ctx: RequestContext, params: Params) -> dict[str, Any]:
        tables, last = backend.list_streams(
            sandbox=ctx.sandbox,
            table_name=params.get("TableName"),
            limit=params.get("Limit", 100),
            exclusive_start=params.get("ExclusiveStartStreamArn"),
        )
        return {
            "Streams": [
                {"StreamArn": backend.stream_arn(t), "TableName": t.name, "StreamLabel": t.stream_label} for t in tables
            ],
            "LastEvaluatedStreamArn": backend.stream_arn(last) if last is not None else None,
        }
