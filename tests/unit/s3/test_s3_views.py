"""The S3 console's views through the Django test client: ownership, forms, byte round trips, safety."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from serverless_lab.cloud.s3 import backend, selectors
from serverless_lab.cloud.s3.models import Bucket, Object

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client: Any, cast: Any) -> Any:
    client.force_login(cast.alice)
    return client


def url(name: str, cast: Any, *args: str, **query: str) -> str:
    path = reverse(name, args=[cast.sandbox.pk, *args])
    return f"{path}?{urlencode(query)}" if query else path


def put(cast: Any, key: str, body: bytes, content_type: str = "", bucket: str = "photos", **metadata: str) -> Object:
    return backend.put_object(
        sandbox=cast.sandbox,
        bucket_name=bucket,
        key=key,
        body=body,
        fields=backend.ObjectFields(content_type=content_type, metadata=metadata),
    )


@pytest.fixture
def bucket(cast: Any) -> Bucket:
    return backend.create_bucket(sandbox=cast.sandbox, name="photos", region=cast.sandbox.region)


def test_pages_need_a_login(client, cast):
    response = client.get(url("s3:buckets", cast))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "name,method,query",
    [
        ("s3:buckets", "get", {}),
        ("s3:buckets", "post", {}),
        ("s3:bucket", "get", {}),
        ("s3:bucket-delete", "post", {}),
        ("s3:versioning", "post", {}),
        ("s3:notifications", "get", {}),
        ("s3:upload", "post", {}),
        ("s3:object", "get", {"key": "cat.txt"}),
        ("s3:object-download", "get", {"key": "cat.txt"}),
        ("s3:object-raw", "get", {"key": "cat.txt"}),
        ("s3:object-delete", "post", {}),
        ("s3:object-presign", "post", {}),
        ("s3:object-restore", "post", {}),
    ],
)
def test_charlie_gets_a_404_for_alices_console(client, cast, bucket, name, method, query):
    put(cast, "cat.txt", b"meow")
    client.force_login(cast.charlie)
    args = [] if name == "s3:buckets" else ["photos"]
    data = {"name": "stolen-bucket", "status": "Enabled", "key": "cat.txt", "file": SimpleUploadedFile("x.txt", b"x")}
    response = getattr(client, method)(url(name, cast, *args, **query), data if method == "post" else None)
    assert response.status_code == 404
    assert Object.objects.filter(key="cat.txt").exists()
    assert not Bucket.objects.filter(name="stolen-bucket").exists()
    assert Bucket.objects.get(name="photos").versioning == ""


def test_another_sandboxs_bucket_is_a_404_in_my_console(alice, cast):
    from serverless_lab.sandboxes.services import sandbox_create

    other = sandbox_create(owner=cast.charlie, name="charlie-sandbox")
    backend.create_bucket(sandbox=other, name="charlies", region="us-east-1")
    assert alice.get(url("s3:bucket", cast, "charlies")).status_code == 404
    assert alice.post(url("s3:bucket-delete", cast, "charlies")).status_code == 404
    assert Bucket.objects.filter(name="charlies").exists()


def test_empty_state_then_create_a_bucket(alice, cast):
    html = alice.get(url("s3:buckets", cast)).content.decode()
    assert "No buckets yet" in html and "aws s3 mb" in html
    response = alice.post(url("s3:buckets", cast), {"name": "my-first-bucket"})
    assert response.status_code == 302
    assert response["Location"] == url("s3:bucket", cast, "my-first-bucket")
    assert Bucket.objects.get(name="my-first-bucket").sandbox == cast.sandbox
    html = alice.get(url("s3:buckets", cast)).content.decode()
    assert "my-first-bucket" in html and "No buckets yet" not in html


@pytest.mark.parametrize(
    "name,message",
    [
        ("My_Bucket", "lowercase letters, numbers, dots and hyphens"),
        ("ab", "between 3 and 63 characters"),
        ("192.168.1.1", "IP address"),
        ("a..b", "two adjacent periods"),
        ("", "This field is required."),
    ],
)
def test_bad_bucket_names_show_field_errors(alice, cast, name, message):
    response = alice.post(url("s3:buckets", cast), {"name": name})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html and 'id="id_name_error"' in html
    assert not Bucket.objects.exists()


def test_taken_names_show_field_errors(alice, cast, bucket):
    from serverless_lab.sandboxes.services import sandbox_create

    assert (
        "You already have a bucket called photos"
        in alice.post(url("s3:buckets", cast), {"name": "photos"}).content.decode()
    )
    other = sandbox_create(owner=cast.charlie, name="charlie-sandbox")
    backend.create_bucket(sandbox=other, name="taken-name", region="us-east-1")
    response = alice.post(url("s3:buckets", cast), {"name": "taken-name"})
    assert response.status_code == 400 and "shared by everyone in the lab" in response.content.decode()


def test_upload_list_download_round_trip(alice, cast, bucket):
    response = alice.post(
        url("s3:upload", cast, "photos"),
        {"file": SimpleUploadedFile("notes.txt", b"hello world", content_type="text/plain"), "prefix": "docs/"},
    )
    assert response.status_code == 201
    assert response.json() == {"key": "docs/notes.txt", "size": 11, "etag": "5eb63bbbe01eeed093cb22bb8f5acdc3"}
    obj = Object.objects.get(key="docs/notes.txt")
    assert obj.content_type == "text/plain"

    root = alice.get(url("s3:bucket", cast, "photos")).content.decode()
    assert "docs/" in root and "notes.txt" not in root
    folder = alice.get(url("s3:bucket", cast, "photos", prefix="docs/")).content.decode()
    assert "notes.txt" in folder and 'aria-current="page">docs<' in folder

    download = alice.get(url("s3:object-download", cast, "photos", key="docs/notes.txt"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"hello world"
    assert download["Content-Type"] == "text/plain"
    assert download["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert download["X-Content-Type-Options"] == "nosniff"


def test_upload_errors_come_back_as_json(alice, cast, bucket):
    response = alice.post(url("s3:upload", cast, "photos"), {"prefix": "docs/"})
    assert response.status_code == 400 and "required" in response.json()["error"]
    response = alice.post(
        url("s3:upload", cast, "photos"), {"file": SimpleUploadedFile("a.txt", b"x"), "prefix": "no-slash"}
    )
    assert response.status_code == 400 and "slash" in response.json()["error"]
    cast.sandbox.max_storage_bytes = 4
    cast.sandbox.save()
    response = alice.post(url("s3:upload", cast, "photos"), {"file": SimpleUploadedFile("big.txt", b"too big")})
    assert response.status_code == 400 and response.json()["code"] == "EntityTooLarge"
    assert not Object.objects.exists()


def test_objects_written_by_boto3_show_the_same(alice, cast, bucket):
    put(cast, "data/report.json", b'{"b": [1, 2], "a": "\xc3\xa9"}', "application/json", author="alice")
    html = alice.get(url("s3:bucket", cast, "photos", prefix="data/")).content.decode()
    assert "report.json" in html
    html = alice.get(url("s3:object", cast, "photos", key="data/report.json")).content.decode()
    assert "x-amz-meta-author" in html and "alice" in html
    assert "&quot;a&quot;: &quot;é&quot;" in html  # pretty JSON, escaped
    assert "application/json" in html and "5 months" not in html


def test_preview_text_and_images(alice, cast, bucket):
    put(cast, "readme.md", b"# Title\n<b>bold</b>")
    html = alice.get(url("s3:object", cast, "photos", key="readme.md")).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    put(cast, "cat.png", png, "image/png")
    html = alice.get(url("s3:object", cast, "photos", key="cat.png")).content.decode()
    raw_url = url("s3:object-raw", cast, "photos", key="cat.png")
    assert f'src="{raw_url}"' in html.replace("&amp;", "&")
    raw = alice.get(raw_url)
    assert raw["Content-Type"] == "image/png" and b"".join(raw.streaming_content) == png
    assert raw["X-Content-Type-Options"] == "nosniff"

    put(cast, "blob.bin", b"\x00\x01")
    assert "No preview for" in alice.get(url("s3:object", cast, "photos", key="blob.bin")).content.decode()


@pytest.mark.parametrize(
    "key,content_type",
    [
        ("evil.html", "text/html"),
        ("evil.svg", "image/svg+xml"),
        ("evil.svg", ""),
        ("page.xhtml", "application/xhtml+xml"),
    ],
)
def test_html_and_svg_are_never_served_as_renderable_documents(alice, cast, bucket, key, content_type):
    body = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(1)</script></svg>"
    put(cast, key, body, content_type)
    page = alice.get(url("s3:object", cast, "photos", key=key)).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert alice.get(url("s3:object-raw", cast, "photos", key=key)).status_code == 404
    download = alice.get(url("s3:object-download", cast, "photos", key=key))
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]


def test_delete_an_object_with_confirmation(alice, cast, bucket):
    put(cast, "docs/a.txt", b"a")
    confirm = alice.get(url("s3:object-delete", cast, "photos", key="docs/a.txt"))
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Object.objects.filter(key="docs/a.txt").exists()
    response = alice.post(url("s3:object-delete", cast, "photos"), {"key": "docs/a.txt"})
    assert response.status_code == 302
    assert response["Location"] == url("s3:bucket", cast, "photos", prefix="docs/")
    assert not Object.objects.filter(key="docs/a.txt").exists()
    assert alice.get(url("s3:object", cast, "photos", key="docs/a.txt")).status_code == 404


def test_delete_a_bucket_friendly_when_not_empty(alice, cast, bucket):
    put(cast, "a.txt", b"a")
    response = alice.post(url("s3:bucket-delete", cast, "photos"))
    assert response.status_code == 409
    assert "S3 only deletes empty buckets" in response.content.decode()
    backend.delete_object(sandbox=cast.sandbox, bucket_name="photos", key="a.txt")
    response = alice.post(url("s3:bucket-delete", cast, "photos"))
    assert response.status_code == 302 and response["Location"] == url("s3:buckets", cast)
    assert not Bucket.objects.exists()


def test_versioning_toggle_and_versions_panel(alice, cast, bucket):
    response = alice.post(url("s3:versioning", cast, "photos"), {"status": "Enabled"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="versioning-panel"') and "Suspend versioning" in html
    first = put(cast, "v.txt", b"one")
    put(cast, "v.txt", b"two!")
    html = alice.get(url("s3:object", cast, "photos", key="v.txt")).content.decode()
    assert "Versions" in html and html.count("version_id=") == 2
    old = alice.get(url("s3:object-download", cast, "photos", key="v.txt", version_id=first.version_id))
    assert b"".join(old.streaming_content) == b"one"
    alice.post(url("s3:object-delete", cast, "photos"), {"key": "v.txt"})
    assert Object.objects.filter(key="v.txt").count() == 3  # two versions and a delete marker
    alice.post(url("s3:versioning", cast, "photos"), {"status": "Suspended"})
    assert Bucket.objects.get(name="photos").versioning == "Suspended"


def _pager_link(html: str, rel: str) -> str | None:
    if f'rel="{rel}"' not in html:
        return None
    return html.split(f'rel="{rel}" href="')[1].split('"')[0].replace("&amp;", "&")


def _names(html: str) -> list[str]:
    return [name for name in ("a.txt", "b.txt", "c/", "d.txt", "e.txt") if f"<span>{name}</span>" in html]


def test_pagination_forward_with_continuation_tokens_and_back(alice, cast, bucket, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    for key in ("a.txt", "b.txt", "c/x.txt", "c/y.txt", "d.txt", "e.txt"):
        put(cast, key, b"x")
    pages = []
    page_url: str | None = url("s3:bucket", cast, "photos")
    while page_url:
        html = alice.get(page_url, headers={"HX-Request": "true", "HX-Target": "object-table"}).content.decode()
        assert html.lstrip().startswith('<div id="object-table"')
        pages.append(_names(html))
        page_url = _pager_link(html, "next")
        assert page_url is None or "token=" in page_url
    assert pages == [["a.txt", "b.txt"], ["c/", "d.txt"], ["e.txt"]]
    assert 'rel="prev"' not in alice.get(url("s3:bucket", cast, "photos")).content.decode()

    backwards = []
    last = alice.get(url("s3:bucket", cast, "photos")).content.decode()
    last = alice.get(_pager_link(last, "next")).content.decode()
    last = alice.get(_pager_link(last, "next")).content.decode()
    assert "First page" in last
    page_url = _pager_link(last, "prev")
    while page_url:
        html = alice.get(page_url).content.decode()
        backwards.append(_names(html))
        page_url = _pager_link(html, "prev")
    assert backwards == [["c/", "d.txt"], ["a.txt", "b.txt"]]

    garbage = alice.get(url("s3:bucket", cast, "photos", token="!!not-a-token", trail="x,y"))
    assert garbage.status_code == 200 and "<span>a.txt</span>" in garbage.content.decode()


def test_presigned_link_is_signed_for_one_hour_with_the_sandbox_keys(alice, cast, bucket):
    put(cast, "cat.txt", b"meow")
    response = alice.post(url("s3:object-presign", cast, "photos"), {"key": "cat.txt"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    presigned = html.split("readonly>")[1].split("</textarea>")[0].replace("&amp;", "&")
    parts = urlsplit(presigned)
    query = parse_qs(parts.query)
    assert parts.path == "/aws/photos/cat.txt"
    assert query["X-Amz-Expires"] == ["3600"]
    assert query["X-Amz-Credential"][0].startswith(cast.sandbox.access_key_id + "/")
    assert parts.netloc == "testserver"  # the host the student uses; the live browser test fetches it


def test_notification_form_stores_through_the_backend(alice, cast, bucket):
    from serverless_lab.cloud.sqs import backend as sqs_backend

    sqs_backend.create_queue(sandbox=cast.sandbox, name="thumbnails", attributes={}, tags={})  # it must exist
    arn = f"arn:aws:sqs:us-east-1:{cast.sandbox.account_id}:thumbnails"
    html = alice.get(url("s3:notifications", cast, "photos")).content.decode()
    assert "No notifications yet" in html
    response = alice.post(
        url("s3:notifications", cast, "photos"),
        {"arn": arn, "events": ["s3:ObjectCreated:*"], "prefix": "uploads/", "suffix": ".jpg"},
    )
    assert response.status_code == 302
    stored = Bucket.objects.get(name="photos")
    entry = stored.notification["QueueConfigurations"][0]
    assert entry["QueueArn"] == arn and entry["Events"] == ["s3:ObjectCreated:*"]
    assert backend.notification_targets(stored, "s3:ObjectCreated:Put", "uploads/cat.jpg") == [arn]
    assert backend.notification_targets(stored, "s3:ObjectCreated:Put", "uploads/cat.png") == []
    html = alice.get(url("s3:notifications", cast, "photos")).content.decode()
    assert arn in html and "uploads/" in html

    bad = alice.post(url("s3:notifications", cast, "photos"), {"arn": "not-an-arn", "events": []})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Enter the ARN of a Lambda function" in html and "This field is required." in html

    alice.post(url("s3:notification-remove", cast, "photos"), {"id": entry["Id"]})
    assert Bucket.objects.get(name="photos").notification["QueueConfigurations"] == []


def test_sandbox_page_links_to_the_s3_console(alice, cast):
    html = alice.get(reverse("sandboxes:detail", args=[cast.sandbox.pk])).content.decode()
    assert f'href="{url("s3:buckets", cast)}"' in html


def test_json_that_is_not_json_is_shown_as_text(alice, cast, bucket):
    put(cast, "broken.json", b"{nope", "application/json")
    html = alice.get(url("s3:object", cast, "photos", key="broken.json")).content.decode()
    assert "Not valid JSON" in html and "{nope" in html


def test_a_folder_marker_key_is_the_folder_not_a_nameless_object(alice, cast, bucket):
    put(cast, "photos/", b"")
    put(cast, "photos/cat.jpg", b"jpg")
    root = alice.get(url("s3:bucket", cast, "photos")).content.decode()
    assert "<span>photos/</span>" in root
    folder = alice.get(url("s3:bucket", cast, "photos", prefix="photos/")).content.decode()
    assert "<span>cat.jpg</span>" in folder and "<span></span>" not in folder


def test_adding_a_notification_keeps_the_other_targets(alice, cast, bucket):
    from serverless_lab.cloud.sns import backend as sns_backend
    from serverless_lab.cloud.sqs import backend as sqs_backend

    # AWS checks that the destinations exist.
    sqs_backend.create_queue(sandbox=cast.sandbox, name="jobs", attributes={}, tags={})
    sns_backend.create_topic(sandbox=cast.sandbox, name="news", attributes={}, tags={})
    queue = f"arn:aws:sqs:us-east-1:{cast.sandbox.account_id}:jobs"
    backend.put_bucket_notification_configuration(
        sandbox=cast.sandbox,
        name="photos",
        configuration={
            "QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectRemoved:*"]}],
            "EventBridgeConfiguration": {},
        },
    )
    topic = f"arn:aws:sns:us-east-1:{cast.sandbox.account_id}:news"
    alice.post(url("s3:notifications", cast, "photos"), {"arn": topic, "events": ["s3:ObjectCreated:Put"]})
    stored = Bucket.objects.get(name="photos").notification
    assert stored["EventBridgeConfiguration"] == {}
    assert [t["QueueArn"] for t in stored["QueueConfigurations"]] == [queue]
    assert [t["TopicArn"] for t in stored["TopicConfigurations"]] == [topic]
    html = alice.get(url("s3:notifications", cast, "photos")).content.decode()
    assert "SQS queue" in html and "SNS topic" in html


def test_a_deleted_key_of_a_versioned_bucket_can_be_found_opened_and_restored(alice, cast, bucket):
    backend.put_bucket_versioning(sandbox=cast.sandbox, name="photos", status="Enabled")
    first = put(cast, "docs/v.txt", b"kept bytes")
    alice.post(url("s3:object-delete", cast, "photos"), {"key": "docs/v.txt"})

    folder = alice.get(url("s3:bucket", cast, "photos", prefix="docs/")).content.decode()
    assert "Deleted objects in this folder (1)" in folder and "<span>v.txt</span>" in folder
    page = alice.get(url("s3:object", cast, "photos", key="docs/v.txt"))
    html = page.content.decode()
    assert page.status_code == 200 and "This object is deleted" in html and "Delete marker" in html
    assert first.version_id in html and "Download" not in html
    old = alice.get(url("s3:object", cast, "photos", key="docs/v.txt", version_id=first.version_id))
    assert "kept bytes" in old.content.decode()

    response = alice.post(url("s3:object-restore", cast, "photos"), {"key": "docs/v.txt"})
    assert response.status_code == 302
    assert backend.get_object(sandbox=cast.sandbox, bucket_name="photos", key="docs/v.txt").pk == first.pk
    assert "Deleted objects" not in alice.get(url("s3:bucket", cast, "photos", prefix="docs/")).content.decode()


def test_a_key_that_never_existed_is_a_404(alice, cast, bucket):
    backend.put_bucket_versioning(sandbox=cast.sandbox, name="photos", status="Enabled")
    assert alice.get(url("s3:object", cast, "photos", key="nope.txt")).status_code == 404
    assert alice.post(url("s3:object-restore", cast, "photos"), {"key": "nope.txt"}).status_code == 302


def test_hostile_query_strings_are_not_errors(alice, cast, bucket):
    put(cast, "a.txt", b"a")
    nul_token = base64.urlsafe_b64encode(b"a\x00b").decode()
    for query in ({"prefix": "\x00"}, {"prefix": "x" * 5000}, {"token": nul_token}, {"token": "\x00"}):
        response = alice.get(url("s3:bucket", cast, "photos", **query))
        assert response.status_code == 200 and "<span>a.txt</span>" in response.content.decode()
    for name in ("s3:object", "s3:object-download", "s3:object-raw", "s3:object-delete"):
        assert alice.get(url(name, cast, "photos", key="a\x00")).status_code == 404
        assert alice.get(url(name, cast, "photos")).status_code == 404
