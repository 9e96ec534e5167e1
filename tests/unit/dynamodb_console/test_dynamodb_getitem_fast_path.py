"""GetItem's one-query path (the cached key schema) never answers for a table that is gone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from serverless_lab.cloud.dynamodb import backend
from serverless_lab.cloud.dynamodb.exceptions import DynamoValidationError, ResourceNotFoundException

pytestmark = pytest.mark.django_db


def make(sandbox, key_type: str) -> None:
    backend.create_table(
        sandbox=sandbox,
        name="things",
        key_schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        attribute_definitions=[{"AttributeName": "id", "AttributeType": key_type}],
        billing_mode="PAY_PER_REQUEST",
    )


def get(sandbox, key: dict) -> dict | None:
    return backend.get_item(sandbox=sandbox, table_name="things", key=key).item


def test_a_hit_is_one_query(cast):
    make(cast.sandbox, "S")
    backend.put_item(sandbox=cast.sandbox, table_name="things", item={"id": {"S": "a"}, "n": {"N": "1"}})
    get(cast.sandbox, {"id": {"S": "a"}})
    with CaptureQueriesContext(connection) as queries:
        assert get(cast.sandbox, {"id": {"S": "a"}}) == {"id": {"S": "a"}, "n": {"N": "1"}}
    assert len(queries) == 1


def test_a_recreated_table_is_not_answered_from_the_old_one(cast):
    make(cast.sandbox, "S")
    backend.put_item(sandbox=cast.sandbox, table_name="things", item={"id": {"S": "a"}})
    assert get(cast.sandbox, {"id": {"S": "a"}}) is not None
    backend.delete_table(sandbox=cast.sandbox, name="things")
    with pytest.raises(ResourceNotFoundException):
        get(cast.sandbox, {"id": {"S": "a"}})
    make(cast.sandbox, "N")
    with pytest.raises(DynamoValidationError):
        get(cast.sandbox, {"id": {"S": "a"}})
    backend.put_item(sandbox=cast.sandbox, table_name="things", item={"id": {"N": "1"}})
    assert get(cast.sandbox, {"id": {"N": "1"}}) == {"id": {"N": "1"}}


def test_expired_items_stay_hidden_on_the_fast_path(cast):
    make(cast.sandbox, "S")
    backend.put_item(sandbox=cast.sandbox, table_name="things", item={"id": {"S": "a"}, "ttl": {"N": "1"}})
    assert get(cast.sandbox, {"id": {"S": "a"}}) is not None
    backend.update_time_to_live(sandbox=cast.sandbox, name="things", enabled=True, attribute="ttl")
    assert get(cast.sandbox, {"id": {"S": "a"}}) is None
