"""Statements prepared once per connection (``cloud/core/prepared.py``), and the two that use it."""
from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from serverless_lab.cloud.core.prepared import PreparedStatement, numbered

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="prepared statements are PostgreSQL's here")


def test_placeholders_are_numbered_in_order():
    assert numbered("SELECT %s, %s FROM t WHERE a = %s") == "SELECT $1, $2 FROM t WHERE a = $3"
    assert numbered("SELECT 1") == "SELECT 1"


def run(statement: PreparedStatement, *params: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        statement.execute(cursor, params)
        row = cursor.fetchone()
    return row, [query["sql"].split()[0] for query in queries.captured_queries]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_statement_is_prepared_once_per_connection_whatever_becomes_of_the_transaction():
    add = PreparedStatement("lab_test_add", ("integer", "integer"), lambda: "SELECT $1 + $2")
    connection.close()
    with pytest.raises(RuntimeError), transaction.atomic():  # prepared in a transaction that rolls back
        assert run(add, 1, 2) == ((3,), ["PREPARE", "EXECUTE"])
        raise RuntimeError("rolled back")
    assert run(add, 20, 22) == ((42,), ["EXECUTE"])
    connection.close()  # a new connection prepares it again
    assert run(add, 2, 2) == ((4,), ["PREPARE", "EXECUTE"])


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_dynamodb_puts_into_a_known_table_run_prepared(cast: Any):
    from serverless_lab.cloud.dynamodb import backend

    backend.create_table(
        sandbox=cast.sandbox, name="prepared", key_schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        attribute_definitions=[{"AttributeName": "pk", "AttributeType": "S"}], billing_mode="PAY_PER_REQUEST",
    )
    for n in range(3):  # the first reads the table, the next prepares the put on this connection
        with CaptureQueriesContext(connection) as queries:
            backend.put_item(sandbox=cast.sandbox, table_name="prepared", item={"pk": {"S": "a"}, "n": {"N": str(n)}})
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["EXECUTE"]
    item = backend.get_item(sandbox=cast.sandbox, table_name="prepared", key={"pk": {"S": "a"}}).item
    assert item == {"pk": {"S": "a"}, "n": {"N": "2"}}
