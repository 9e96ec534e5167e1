"""The S3 console in headless Chromium against the live lab: drag-and-drop uploads, preview, download, share."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from serverless_lab.cloud.s3.models import Object
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DROP_TWO_FILES = """([first, second]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([first.body], first.name, {type: first.type}));
  transfer.items.add(new File([second.body], second.name, {type: second.type}));
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


def test_drop_two_files_see_them_listed_preview_one_and_share_it(live_lab, page, cast):
    page.goto(f"{live_lab.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/")
    page.get_by_role("link", name="S3 buckets").click()
    expect(page.get_by_text("No buckets yet")).to_be_visible()
    page.get_by_label("Bucket name").fill("Bad_Name")
    page.get_by_role("button", name="Create bucket").click()
    expect(page.locator("#id_name_error")).to_contain_text("lowercase letters")
    page.get_by_label("Bucket name").fill("browser-drop")
    page.get_by_role("button", name="Create bucket").click()
    expect(page.get_by_role("heading", name="browser-drop", level=1)).to_be_visible()
    expect(page.get_by_text("This bucket is empty")).to_be_visible()

    expect(page.locator("#dropzone[data-ready]")).to_have_count(1)  # the page's module has run
    report = {"course": "serverless", "lessons": [1, 2, 3]}
    page.evaluate(
        DROP_TWO_FILES,
        [
            {"name": "report.json", "type": "application/json", "body": json.dumps(report)},
            {"name": "notes.txt", "type": "text/plain", "body": "hello from a drop\n" * 2000},
        ],
    )
    rows = page.locator("#upload-list .upload-row")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_have_attribute("data-state", "done")
        expect(row.locator("progress")).to_have_js_property("value", 100)
        expect(row.locator(".upload-status")).to_have_text("Uploaded")
    table = page.locator("#object-table")
    expect(table.get_by_role("link", name="report.json")).to_be_visible()
    expect(table.get_by_role("link", name="notes.txt")).to_be_visible()
    assert Object.objects.get(key="report.json").content_type == "application/json"

    # An object written by boto3 shows up the same.
    live_lab.client("s3", cast.sandbox).put_object(Bucket="browser-drop", Key="from-boto3/hello.txt", Body=b"hi")
    page.reload()
    page.locator("#object-table").get_by_role("link", name="from-boto3/").click()
    expect(page.locator("#object-table").get_by_role("link", name="hello.txt")).to_be_visible()
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="browser-drop").click()

    page.locator("#object-table").get_by_role("link", name="report.json").click()
    expect(page.get_by_role("heading", name="report.json", level=1)).to_be_visible()
    expect(page.locator(".s3-preview-text")).to_contain_text('"course": "serverless"')
    expect(page.locator(".s3-preview-text")).to_contain_text('  "lessons": [\n    1,')

    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "report.json"
    assert json.loads(download.value.path().read_bytes()) == report

    page.get_by_role("button", name="Create presigned link").click()
    link = page.get_by_label("Presigned URL (expires in 1 hour)")
    expect(link).to_be_visible()
    with urllib.request.urlopen(link.input_value(), timeout=10) as response:
        assert json.loads(response.read()) == report
