"""The S3 console: server-rendered pages over the same backend boto3 reaches through /aws/.

Object bytes are only ever sent as downloads (attachment) or as raster images; HTML, SVG and
everything else a browser could run is previewed as escaped text, and every byte response
carries ``X-Content-Type-Options: nosniff`` and a sandboxing CSP.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.selectors import own_sandbox_or_404
from serverless_lab.web.http import HtmxHttpRequest

from . import backend, exceptions, selectors
from .forms import BrowseForm, BucketCreateForm, NotificationForm, ObjectKeyForm, UploadForm, VersioningForm
from .models import Bucket, Object

PRESIGN_SECONDS = 3600


def _own_bucket(sandbox: Sandbox, name: str) -> Bucket:
    try:
        return backend.get_bucket(sandbox=sandbox, name=name)
    except (exceptions.NoSuchBucket, exceptions.AccessDenied):  # another sandbox's bucket is a 404 too
        raise Http404("No such bucket") from None


def _object_key(request: HttpRequest) -> tuple[str, str | None]:
    form = ObjectKeyForm(request.GET if request.method == "GET" else request.POST)
    if not form.is_valid():
        raise Http404("No such object")
    return form.cleaned_data["key"], form.cleaned_data["version_id"] or None


def _get_object(sandbox: Sandbox, bucket: str, key: str, version_id: str | None) -> Object:
    try:
        return backend.get_object(sandbox=sandbox, bucket_name=bucket, key=key, version_id=version_id)
    except exceptions.S3Error as error:  # NoSuchBucket, AccessDenied, NoSuchKey, a delete marker's version
        raise Http404(error.message) from None


def _object_url(name: str, sandbox: Sandbox, bucket: str, key: str, version_id: str | None = None) -> str:
    query = {"key": key} | ({"version_id": version_id} if version_id else {})
    return f"{reverse(name, args=[sandbox.pk, bucket])}?{urlencode(query)}"


def _untrusted_bytes(response: HttpResponse) -> HttpResponse:
    """Headers for bytes a student (or their code) uploaded: never sniffed, never scripted."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    return response


