"""The live diagram in headless Chromium: boto3 calls travel along edges, the log catches up
after a dropped socket, and a past trace replays with its waterfall."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
BUCKET_NODE = "arn:aws:s3:::photos"
# Screenshots for a person to look at go here when set (never into git).
SHOTS = os.environ.get("LAB_SCREENSHOTS")


def shot(page, name: str, element=None) -> None:
    if SHOTS:
        target = element if element is not None else page
        target.screenshot(path=str(Path(SHOTS) / f"{name}.png"), **({} if element is not None else {"full_page": True}))


def log_in(page, live_lab, client, user) -> None:
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_lab.url}])


def watch_tokens(page) -> None:
    """Record the status of every token the diagram animates (each lives under a second)."""
    page.evaluate("""() => {
        window.seenTokens = [];
        new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) => {
            if (n.classList?.contains("dg-token")) window.seenTokens.push(`${n.dataset.status} ${n.dataset.edge}`);
        }))).observe(document.querySelector(".dg-tokens"), { childList: true });
    }""")


def open_sandbox(page, live_lab, sandbox) -> None:
    page.goto(f"{live_lab.url}/sandboxes/{sandbox.pk}/")
    expect(page.locator("[data-diagram]")).to_have_attribute("data-diagram-ready", "true")
    expect(page.locator("#ws-status")).to_have_text("Live")


def test_a_boto3_call_animates_along_its_edge_and_lands_in_the_log(live_lab, cast, client, page):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="photos")
    live_lab.client("dynamodb", cast.sandbox).create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    log_in(page, live_lab, client, cast.alice)
    open_sandbox(page, live_lab, cast.sandbox)
    expect(page.locator(f'[data-node="{BUCKET_NODE}"]')).to_contain_text("photos")
    expect(page.locator('[data-node$=":table/orders"]')).to_contain_text("orders")
    # Earlier calls are listed (not animated) when the page opens.
    expect(page.locator(".hop-row").first).to_contain_text("dynamodb:CreateTable")

    watch_tokens(page)
    s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
    page.wait_for_function("window.seenTokens.length === 1")
    shot(page, "diagram-token")  # usually mid-flight: a token lives 0.9 s
    assert page.evaluate("window.seenTokens") == [f"ok client→{BUCKET_NODE}"]
    expect(page.locator(".hop-row").first).to_contain_text("s3:PutObject")
    expect(page.locator(".hop-row").first).to_contain_text("photos")

    with pytest.raises(ClientError):
        s3.get_object(Bucket="photos", Key="missing.jpg")
    expect(page.locator(".hop-row").first).to_contain_text("s3:GetObject")
    page.wait_for_function("window.seenTokens.length === 2")
    assert page.evaluate("window.seenTokens")[1] == f"error client→{BUCKET_NODE}"
    page.locator(".hop-row-button").first.click()
    details = page.locator("[data-hop-details]")
    expect(details).to_contain_text("error (NoSuchKey)")
    expect(details).to_contain_text('"Key":"missing.jpg"')
    shot(page, "diagram-details")


def test_after_a_dropped_socket_the_log_catches_up(live_lab, cast, client, page):
    sockets: list = []
    blocked = {"now": False}

    def route(ws) -> None:
        if blocked["now"]:
            ws.close()
            return
        ws.connect_to_server()
        sockets.append(ws)

    def hops(route) -> None:
        # Playwright's stand-in for a blocked socket opens before it closes, and each open asks
        # for a catch-up over HTTP; an outage takes that down too, or the hop would leak in early.
        if blocked["now"]:
            route.abort()
        else:
            route.continue_()

    page.route_web_socket("**/ws/sandboxes/**", route)
    page.route("**/diagram/hops.json*", hops)
    sts = live_lab.client("sts", cast.sandbox)
    log_in(page, live_lab, client, cast.alice)
    loads = {"request": 0, "requestfinished": 0, "requestfailed": 0}

    def count(event: str):
        def on(request) -> None:
            if "/diagram/hops.json" in request.url:
                loads[event] += 1
        return on

    for event in loads:
        page.on(event, count(event))
    open_sandbox(page, live_lab, cast.sandbox)
    # The page's first list of hops and its catch-up on the socket's first open must both be in,
    # or a slow one could bring in the hop recorded below.
    done = lambda: loads["requestfinished"] + loads["requestfailed"]  # noqa: E731
    for _ in range(200):
        if done() >= 2 and done() == loads["request"]:
            break
        page.wait_for_timeout(25)
    assert done() >= 2, loads

    blocked["now"] = True
    sockets[-1].close()
    expect(page.locator("#ws-status")).to_have_text("Reconnecting…")
    sts.get_caller_identity()  # recorded while the page hears nothing
    page.wait_for_timeout(700)
    expect(page.locator(".hop-row")).to_have_count(0)
    blocked["now"] = False
    expect(page.locator("#ws-status")).to_have_text("Live", timeout=20_000)
    expect(page.locator(".hop-row")).to_have_count(1)
    expect(page.locator(".hop-row").first).to_contain_text("sts:GetCallerIdentity")
    expect(page.locator('[data-node="service:sts"]')).to_be_visible()
    shot(page, "diagram-caught-up")


def test_a_past_trace_replays_with_a_waterfall(live_lab, cast, client, page):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="photos")
    log_in(page, live_lab, client, cast.alice)
    open_sandbox(page, live_lab, cast.sandbox)
    expect(page.locator(".hop-row")).to_have_count(1)
    page.get_by_role("link", name="Past traces and replays").click()
    page.get_by_role("link", name="s3:CreateBucket").click()
    expect(page.locator("#trace-waterfall .main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator(f'[data-node="{BUCKET_NODE}"]')).to_be_visible()
    watch_tokens(page)
    page.get_by_label("Speed").select_option("2")
    page.get_by_role("button", name="Replay").click()
    page.wait_for_function("window.seenTokens.length === 1")
    assert page.evaluate("window.seenTokens") == [f"ok client→{BUCKET_NODE}"]
    expect(page.locator("[data-hop-details]")).to_contain_text("s3:CreateBucket")
    shot(page, "trace-replay")


def test_a_stranger_cannot_read_the_diagram_feeds(live_lab, cast, client):
    client.force_login(cast.charlie)
    for path in ("diagram/graph.json", "diagram/hops.json", "traces/"):
        assert client.get(f"/sandboxes/{cast.sandbox.pk}/{path}").status_code == 404
    client.force_login(cast.bob)
    assert client.get(f"/sandboxes/{cast.sandbox.pk}/diagram/graph.json").status_code == 200


def test_the_s3_lesson_embeds_the_students_live_diagram_focused_on_s3(live_lab, cast, client, page):
    from lessons.services import lessons_load

    assert lessons_load().ok
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="photos")
    live_lab.client("sqs", cast.sandbox).create_queue(QueueName="not-in-the-s3-lesson")
    log_in(page, live_lab, client, cast.alice)
    page.goto(f"{live_lab.url}/lessons/amazon-s3/")
    block = page.locator("[data-lesson-diagram]")
    expect(block.locator("[data-diagram]")).to_have_attribute("data-diagram-ready", "true")
    expect(block.locator("[data-ws-status]")).to_have_text("Live")
    expect(block).to_contain_text("Live diagram: your S3 resources")
    expect(block.locator(f'[data-node="{BUCKET_NODE}"]')).to_contain_text("photos")
    expect(block.locator('[data-node$=":not-in-the-s3-lesson"]')).to_have_count(0)

    watch_tokens(page)
    s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
    live_lab.client("sqs", cast.sandbox).list_queues()  # not S3: the focused diagram skips it
    page.wait_for_function("window.seenTokens.length === 1")
    expect(block.locator(".hop-row").first).to_contain_text("s3:PutObject")
    shot(page, "lesson-diagram", block)
    assert page.evaluate("window.seenTokens") == [f"ok client→{BUCKET_NODE}"]
    expect(block.locator(".hop-row", has_text="sqs:")).to_have_count(0)


def test_a_dragged_box_stays_where_it_was_put_after_a_reload(live_lab, cast, client, page):
    live_lab.client("s3", cast.sandbox).create_bucket(Bucket="photos")
    log_in(page, live_lab, client, cast.alice)
    open_sandbox(page, live_lab, cast.sandbox)
    node = page.locator(f'[data-node="{BUCKET_NODE}"]')
    before = node.get_attribute("transform")
    box = node.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 + 120, steps=8)
    page.mouse.up()
    moved = node.get_attribute("transform")
    assert moved != before
    page.reload()
    expect(page.locator("[data-diagram]")).to_have_attribute("data-diagram-ready", "true")
    expect(page.locator(f'[data-node="{BUCKET_NODE}"]')).to_have_attribute("transform", moved)
    # The trace view's replay uses the same arrangement.
    from serverless_lab.tracing.models import Trace

    trace = Trace.objects.filter(sandbox=cast.sandbox).first()
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/traces/{trace.trace_id}/")
    expect(page.locator("[data-diagram]")).to_have_attribute("data-diagram-ready", "true")
    expect(page.locator(f'[data-node="{BUCKET_NODE}"]')).to_have_attribute("transform", moved)
    open_sandbox(page, live_lab, cast.sandbox)
    page.get_by_role("button", name="Reset layout").click()
    expect(page.locator(f'[data-node="{BUCKET_NODE}"]')).to_have_attribute("transform", before)


def test_a_visitor_without_a_sandbox_gets_a_way_to_make_one_instead_of_a_diagram(live_lab, cast, client, page):
    from lessons.services import lessons_load

    assert lessons_load().ok
    log_in(page, live_lab, client, cast.charlie)
    page.goto(f"{live_lab.url}/lessons/amazon-s3/")
    expect(page.locator("[data-lesson-diagram]")).to_have_count(0)
    expect(page.get_by_role("link", name="Create a sandbox").first).to_be_visible()
    page.context.clear_cookies()
    page.goto(f"{live_lab.url}/lessons/amazon-s3/")
    expect(page.get_by_role("link", name="Sign up and create a sandbox").first).to_be_visible()
    shot(page, "lesson-diagram-anonymous", page.get_by_role("complementary", name="Live diagram").first)


def test_an_invoke_travels_to_the_function_and_the_functions_own_call_leaves_it(live_lab, cast, client, page):
    import io
    import zipfile

    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="photos")
    lam = live_lab.client("lambda", cast.sandbox)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(
            "app.py",
            "import boto3\ndef handler(event, context):\n"
            "    boto3.client('s3').put_object(Bucket='photos', Key='thumb.jpg', Body=b'x')\n    return 'ok'\n",
        )
    lam.create_function(
        FunctionName="resize", Runtime="python3.11", Handler="app.handler",
        Role="arn:aws:iam::123456789012:role/lambda-role", Code={"ZipFile": archive.getvalue()}, Timeout=20,
    )
    function = f"arn:aws:lambda:{cast.sandbox.region}:{cast.sandbox.account_id}:function:resize"
    log_in(page, live_lab, client, cast.alice)
    open_sandbox(page, live_lab, cast.sandbox)
    expect(page.locator(f'[data-node="{function}"]')).to_contain_text("resize")

    watch_tokens(page)
    response = lam.invoke(FunctionName="resize")
    assert "FunctionError" not in response, response["Payload"].read()
    page.wait_for_function("window.seenTokens.length === 2")
    # The function's PutObject finishes (and is drawn) before the Invoke that ran it returns.
    assert sorted(page.evaluate("window.seenTokens")) == sorted(
        [f"ok client→{function}", f"ok {function}→{BUCKET_NODE}"]
    )
    expect(page.locator(".hop-row").first).to_contain_text("lambda:Invoke")
    expect(page.locator(".hop-row").nth(1)).to_contain_text("s3:PutObject")
    expect(page.locator(f'[data-edge="{function}→{BUCKET_NODE}"]')).to_have_count(1)
    shot(page, "diagram-invoke", page.locator("[data-diagram]"))


def test_a_focused_lesson_diagram_says_when_there_is_nothing_yet_and_fills_in_live(live_lab, cast, client, page):
    from lessons.services import lessons_load

    assert lessons_load().ok
    log_in(page, live_lab, client, cast.alice)
    page.goto(f"{live_lab.url}/lessons/amazon-dynamodb/")
    block = page.locator("[data-lesson-diagram]")
    expect(block.locator("[data-diagram]")).to_have_attribute("data-diagram-ready", "true")
    expect(block.locator("[data-ws-status]")).to_have_text("Live")
    note = block.locator("[data-diagram-empty]")
    expect(note).to_be_visible()
    expect(note).to_contain_text("no DynamoDB resources yet")
    expect(block.locator(".hop-log-empty")).to_contain_text("No DynamoDB calls yet")
    shot(page, "lesson-diagram-empty", block)
    live_lab.client("dynamodb", cast.sandbox).create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    expect(block.locator('[data-node$=":table/orders"]')).to_contain_text("orders")
    expect(note).to_be_hidden()
    expect(block.locator(".hop-row").first).to_contain_text("dynamodb:CreateTable")


def test_a_student_with_two_sandboxes_shows_the_other_one_in_the_lesson(live_lab, cast, client, page):
    from lessons.services import lessons_load
    from serverless_lab.sandboxes.services import sandbox_create

    assert lessons_load().ok
    live_lab.client("s3", cast.sandbox).create_bucket(Bucket="photos")  # in the older sandbox
    newest = sandbox_create(owner=cast.alice, name="scratch")
    log_in(page, live_lab, client, cast.alice)
    page.goto(f"{live_lab.url}/lessons/amazon-s3/")
    block = page.locator("[data-lesson-diagram]")
    expect(block).to_contain_text("Your newest sandbox: scratch")
    expect(block.locator("[data-diagram-empty]")).to_be_visible()
    block.get_by_label("Show").select_option(str(cast.sandbox.pk))
    block.get_by_role("button", name="Show").click()
    block = page.locator("[data-lesson-diagram]")
    expect(block).to_contain_text(f"Sandbox: {cast.sandbox.name}")
    expect(block.locator("[data-ws-status]")).to_have_text("Live")
    expect(block.locator(f'[data-node="{BUCKET_NODE}"]')).to_contain_text("photos")
    assert f"?diagram_sandbox={cast.sandbox.pk}#lesson-diagram-" in page.url
    expect(block.get_by_label("Show").locator("option", has_text="(newest)")).to_have_attribute("value", str(newest.pk))
    shot(page, "lesson-diagram-picker", block)
