"""The Lambda console in headless Chromium against the live lab (uvicorn + a real Celery worker):
write code in the editor, deploy, run a test event, see the logs and the cold → warm badge,
configure, burst into throttles, delete."""

from __future__ import annotations

import base64
import json
import re

import pytest
from playwright.sync_api import expect

from serverless_lab.cloud.lambda_.models import Function, Invocation
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HANDLER = """import os


def lambda_handler(event, context):
    print("edited in the browser, greeting", event.get("key1"))
    return {"greeting": "hi " + str(event.get("key1")), "mode": os.environ.get("MODE", "unset")}
"""


def _run_test_event(page):
    page.get_by_role("button", name="Test", exact=True).click()
    pane = page.locator("#result-pane")
    expect(pane.locator("[data-start]")).to_be_visible(timeout=90_000)
    return pane


def test_write_deploy_test_see_logs_cold_then_warm_configure_burst_delete(live_lab, page, cast):
    page.goto(f"{live_lab.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/")
    page.get_by_role("link", name="Lambda functions").click()
    expect(page.get_by_text("No functions yet")).to_be_visible()
    page.get_by_label("Function name").fill("browser hello")
    page.get_by_role("button", name="Create function").click()
    expect(page.locator("#id_name_error")).to_contain_text("failed to satisfy constraint")
    page.get_by_label("Function name").fill("browser-hello")
    page.get_by_label("Blueprint").select_option("hello-world-python")
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name="browser-hello", level=1)).to_be_visible()

    # The code editor (CodeMirror) replaces the textarea; type the new handler into it and deploy.
    editor = page.locator(".cm-content").first
    expect(editor).to_contain_text("def lambda_handler(event, context):")
    expect(page.locator("#id_source")).to_be_hidden()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(HANDLER)
    assert page.locator("#id_source").input_value() == HANDLER
    # Escape then Tab leaves the editor (Tab alone indents), for the Deploy button. (A key press
    # first: Escape right after insert_text, which arrives like an IME commit, does not count.)
    page.keyboard.press("Control+End")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Deploy")).to_be_focused()
    assert page.locator("#id_source").input_value() == HANDLER
    page.keyboard.press("Enter")
    expect(page.locator("#deploy-status")).to_contain_text("Deployed")
    function = Function.objects.get(sandbox=cast.sandbox, name="browser-hello")
    assert "edited in the browser" in _handler_source(function)

    # The saved "hello-world" event is loaded; the first run after a deploy is a cold start.
    expect(page.locator(".cm-content").nth(1)).to_contain_text('"key1": "value1"')
    pane = _run_test_event(page)
    expect(pane.locator("[data-start]")).to_have_attribute("data-start", "cold")
    expect(pane.locator(".badge", has_text="Succeeded")).to_be_visible()
    expect(pane.get_by_label("Response")).to_contain_text('"greeting": "hi value1"')
    log = pane.get_by_label("Log output")
    expect(log).to_contain_text("START RequestId:")
    expect(log).to_contain_text("edited in the browser, greeting value1")
    expect(log).to_contain_text("END RequestId:")
    expect(log).to_contain_text(re.compile(r"REPORT RequestId: .*Billed Duration: \d+ ms.*Init Duration"))
    expect(pane.locator(".lambda-metrics")).to_contain_text("Init duration")

    # Warm environments belong to one worker process (the live lab runs two), so a warm start
    # comes at the latest once both processes have one.
    for _ in range(4):
        pane = _run_test_event(page)
        if pane.locator("[data-start]").get_attribute("data-start") == "warm":
            break
    expect(pane.locator("[data-start]")).to_have_attribute("data-start", "warm")
    expect(pane.get_by_label("Log output")).not_to_contain_text("Init Duration")
    expect(pane.locator("table")).to_contain_text("cold")

    # A new saved event from a template.
    page.get_by_label("New event from a template").select_option("sqs")
    expect(page.locator(".cm-content").nth(1)).to_contain_text("Hello from SQS!")
    page.get_by_label("Event name").fill("from-sqs")
    page.get_by_role("button", name="Save event").click()
    expect(page.locator("#event-editor")).to_contain_text("Saved from-sqs")
    assert function.test_events.filter(name="from-sqs").exists()

    # Configuration: a variable, more memory, reserved concurrency 1; a bad timeout first.
    page.get_by_role("link", name="Configuration").click()
    page.get_by_label("Timeout (seconds)").fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_timeout_s_error")).to_contain_text("Member must have value between 1 and 900")
    page.get_by_label("Timeout (seconds)").fill("5")
    page.get_by_label("Memory (MB)").fill("256")
    page.get_by_label("Reserved concurrency").fill("1")
    page.get_by_label("Key of variable 1").fill("MODE")
    page.get_by_label("Value of variable 1").fill("from-config")
    page.get_by_role("button", name="Add variable").click()
    expect(page.get_by_label("Key of variable 2")).to_be_visible()
    expect(page.get_by_label("Key of variable 1")).to_have_value("MODE")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Configuration of browser-hello saved.")).to_be_visible()
    function.refresh_from_db()
    assert (function.memory_mb, function.timeout_s, function.reserved_concurrency) == (256, 5, 1)
    assert function.environment == {"MODE": "from-config"}

    page.get_by_role("link", name="Code and test").click()
    page.get_by_label("Saved events").select_option("hello-world")
    pane = _run_test_event(page)
    expect(pane.get_by_label("Response")).to_contain_text('"mode": "from-config"')

    # Monitoring: the charts draw; a burst over reserved concurrency 1 is partly throttled (429).
    page.get_by_role("link", name="Monitoring").click()
    expect(page.locator("#chart-invocations .main-svg").first).to_be_visible()
    expect(page.locator(".lambda-stats")).to_contain_text("Invocations")
    page.get_by_label("Concurrent invokes").fill("6")
    page.get_by_role("button", name="Fire burst").click()
    summary = page.locator(".lambda-burst-summary")
    expect(summary).to_contain_text("Burst of 6", timeout=120_000)
    throttled = int(re.search(r"(\d+) throttled", summary.inner_text()).group(1))
    assert throttled >= 1
    # The live refresh brings the throttles into the stats and the chart.
    expect(page.locator(".lambda-stats > div", has_text="Throttles").locator("dd")).not_to_have_text("0")
    expect(page.locator(".lambda-cost")).to_contain_text("$0.20 per million requests")
    assert Invocation.objects.filter(function=function).count() >= 3

    # Delete, with the name typed to confirm.
    page.get_by_role("link", name="Delete…").click()
    page.get_by_label(re.compile("To confirm")).fill("browser-hello")
    page.get_by_role("button", name="Delete function").click()
    expect(page.get_by_text("Function browser-hello deleted.")).to_be_visible()
    expect(page.get_by_text("No functions yet")).to_be_visible()


