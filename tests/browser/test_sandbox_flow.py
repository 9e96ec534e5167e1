"""A new student's first minutes, in headless Chromium against the live lab."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from serverless_lab.sandboxes.models import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_sign_up_create_a_sandbox_and_watch_a_worker_event_arrive(live_lab, page, tmp_path):
    page.goto(f"{live_lab.url}/accounts/signup/")
    page.get_by_label("Username").fill("newstudent")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase")
    page.get_by_label("Password confirmation").fill("a-long-passphrase")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Your sandboxes")).to_be_visible()
    expect(page.get_by_text("No sandboxes yet")).to_be_visible()
    page.get_by_label("Name").fill("first-sandbox")
    page.get_by_role("button", name="Create sandbox").click()

    sandbox = Sandbox.objects.get(owner__username="newstudent")
    expect(page.get_by_role("heading", name="first-sandbox", level=1)).to_be_visible()
    expect(page.locator("#account-id")).to_have_text(sandbox.account_id)
    expect(page.locator("#snippet-env")).to_contain_text(f"export AWS_SECRET_ACCESS_KEY={sandbox.secret_access_key}")
    expect(page.locator("#ws-status")).to_have_text("Live")

    page.get_by_label("Message").fill("ping from the browser test")
    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator("#event-log")).to_contain_text("ping from the browser test", timeout=20_000)
    page.screenshot(path=str(tmp_path / "sandbox.png"), full_page=True)
