from __future__ import annotations

import pytest
from django.urls import reverse

from serverless_lab.sandboxes.models import Sandbox

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client, cast):
    response = client.get(reverse("sandboxes:list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_create_shows_the_new_sandbox_with_copy_ready_snippets(client, cast):
    client.force_login(cast.charlie)
    response = client.post(reverse("sandboxes:list"), {"name": "lambda-lesson", "region": "eu-west-1"}, follow=True)
    sandbox = Sandbox.objects.get(owner=cast.charlie)
    html = response.content.decode()
    assert sandbox.name == "lambda-lesson" and sandbox.region == "eu-west-1"
    assert f"export AWS_ACCESS_KEY_ID={sandbox.access_key_id}" in html
    assert f"export AWS_ENDPOINT_URL={sandbox.endpoint_url}" in html
    assert sandbox.secret_access_key in html
    assert 'client("sts", endpoint_url=' in html


def test_create_shows_field_errors_and_keeps_nothing(client, cast):
    client.force_login(cast.charlie)
    response = client.post(reverse("sandboxes:list"), {"name": "", "region": "nowhere-1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "Select a valid choice." in html
    assert not Sandbox.objects.filter(owner=cast.charlie).exists()


@pytest.mark.parametrize(
    "name,method",
    [("sandboxes:detail", "get"), ("sandboxes:rename", "post"), ("sandboxes:reset", "post"),
     ("sandboxes:delete", "get"), ("sandboxes:delete", "post"), ("sandboxes:test-event", "post")],
)
def test_another_users_sandbox_is_a_404(client, cast, name, method):
    client.force_login(cast.charlie)
    response = getattr(client, method)(reverse(name, args=[cast.sandbox.pk]), {"name": "stolen", "confirm_name": "alice-sandbox"})
    assert response.status_code == 404
    cast.sandbox.refresh_from_db()
    assert cast.sandbox.name == "alice-sandbox"


def test_rename_through_htmx_returns_the_title_partial(client, cast):
    client.force_login(cast.alice)
    response = client.post(reverse("sandboxes:rename", args=[cast.sandbox.pk]), {"name": "dynamo-play"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="sandbox-title"' in html and "dynamo-play" in html
    assert "<html" not in html
    # The heading takes the focus, and the breadcrumb follows the new name (an out-of-band swap).
    assert '<h1 tabindex="-1" autofocus>dynamo-play</h1>' in html
    assert '<span aria-current="page" id="sandbox-crumb" hx-swap-oob="true">dynamo-play</span>' in html


def test_rename_with_a_bad_name_shows_the_error_in_the_partial(client, cast):
    client.force_login(cast.alice)
    response = client.post(reverse("sandboxes:rename", args=[cast.sandbox.pk]), {"name": "bad/name"}, HTTP_HX_REQUEST="true")
    assert "Use letters, digits" in response.content.decode()
    cast.sandbox.refresh_from_db()
    assert cast.sandbox.name == "alice-sandbox"


def test_delete_needs_the_typed_name(client, cast):
    client.force_login(cast.alice)
    response = client.post(reverse("sandboxes:delete", args=[cast.sandbox.pk]), {"confirm_name": "nope"})
    assert response.status_code == 400
    assert Sandbox.objects.filter(pk=cast.sandbox.pk).exists()
    response = client.post(reverse("sandboxes:delete", args=[cast.sandbox.pk]), {"confirm_name": "alice-sandbox"})
    assert response.status_code == 302
    assert not Sandbox.objects.filter(pk=cast.sandbox.pk).exists()


def test_the_sandbox_page_shows_quota_use_and_each_console_s_count(client, cast):
    from serverless_lab.cloud.s3 import backend as s3_backend

    s3_backend.create_bucket(sandbox=cast.sandbox, name="quota-bars", region=cast.sandbox.region)
    client.force_login(cast.alice)
    html = client.get(reverse("sandboxes:detail", args=[cast.sandbox.pk])).content.decode()
    assert f'value="0" max="{cast.sandbox.max_functions}" aria-label="Lambda functions used"' in html
    assert f"0 of {cast.sandbox.max_functions}" in html
    assert 'aria-label="Storage used"' in html
    assert 'S3 buckets <span class="console-count">1</span>' in html
    assert f'href="{reverse("tracing:trace-list", args=[cast.sandbox.pk])}">Traces</a>' in html