def _handler_source(function: Function) -> str:
    import io
    import zipfile

    from serverless_lab.cloud.lambda_ import code

    function.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(code.read_zip(function.code_name))) as archive:
        return archive.read("lambda_function.py").decode()


@pytest.mark.parametrize("blueprint", ["dynamodb-crud-python", "dynamodb-crud-nodejs"])
def test_dynamodb_crud_blueprints_work_against_the_sandbox(live_lab, cast, blueprint):
    """The blueprints that call AWS, through the lab's own endpoint (boto3 in Python, signed fetch in Node.js)."""
    from serverless_lab.cloud.lambda_ import console

    dynamodb = live_lab.client("dynamodb", cast.sandbox)
    dynamodb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    console.function_create_from_blueprint(sandbox=cast.sandbox, name="crud", blueprint_key=blueprint)
    client = live_lab.client("lambda", cast.sandbox)

    def call(event: dict) -> object:
        response = client.invoke(FunctionName="crud", Payload=json.dumps(event).encode())
        body = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, body
        return body

    assert call({"operation": "create", "id": "1", "item": {"title": "Learn Lambda", "done": False}}) == {
        "created": {"title": "Learn Lambda", "done": False, "id": "1"}
    }
    assert call({"operation": "read", "id": "1"}) == {"title": "Learn Lambda", "done": False, "id": "1"}
    assert call({"operation": "update", "id": "1", "item": {"done": True, "stars": 5}}) == {
        "title": "Learn Lambda",
        "done": True,
        "stars": 5,
        "id": "1",
    }
    assert call({"operation": "list"}) == [{"title": "Learn Lambda", "done": True, "stars": 5, "id": "1"}]
    assert call({"operation": "delete", "id": "1"}) == {"deleted": "1"}
    assert dynamodb.scan(TableName="items")["Count"] == 0
    failed = client.invoke(FunctionName="crud", Payload=b'{"operation": "explode"}')
    assert failed["FunctionError"] == "Unhandled"
    assert "Unknown operation" in json.loads(failed["Payload"].read())["errorMessage"]


def test_s3_object_blueprint_reads_the_object_of_its_event(live_lab, cast):
    from serverless_lab.cloud.lambda_ import console
    from serverless_lab.cloud.lambda_.test_events import TEMPLATES

    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket=f"uploads-{cast.sandbox.account_id}")
    s3.put_object(
        Bucket=f"uploads-{cast.sandbox.account_id}", Key="photos/my cat.txt", Body=b"meow", ContentType="text/plain"
    )
    console.function_create_from_blueprint(sandbox=cast.sandbox, name="on-upload", blueprint_key="s3-object-python")
    event = json.loads(TEMPLATES["s3-put"].text())
    event["Records"][0]["s3"]["bucket"]["name"] = f"uploads-{cast.sandbox.account_id}"
    event["Records"][0]["s3"]["object"]["key"] = "photos/my+cat.txt"  # S3 events URL-encode keys
    response = live_lab.client("lambda", cast.sandbox).invoke(
        FunctionName="on-upload", Payload=json.dumps(event).encode(), LogType="Tail"
    )
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "objects": [{"bucket": f"uploads-{cast.sandbox.account_id}", "key": "photos/my cat.txt", "size": 4}]
    }

    assert "text/plain, 4 bytes" in base64.b64decode(response["LogResult"]).decode()