# --- buckets -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def bucket_list(request: HttpRequest, sandbox_id: int) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    form = BucketCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            backend.create_bucket(sandbox=sandbox, name=name, region=sandbox.region)
        except exceptions.InvalidBucketName as error:
            form.add_error("name", error.message)
        except exceptions.BucketAlreadyOwnedByYou:
            form.add_error("name", f"You already have a bucket called {name}.")
        except exceptions.BucketAlreadyExists:
            form.add_error("name", f"{name} is taken: bucket names are shared by everyone in the lab. Try another.")
        else:
            messages.success(request, f"Bucket {name} created.")
            return redirect("s3:bucket", sandbox.pk, name)
    context = {"sandbox": sandbox, "buckets": selectors.bucket_rows(sandbox=sandbox), "form": form}
    return render(request, "s3/bucket_list.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def bucket_detail(request: HtmxHttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    form = BrowseForm(request.GET)
    where = form.cleaned_data if form.is_valid() else {"prefix": "", "token": "", "trail": ""}
    try:
        page = selectors.object_page(
            sandbox=sandbox, bucket_name=bucket, prefix=where["prefix"], token=where["token"], trail=where["trail"]
        )
    except (exceptions.NoSuchBucket, exceptions.AccessDenied):
        raise Http404("No such bucket") from None
    context = {
        "sandbox": sandbox,
        "page": page,
        "bucket": page.bucket,
        "max_upload_bytes": settings.LAB_MAX_REQUEST_BYTES,
    }
    if request.htmx and request.htmx.target == "object-table":
        return render(request, "s3/bucket_detail.html#object-table", context)
    return render(request, "s3/bucket_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def bucket_delete(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    bucket_row = _own_bucket(sandbox, bucket)
    error = ""
    if request.method == "POST":
        try:
            backend.delete_bucket(sandbox=sandbox, name=bucket)
        except exceptions.BucketNotEmpty:
            error = (
                f"{bucket} still holds objects{' or object versions' if bucket_row.versioning else ''}. "
                "S3 only deletes empty buckets: delete its objects first "
                f"(or run aws s3 rb s3://{bucket} --force)."
            )
        else:
            messages.success(request, f"Bucket {bucket} deleted.")
            return redirect("s3:buckets", sandbox.pk)
    return render(
        request,
        "s3/bucket_delete.html",
        {"sandbox": sandbox, "bucket": bucket_row, "error": error},
        status=409 if error else 200,
    )


@login_required
@require_POST
def bucket_versioning(request: HtmxHttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    bucket_row = _own_bucket(sandbox, bucket)
    form = VersioningForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose Enabled or Suspended.", status=400)
    backend.put_bucket_versioning(sandbox=sandbox, name=bucket, status=form.cleaned_data["status"])
    bucket_row.refresh_from_db()
    if request.htmx:
        return render(
            request, "s3/bucket_detail.html#versioning-panel", {"sandbox": sandbox, "bucket": bucket_row, "saved": True}
        )
    messages.success(request, f"Versioning is {bucket_row.versioning.lower()} on {bucket}.")
    return redirect("s3:bucket", sandbox.pk, bucket)


@login_required
@require_http_methods(["GET", "POST"])
def bucket_notifications(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    bucket_row = _own_bucket(sandbox, bucket)
    form = NotificationForm(request.POST or None)
    targets = _notification_targets(sandbox)
    if targets:
        # The ARN field suggests this sandbox's own functions, queues and topics, so nobody types an ARN by hand.
        form.fields["arn"].widget.attrs["list"] = "s3-target-arns"
        form.fields["arn"].help_text = "Pick one of this sandbox's functions, queues or topics, or paste any ARN."
    if request.method == "POST" and form.is_valid():
        list_name, entry = form.target()
        configuration = dict(bucket_row.notification)
        configuration[list_name] = [*configuration.get(list_name, []), entry]
        try:
            backend.put_bucket_notification_configuration(sandbox=sandbox, name=bucket, configuration=configuration)
        except exceptions.S3Error as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Notification saved.")
            return redirect("s3:notifications", sandbox.pk, bucket)
    context = {
        "sandbox": sandbox,
        "bucket": bucket_row,
        "rows": selectors.notification_rows(bucket_row),
        "form": form,
        "targets": targets,
    }
    return render(request, "s3/notifications.html", context, status=400 if form.errors else 200)


def _notification_targets(sandbox: Sandbox) -> list[tuple[str, str]]:
    """(ARN, label) of each function, standard queue and standard topic in ``sandbox``: what S3 can notify."""
    prefix = f"{sandbox.region}:{sandbox.account_id}"
    functions = sandbox.lambda_functions.order_by("name").values_list("name", flat=True)
    queues = sandbox.sqs_queues.exclude(name__endswith=".fifo").order_by("name").values_list("name", flat=True)
    topics = sandbox.sns_topics.exclude(name__endswith=".fifo").order_by("name").values_list("name", flat=True)
    return [
        *((f"arn:aws:lambda:{prefix}:function:{name}", f"Lambda function {name}") for name in functions),
        *((f"arn:aws:sqs:{prefix}:{name}", f"SQS queue {name}") for name in queues),
        *((f"arn:aws:sns:{prefix}:{name}", f"SNS topic {name}") for name in topics),
    ]


@login_required
@require_POST
def bucket_notification_remove(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    bucket_row = _own_bucket(sandbox, bucket)
    target_id = request.POST.get("id", "")
    configuration = {
        name: [entry for entry in value if entry.get("Id") != target_id] if isinstance(value, list) else value
        for name, value in bucket_row.notification.items()
    }
    backend.put_bucket_notification_configuration(sandbox=sandbox, name=bucket, configuration=configuration)
    messages.success(request, "Notification removed.")
    return redirect("s3:notifications", sandbox.pk, bucket)


# --- objects -----------------------------------------------------------------------------------


@login_required
@require_POST
def object_upload(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    """One file per request (the page's script sends them one by one, with progress); JSON back."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"error": " ".join(e for errs in form.errors.values() for e in errs)}, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > settings.LAB_MAX_REQUEST_BYTES:
        limit = settings.LAB_MAX_REQUEST_BYTES // (1024 * 1024)
        return JsonResponse(
            {"error": f"The console uploads files up to {limit} MiB; use aws s3 cp for bigger ones."}, status=413
        )
    key = form.cleaned_data["prefix"] + upload.name
    content_type = upload.content_type or mimetypes.guess_type(upload.name)[0] or ""
    if content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(upload.name)[0] or content_type
    try:
        obj = backend.put_object(
            sandbox=sandbox,
            bucket_name=bucket,
            key=key,
            body=upload.read(),
            fields=backend.ObjectFields(content_type=content_type),
        )
    except (exceptions.NoSuchBucket, exceptions.AccessDenied):
        raise Http404("No such bucket") from None
    except exceptions.S3Error as error:
        return JsonResponse({"error": error.message, "code": error.code}, status=error.status)
    return JsonResponse({"key": obj.key, "size": obj.size, "etag": obj.etag}, status=201)


def _detail_context(sandbox: Sandbox, bucket: str, key: str, version_id: str | None) -> dict[str, object]:
    try:
        detail = selectors.object_detail(sandbox=sandbox, bucket_name=bucket, key=key, version_id=version_id)
    except exceptions.S3Error as error:  # NoSuchBucket, AccessDenied, NoSuchKey, a delete marker's version
        raise Http404(error.message) from None
    return {
        "sandbox": sandbox,
        "bucket": detail.bucket,
        "detail": detail,
        "obj": detail.obj,
        "preview": selectors.preview(detail.obj) if detail.obj else None,
        "version_id": version_id,
        "raw_url": _object_url("s3:object-raw", sandbox, bucket, key, version_id),
        "download_url": _object_url("s3:object-download", sandbox, bucket, key, version_id),
        "delete_url": _object_url("s3:object-delete", sandbox, bucket, key),
        "key": key,
    }


@login_required
@require_GET
def object_detail(request: HtmxHttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    key, version_id = _object_key(request)
    return render(request, "s3/object_detail.html", _detail_context(sandbox, bucket, key, version_id))


@login_required
@require_GET
def object_download(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    key, version_id = _object_key(request)
    obj = _get_object(sandbox, bucket, key, version_id)
    filename = key.rsplit("/", 1)[-1] or "download"
    response = FileResponse(
        selectors.open_object(obj),
        as_attachment=True,
        filename=filename,
        content_type=obj.content_type or "binary/octet-stream",
    )
    response["Content-Length"] = str(obj.size)
    response["ETag"] = f'"{obj.etag}"'
    return _untrusted_bytes(response)


@login_required
@require_GET
def object_raw(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    """The bytes of a raster image, for the preview's ``<img>``; anything else is a 404 here."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    key, version_id = _object_key(request)
    obj = _get_object(sandbox, bucket, key, version_id)
    content_type = selectors.effective_content_type(obj)
    if content_type not in selectors.SAFE_IMAGE_TYPES:
        raise Http404("Only images are previewed as bytes")
    response = FileResponse(selectors.open_object(obj), content_type=content_type)
    response["Content-Length"] = str(obj.size)
    return _untrusted_bytes(response)


@login_required
@require_http_methods(["GET", "POST"])
def object_delete(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    key, _ = _object_key(request)
    obj = _get_object(sandbox, bucket, key, None)
    parent = key[: key.rfind("/") + 1]
    if request.method == "POST":
        outcome = backend.delete_object(sandbox=sandbox, bucket_name=bucket, key=key)
        if outcome.delete_marker:
            messages.success(
                request, f"{key} deleted. Versioning is on, so S3 kept its versions behind a delete marker."
            )
        else:
            messages.success(request, f"{key} deleted.")
        url = reverse("s3:bucket", args=[sandbox.pk, bucket])
        return redirect(f"{url}?{urlencode({'prefix': parent})}" if parent else url)
    return render(
        request,
        "s3/object_delete.html",
        {"sandbox": sandbox, "bucket": obj.bucket, "obj": obj, "crumbs": selectors.breadcrumbs(parent)},
    )


@login_required
@require_POST
def object_restore(request: HttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    """Undelete a key of a versioned bucket: delete its delete marker, as S3 users do."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    key, _ = _object_key(request)
    marker = selectors.latest_delete_marker(_own_bucket(sandbox, bucket), key)
    if marker is not None:
        backend.delete_object(sandbox=sandbox, bucket_name=bucket, key=key, version_id=marker.version_id)
        messages.success(request, f"{key} restored: its delete marker was removed, so the previous version is current.")
    return redirect(_object_url("s3:object", sandbox, bucket, key))


@login_required
@require_POST
def object_presign(request: HtmxHttpRequest, sandbox_id: int, bucket: str) -> HttpResponse:
    """A presigned GET link for one hour, signed with the sandbox's keys against this site's endpoint."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    key, version_id = _object_key(request)
    obj = _get_object(sandbox, bucket, key, version_id)
    client = boto3.client(
        "s3",
        endpoint_url=request.build_absolute_uri("/" + settings.AWS_ENDPOINT_PREFIX),
        region_name=obj.bucket.region or sandbox.region,
        aws_access_key_id=sandbox.access_key_id,
        aws_secret_access_key=sandbox.secret_access_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    params = {"Bucket": bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
    url = client.generate_presigned_url("get_object", Params=params, ExpiresIn=PRESIGN_SECONDS)
    if request.htmx:
        return render(request, "s3/object_detail.html#presign-panel", {"presigned_url": url})
    return render(
        request, "s3/object_detail.html", _detail_context(sandbox, bucket, key, version_id) | {"presigned_url": url}
    )
