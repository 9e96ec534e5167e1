"""The DynamoDB console in headless Chromium against the live lab: create a table, add items in the
explorer (plain and DynamoDB JSON), run a query, PartiQL, and the latency chart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def shot(page: Any, tmp_path: Path, name: str) -> None:
    """Full-page screenshots of each step (kept in pytest's tmp dir, for looking at by hand)."""
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_create_a_table_add_items_and_query_them(live_lab, page, cast, tmp_path):
    page.goto(f"{live_lab.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/")
    page.get_by_role("link", name="DynamoDB tables").click()
    expect(page.get_by_text("No tables yet")).to_be_visible()
    shot(page, tmp_path, "01-empty-list")

    page.get_by_label("Table name").fill("x")
    page.locator("#id_hash_key").fill("customer")
    page.get_by_role("button", name="Create table").click()
    expect(page.locator("#id_name_error")).to_contain_text("failed to satisfy constraint")
    shot(page, tmp_path, "02-create-error")

    page.get_by_label("Table name").fill("orders")
    page.locator("#id_range_key").fill("placed")
    page.locator("#id_range_type").select_option("N")
    page.locator("#id_stream_view_type").select_option("NEW_AND_OLD_IMAGES")
    index = page.get_by_role("group", name="Index 1")
    index.get_by_label("Index name").fill("by-status")
    index.get_by_label("Partition key", exact=True).fill("status")
    shot(page, tmp_path, "03-create-form")
    page.get_by_role("button", name="Create table").click()
    expect(page.get_by_role("heading", name="orders", level=1)).to_be_visible()
    expect(page.get_by_text("This table is empty")).to_be_visible()
    shot(page, tmp_path, "04-empty-table")

    # An item in plain JSON, with a decimal that floats would round.
    page.get_by_role("link", name="Create item").first.click()
    editor = page.get_by_label("Item (plain JSON)")
    editor.fill('{"customer": "ada", "placed": 1, "total": 0.1, "status": "OPEN"}')
    shot(page, tmp_path, "05-item-editor")
    page.get_by_role("button", name="Create item").click()
    expect(page.get_by_text("Item saved.")).to_be_visible()

    # A bad item is an error in the form, not a crash.
    page.get_by_role("link", name="Create item").first.click()
    page.get_by_label("Item (plain JSON)").fill('{"customer": "ada"}')
    page.get_by_role("button", name="Create item").click()
    expect(page.locator(".field-error")).to_contain_text("Missing the key placed")
    shot(page, tmp_path, "06-item-error")

    # The format toggle converts the text to DynamoDB JSON; a set needs it.
    page.get_by_label("Item (plain JSON)").fill('{"customer": "ada", "placed": 2, "status": "SHIPPED"}')
    page.get_by_label("DynamoDB JSON").check()
    converted = page.get_by_label("Item (DynamoDB JSON)")
    expect(converted).to_have_value('{\n  "customer": {\n    "S": "ada"\n  },\n  "placed": {\n    "N": "2"\n  },\n  "status": {\n    "S": "SHIPPED"\n  }\n}')
    converted.fill('{"customer": {"S": "ada"}, "placed": {"N": "2"}, "status": {"S": "SHIPPED"}, "tags": {"SS": ["gift"]}}')
    page.get_by_role("button", name="Create item").click()
    expect(page.get_by_text("Item saved.")).to_be_visible()

    # Items written by boto3 are the same rows.
    ddb = live_lab.client("dynamodb", cast.sandbox)
    ddb.put_item(TableName="orders", Item={"customer": {"S": "ada"}, "placed": {"N": "3"}, "status": {"S": "OPEN"}})
    ddb.put_item(TableName="orders", Item={"customer": {"S": "bo"}, "placed": {"N": "1"}})
    assert ddb.get_item(TableName="orders", Key={"customer": {"S": "ada"}, "placed": {"N": "1"}})["Item"]["total"] == {
        "N": "0.1"
    }
    page.reload()
    rows = page.locator("#explorer table tbody tr")
    expect(rows).to_have_count(4)
    shot(page, tmp_path, "07-scan")

    # The query builder: partition ada, sort key >= 2, newest first.
    page.get_by_role("radio", name="Query").check()
    page.get_by_label("Partition key value").fill("ada")
    page.get_by_label("Sort key condition").select_option(">=")
    page.get_by_label("Sort key value").fill("2")
    page.get_by_label("Descending sort key order (ScanIndexForward = false)").check()
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("2 items returned")).to_be_visible()
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("3")
    expect(rows.nth(1).locator("td").nth(0)).to_have_text("2")
    shot(page, tmp_path, "08-query")

    # A query on the index, and a bad filter shown in the form.
    page.get_by_label("Table or index").select_option("by-status")
    page.get_by_label("Partition key value").fill("OPEN")
    page.get_by_label("Sort key condition").select_option("")
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"index=by-status"))
    expect(page.get_by_text("2 items returned")).to_be_visible()
    page.get_by_text("Filter", exact=True).click()
    page.get_by_label("Filter expression").fill("total >")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#id_filter_error")).to_contain_text("Invalid FilterExpression")
    shot(page, tmp_path, "09-filter-error")

    # Edit an item from the table.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/dynamodb/tables/orders/?mode=query&pk=bo")
    page.locator("#explorer").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit item")).to_be_visible()
    page.get_by_label("Item (plain JSON)").fill('{"customer": "bo", "placed": 1, "total": 12.50}')
    page.get_by_role("button", name="Save item").click()
    expect(page.get_by_text("Item saved.")).to_be_visible()
    assert ddb.get_item(TableName="orders", Key={"customer": {"S": "bo"}, "placed": {"N": "1"}})["Item"]["total"] == {
        "N": "12.5"
    }

    # PartiQL.
    page.get_by_role("link", name="PartiQL").click()
    page.get_by_label("PartiQL statement").fill("SELECT * FROM orders WHERE customer = 'ada' AND placed < 3")
    page.get_by_role("button", name="Run statement").click()
    expect(page.locator("#partiql-panel table tbody tr")).to_have_count(2)
    shot(page, tmp_path, "10-partiql")

    page.get_by_role("link", name="Indexes & stream").click()
    expect(page.get_by_role("rowheader", name="by-status")).to_be_visible()
    expect(page.locator("#stream-arn")).to_contain_text(":table/orders/stream/")
    expect(page.locator("tbody").last.get_by_text("MODIFY")).to_be_visible()
    shot(page, tmp_path, "11-indexes-stream")

    page.get_by_role("link", name="Latency").click()
    expect(page.locator("#latency-chart .main-svg").first).to_be_attached()
    expect(page.get_by_role("rowheader", name="Query").first).to_be_visible()
    shot(page, tmp_path, "12-latency")

    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/dynamodb/")
    expect(page.locator("tbody tr")).to_have_count(1)
    shot(page, tmp_path, "13-list")

    # Delete an item, then the table, each after a confirmation.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/dynamodb/tables/orders/?mode=query&pk=bo")
    page.locator("#explorer").get_by_role("link", name="Edit").click()
    page.get_by_role("link", name="Delete item…").click()
    expect(page.get_by_role("heading", name="Delete this item?")).to_be_visible()
    shot(page, tmp_path, "14-item-delete")
    page.get_by_role("button", name="Delete item").click()
    expect(page.get_by_text("Item deleted.")).to_be_visible()
    assert "Item" not in ddb.get_item(TableName="orders", Key={"customer": {"S": "bo"}, "placed": {"N": "1"}})
    page.get_by_role("link", name="Delete table…").click()
    shot(page, tmp_path, "15-table-delete")
    page.get_by_role("button", name="Delete table").click()
    expect(page.get_by_text("No tables yet")).to_be_visible()
    assert ddb.list_tables()["TableNames"] == []
