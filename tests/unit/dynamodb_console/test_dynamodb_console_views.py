"""The DynamoDB console's views through the Django test client: ownership, forms, the two JSON
dialects, the query builder and PartiQL, with errors in the page and never a 500."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from serverless_lab.cloud.dynamodb import backend, selectors
from serverless_lab.cloud.dynamodb.models import Item, Table
from serverless_lab.tracing.models import Hop

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client: Any, cast: Any) -> Any:
    client.force_login(cast.alice)
    return client


def url(name: str, cast: Any, *args: str, **query: str) -> str:
    path = reverse(name, args=[cast.sandbox.pk, *args])
    return f"{path}?{urlencode(query)}" if query else path


@pytest.fixture
def orders(cast: Any) -> Table:
    table = backend.create_table(
        sandbox=cast.sandbox,
        name="orders",
        key_schema=[{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "placed", "KeyType": "RANGE"}],
        attribute_definitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "placed", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        global_indexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        billing_mode="PAY_PER_REQUEST",
        stream_specification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for placed, total, status in ((1, "9.90", "OPEN"), (2, "120", "SHIPPED"), (3, "0.1", "OPEN")):
        backend.put_item(
            sandbox=cast.sandbox,
            table_name="orders",
            item={"customer": {"S": "ada"}, "placed": {"N": str(placed)}, "total": {"N": total}, "status": {"S": status}},
        )
    return table


def stored(cast: Any, customer: str, placed: int) -> dict[str, Any] | None:
    key = {"customer": {"S": customer}, "placed": {"N": str(placed)}}
    return backend.get_item(sandbox=cast.sandbox, table_name="orders", key=key).item


# --- access ---------------------------------------------------------------------------------


def test_pages_need_a_login(client, cast):
    response = client.get(url("dynamodb:tables", cast))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "name,method,args",
    [
        ("dynamodb:tables", "get", ()),
        ("dynamodb:tables", "post", ()),
        ("dynamodb:table", "get", ("orders",)),
        ("dynamodb:table-delete", "post", ("orders",)),
        ("dynamodb:item", "get", ("orders",)),
        ("dynamodb:item", "post", ("orders",)),
        ("dynamodb:partiql", "post", ("orders",)),
        ("dynamodb:indexes", "get", ("orders",)),
        ("dynamodb:stream", "post", ("orders",)),
        ("dynamodb:latency", "get", ("orders",)),
    ],
)
def test_charlie_gets_a_404_for_alices_console(client, cast, orders, name, method, args):
    client.force_login(cast.charlie)
    response = getattr(client, method)(url(name, cast, *args), {"statement": "DELETE FROM orders", "name": "x"})
    assert response.status_code == 404
    assert Table.objects.filter(name="orders").exists() and Item.objects.count() == 3


def test_an_unknown_table_is_a_404(alice, cast):
    assert alice.get(url("dynamodb:table", cast, "nope")).status_code == 404


# --- tables ---------------------------------------------------------------------------------


def test_the_empty_list_invites_a_first_table(alice, cast):
    response = alice.get(url("dynamodb:tables", cast))
    assert response.status_code == 200
    assert b"No tables yet" in response.content


def test_the_list_shows_keys_counts_billing_and_stream(alice, cast, orders):
    page = alice.get(url("dynamodb:tables", cast)).content.decode()
    assert "orders" in page and "NEW_AND_OLD_IMAGES" in page and "On-demand" in page
    assert selectors.table_rows(sandbox=cast.sandbox)[0].item_count == 3


def create_form(**fields: str) -> dict[str, str]:
    return {
        "name": "games",
        "hash_key": "player",
        "hash_type": "S",
        "range_key": "score",
        "range_type": "N",
        "billing_mode": "PAY_PER_REQUEST",
        "stream_view_type": "",
        "gsi-TOTAL_FORMS": "2",
        "gsi-INITIAL_FORMS": "0",
        "gsi-MIN_NUM_FORMS": "0",
        "gsi-MAX_NUM_FORMS": "5",
        "gsi-0-hash_type": "S",
        "gsi-0-range_type": "N",
        "gsi-0-projection": "ALL",
        "gsi-1-hash_type": "S",
        "gsi-1-range_type": "S",
        "gsi-1-projection": "ALL",
        **fields,
    }


def test_it_creates_a_table_with_a_gsi_and_a_stream(alice, cast):
    response = alice.post(
        url("dynamodb:tables", cast),
        create_form(
            **{
                "stream_view_type": "NEW_IMAGE",
                "billing_mode": "PROVISIONED",
                "read_capacity": "3",
                "write_capacity": "4",
                "gsi-0-index_name": "by-game",
                "gsi-0-hash_key": "game",
                "gsi-0-range_key": "score",
                "gsi-0-projection": "INCLUDE",
                "gsi-0-non_key_attributes": "level, badge",
            }
        ),
    )
    assert response.status_code == 302 and response["Location"] == url("dynamodb:table", cast, "games")
    table = Table.objects.get(name="games")
    assert table.billing_mode == "PROVISIONED" and table.provisioned_throughput["WriteCapacityUnits"] == 4
    assert table.stream_specification == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    (gsi,) = table.global_indexes
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["level", "badge"]}
    assert {d["AttributeName"]: d["AttributeType"] for d in table.attribute_definitions} == {
        "player": "S",
        "score": "N",
        "game": "S",
    }


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"name": "x"}, "failed to satisfy constraint"),
        ({"hash_key": ""}, "This field is required"),
        ({"range_key": "player"}, "must differ from the partition key"),
        ({"gsi-0-index_name": "by-x"}, "An index needs a partition key"),
        ({"gsi-0-hash_key": "x"}, "Name the index"),
        ({"gsi-0-index_name": "by-x", "gsi-0-hash_key": "score", "gsi-0-hash_type": "S"}, "already a N key"),
        ({"gsi-0-index_name": "by-x", "gsi-0-hash_key": "a", "gsi-0-projection": "INCLUDE"}, "INCLUDE needs"),
    ],
)
def test_bad_tables_are_form_errors(alice, cast, fields, message):
    response = alice.post(url("dynamodb:tables", cast), create_form(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Table.objects.exists()


def test_a_taken_name_is_an_error_on_the_name(alice, cast, orders):
    response = alice.post(url("dynamodb:tables", cast), create_form(name="orders"))
    assert response.status_code == 400
    assert "ResourceInUseException: Table already exists: orders" in response.content.decode()


def test_delete_asks_then_deletes(alice, cast, orders):
    assert b"cannot be undone" in alice.get(url("dynamodb:table-delete", cast, "orders")).content
    response = alice.post(url("dynamodb:table-delete", cast, "orders"))
    assert response.status_code == 302 and not Table.objects.exists() and not Item.objects.exists()


# --- the explorer ---------------------------------------------------------------------------


def test_scan_shows_key_columns_first_and_every_attribute(alice, cast, orders):
    response = alice.get(url("dynamodb:table", cast, "orders"))
    assert response.status_code == 200
    grid = response.context["grid"]
    assert grid.columns[:2] == ["customer", "placed"] and set(grid.columns) == {"customer", "placed", "total", "status"}
    assert len(grid.rows) == 3
    assert [c.text for c in grid.rows[0].cells][:2] == ["ada", "1"]


def test_scan_pages_with_last_evaluated_key(alice, cast, orders):
    first = alice.get(url("dynamodb:table", cast, "orders", mode="scan", limit="2"))
    assert len(first.context["grid"].rows) == 2 and first.context["next_query"]
    second = alice.get(url("dynamodb:table", cast, "orders") + "?" + first.context["next_query"])
    assert [r.cells[1].text for r in second.context["grid"].rows] == ["3"]
    assert not second.context["next_query"] and second.context["first_query"]


@pytest.mark.parametrize(
    "query,placed",
    [
        ({}, ["1", "2", "3"]),
        ({"sk_op": ">=", "sk": "2"}, ["2", "3"]),
        ({"sk_op": "BETWEEN", "sk": "1", "sk2": "2"}, ["1", "2"]),
        ({"sk_op": "=", "sk": "3"}, ["3"]),
        ({"descending": "on"}, ["3", "2", "1"]),
        ({"filter": "#s = :open", "names": '{"#s": "status"}', "values": '{":open": "OPEN"}'}, ["1", "3"]),
        ({"filter": "#t > :min", "names": '{"#t": "total"}', "values": '{":min": 9.5}'}, ["1", "2"]),
    ],
)
def test_the_query_builder(alice, cast, orders, query, placed):
    response = alice.get(url("dynamodb:table", cast, "orders", mode="query", pk="ada", **query))
    assert response.status_code == 200, response.context["form"].errors
    assert [row.cells[1].text for row in response.context["grid"].rows] == placed


def test_a_query_on_an_index(alice, cast, orders):
    response = alice.get(url("dynamodb:table", cast, "orders", mode="query", index="by-status", pk="OPEN"))
    grid = response.context["grid"]
    assert sorted(row.cells[1].text for row in grid.rows) == ["1", "3"]
    assert "total" not in grid.columns  # KEYS_ONLY


@pytest.mark.parametrize(
    "query,where,message",
    [
        ({"mode": "query", "filter": "amount >"}, "filter", "ValidationException: Invalid FilterExpression"),
        ({"mode": "query", "filter": "amount > :nope"}, "filter", "ValidationException"),
        ({"mode": "query", "filter": "size = :s", "values": '{":s": 1}'}, "filter", "reserved keyword"),
        ({"mode": "query", "values": '{":x": 1'}, None, "not valid JSON"),
        ({"mode": "query", "sk_op": ">", "sk": "abc"}, None, "ValidationException"),
        ({"mode": "query", "pk": ""}, "pk", "needs the partition key"),
        ({"mode": "scan", "filter": "attribute_exists("}, "filter", "ValidationException"),
    ],
)
def test_bad_expressions_are_form_errors(alice, cast, orders, query, where, message):
    response = alice.get(url("dynamodb:table", cast, "orders", **({"pk": "ada"} | query)))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(where or "__all__", [])), errors
    assert message.split(":")[0] in response.content.decode()


def test_htmx_gets_only_the_explorer(alice, cast, orders):
    response = alice.get(url("dynamodb:table", cast, "orders"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="explorer")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="explorer"') and "<html" not in page


def test_console_reads_are_hops_from_the_browser(alice, cast, orders):
    alice.get(url("dynamodb:table", cast, "orders", mode="query", pk="ada"))
    hop = Hop.objects.get(action="dynamodb:Query")
    assert hop.from_node == "browser" and hop.to_node.endswith(":table/orders") and hop.duration_ms > 0


# --- items ----------------------------------------------------------------------------------


def test_plain_json_creates_an_item_with_exact_decimals(alice, cast, orders):
    text = '{"customer": "grace", "placed": 7, "total": 0.30000000000000000000000000000000000001, "ok": true, ' \
           '"note": null, "lines": [{"sku": "a", "qty": 2}]}'
    response = alice.post(url("dynamodb:item", cast, "orders"), {"dialect": "plain", "shown": "plain", "text": text})
    assert response.status_code == 302
    assert stored(cast, "grace", 7) == {
        "customer": {"S": "grace"},
        "placed": {"N": "7"},
        "total": {"N": "0.30000000000000000000000000000000000001"},
        "ok": {"BOOL": True},
        "note": {"NULL": True},
        "lines": {"L": [{"M": {"sku": {"S": "a"}, "qty": {"N": "2"}}}]},
    }


def test_dynamodb_json_creates_an_item_with_sets_and_binaries(alice, cast, orders):
    text = json.dumps(
        {"customer": {"S": "linus"}, "placed": {"N": "1"}, "tags": {"SS": ["a", "b"]}, "blob": {"B": "aGk="}}
    )
    response = alice.post(url("dynamodb:item", cast, "orders"), {"dialect": "dynamodb", "shown": "dynamodb", "text": text})
    assert response.status_code == 302
    item = stored(cast, "linus", 1)
    assert item["tags"] == {"SS": ["a", "b"]} and item["blob"] == {"B": b"hi"}


@pytest.mark.parametrize(
    "shown,text,message",
    [
        ("plain", "{not json", "not valid JSON"),
        ("plain", "[1, 2]", "An item is a JSON object"),
        ("plain", '{"customer": "x"}', "Missing the key placed"),
        ("plain", '{"customer": "x", "placed": "one"}', "Type mismatch"),
        ("plain", '{"customer": "x", "placed": 1e200}', "ValidationException"),
        ("dynamodb", '{"customer": "x", "placed": {"N": "1"}}', "every value names its type"),
        ("dynamodb", '{"customer": {"S": "x"}, "placed": {"N": "1"}, "b": {"B": "***"}}', "base64"),
        ("dynamodb", '{"customer": {"S": "x"}, "placed": {"N": "1"}, "s": {"SS": []}}', "may not be empty"),
        ("plain", '{"customer": "ada", "placed": 1}', "already exists"),
        ("plain", '{"customer": "x", "placed": 1, "deep": ' + "[" * 50 + "]" * 50 + "}", "Nesting Levels"),
        ("plain", '{"customer": "x", "placed": 1, "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", "Nesting Levels"),
        ("dynamodb", '{"customer": {"S": "x"}, "placed": {"N": "1"}, "d": ' + '{"L": [' * 40 + "]}" * 40 + "}",
         "Nesting Levels"),
    ],
)
def test_bad_items_are_form_errors(alice, cast, orders, shown, text, message):
    response = alice.post(url("dynamodb:item", cast, "orders"), {"dialect": shown, "shown": shown, "text": text})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["text"]), response.context["form"].errors
    assert Item.objects.count() == 3


def test_editing_opens_the_stored_item_and_saves_it(alice, cast, orders):
    token = selectors.key_token({"customer": {"S": "ada"}, "placed": {"N": "1"}})
    page = alice.get(url("dynamodb:item", cast, "orders", key=token))
    assert '"total": 9.9,' in page.context["form"].initial["text"]  # DynamoDB stores numbers canonically
    text = '{"customer": "ada", "placed": 1, "total": 10.5}'
    response = alice.post(url("dynamodb:item", cast, "orders", key=token), {"dialect": "plain", "shown": "plain", "text": text})
    assert response.status_code == 302
    assert stored(cast, "ada", 1) == {"customer": {"S": "ada"}, "placed": {"N": "1"}, "total": {"N": "10.5"}}


def test_changing_the_key_moves_the_item(alice, cast, orders):
    token = selectors.key_token({"customer": {"S": "ada"}, "placed": {"N": "1"}})
    text = '{"customer": "ada", "placed": 10, "total": 9.90}'
    response = alice.post(url("dynamodb:item", cast, "orders", key=token), {"dialect": "plain", "shown": "plain", "text": text})
    assert response.status_code == 302
    assert stored(cast, "ada", 1) is None and stored(cast, "ada", 10)["total"] == {"N": "9.9"}


def test_the_format_toggle_converts_the_text(alice, cast, orders):
    response = alice.post(
        url("dynamodb:item", cast, "orders"),
        {"dialect": "dynamodb", "shown": "plain", "convert": "1", "text": '{"customer": "x", "placed": 1.50}'},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="item-editor",
    )
    page = response.content.decode()
    assert response.status_code == 200 and page.lstrip().startswith('<form id="item-editor"')
    assert '<input type="hidden" name="shown" value="dynamodb">' in page
    text = page.split("</textarea>")[0].split(">")[-1]
    assert json.loads(html.unescape(text)) == {"customer": {"S": "x"}, "placed": {"N": "1.50"}}


def test_an_item_with_a_set_opens_in_dynamodb_json(alice, cast, orders):
    backend.put_item(
        sandbox=cast.sandbox,
        table_name="orders",
        item={"customer": {"S": "s"}, "placed": {"N": "1"}, "tags": {"NS": ["1", "2"]}},
    )
    token = selectors.key_token({"customer": {"S": "s"}, "placed": {"N": "1"}})
    response = alice.get(url("dynamodb:item", cast, "orders", key=token))
    assert response.context["shown"] == "dynamodb" and '"NS"' in response.context["form"].initial["text"]


def test_a_made_up_key_is_a_404(alice, cast, orders):
    assert alice.get(url("dynamodb:item", cast, "orders", key="garbage!")).status_code == 404
    token = selectors.key_token({"customer": {"S": "nobody"}, "placed": {"N": "1"}})
    assert alice.get(url("dynamodb:item", cast, "orders", key=token)).status_code == 404
    token = selectors.key_token({"wrong": {"S": "x"}})
    assert alice.get(url("dynamodb:item", cast, "orders", key=token)).status_code == 404


def test_delete_an_item(alice, cast, orders):
    token = selectors.key_token({"customer": {"S": "ada"}, "placed": {"N": "2"}})
    assert b"Delete this item?" in alice.get(url("dynamodb:item-delete", cast, "orders", key=token)).content
    assert alice.post(url("dynamodb:item-delete", cast, "orders", key=token)).status_code == 302
    assert stored(cast, "ada", 2) is None and Item.objects.count() == 2


# --- PartiQL, indexes, stream, latency ---------------------------------------------------------


def test_partiql_select_shows_results(alice, cast, orders):
    response = alice.post(
        url("dynamodb:partiql", cast, "orders"), {"statement": "SELECT * FROM orders WHERE customer = 'ada' AND placed > 1"}
    )
    assert response.status_code == 200
    assert [row.cells[1].text for row in response.context["grid"].rows] == ["2", "3"]


def test_partiql_insert_writes_through_the_backend(alice, cast, orders):
    response = alice.post(
        url("dynamodb:partiql", cast, "orders"), {"statement": "INSERT INTO orders VALUE {'customer': 'bo', 'placed': 4}"}
    )
    assert response.status_code == 200 and b"return no items" in response.content
    assert stored(cast, "bo", 4) == {"customer": {"S": "bo"}, "placed": {"N": "4"}}


@pytest.mark.parametrize(
    "statement,message",
    [
        ("SELEC * FROM orders", "ValidationException"),
        ("SELECT * FROM nope", "ResourceNotFoundException"),
        ("INSERT INTO orders VALUE {'customer': 'ada', 'placed': 1}", "DuplicateItemException"),
        ("UPDATE orders SET total = 1 WHERE customer = 'zed' AND placed = 1", "ConditionalCheckFailedException"),
    ],
)
def test_partiql_errors_are_form_errors(alice, cast, orders, statement, message):
    response = alice.post(url("dynamodb:partiql", cast, "orders"), {"statement": statement})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["statement"])


def test_indexes_and_stream_panels(alice, cast, orders):
    response = alice.get(url("dynamodb:indexes", cast, "orders"))
    page = response.content.decode()
    assert "by-status" in page and "KEYS_ONLY" in page
    stream = response.context["stream"]
    assert stream.enabled and stream.arn.startswith("arn:aws:dynamodb:") and "/stream/" in stream.arn
    assert [r.event_name for r in stream.records] == ["INSERT"] * 3
    assert stream.records[0].keys == '{"customer": "ada", "placed": 3}'


def test_the_stream_can_be_disabled_and_enabled(alice, cast, orders):
    alice.post(url("dynamodb:stream", cast, "orders"), {"view_type": ""})
    assert not backend.stream_enabled(Table.objects.get())
    alice.post(url("dynamodb:stream", cast, "orders"), {"view_type": "KEYS_ONLY"})
    assert Table.objects.get().stream_specification == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    response = alice.post(url("dynamodb:stream", cast, "orders"), {"view_type": "EVERYTHING"}, follow=True)
    assert b"Choose one of the stream view types." in response.content
    assert Table.objects.get().stream_specification == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    response = alice.post(url("dynamodb:stream", cast, "orders"), {"view_type": "NEW_IMAGE"}, follow=True)
    assert b"Table already has an enabled stream" in response.content


def test_latency_groups_hops_by_operation_and_caller(alice, cast, orders):
    arn = backend.table_arn(orders)
    from serverless_lab.tracing.services import hop_record

    for duration in (1.0, 2.0, 3.0, 40.0):
        hop_record(sandbox_id=cast.sandbox.pk, trace=None, from_node="client", to_node=arn,
                   action="dynamodb:GetItem", duration_ms=duration)
    alice.get(url("dynamodb:table", cast, "orders"))
    hop_record(sandbox_id=cast.sandbox.pk, trace=None, from_node="browser", to_node=arn,
               action="dynamodb:CreateTable", duration_ms=50.0)
    response = alice.get(url("dynamodb:latency", cast, "orders"))
    rows = {(r.action, r.source): r for r in response.context["rows"]}
    get = rows[("GetItem", "SDK")]
    assert (get.count, get.p50, get.p99, get.max) == (4, 2.0, 40.0, 40.0)
    assert rows[("Scan", "Console")].count == 1
    assert not any(action == "CreateTable" for action, _ in rows)
    assert response.context["figure"]["data"][0]["x"][0].startswith("GetItem")
    assert b'id="latency-figure"' in response.content


def test_latency_has_an_empty_state(alice, cast, orders):
    assert b"No operations on this table yet" in alice.get(url("dynamodb:latency", cast, "orders")).content


def test_partiql_pages_with_next_token(alice, cast, orders):
    for placed in range(10, 70):
        backend.put_item(
            sandbox=cast.sandbox, table_name="orders", item={"customer": {"S": "zoe"}, "placed": {"N": str(placed)}}
        )
    statement = "SELECT * FROM orders WHERE customer = 'zoe'"
    first = alice.post(url("dynamodb:partiql", cast, "orders"), {"statement": statement})
    assert len(first.context["grid"].rows) == 50 and first.context["next_token"]
    second = alice.post(
        url("dynamodb:partiql", cast, "orders"), {"statement": statement, "next_token": first.context["next_token"]}
    )
    assert [row.cells[1].text for row in second.context["grid"].rows] == [str(n) for n in range(60, 70)]
    assert not second.context["next_token"]
