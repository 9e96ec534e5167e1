"""The SQS console: server-rendered pages over the same backend boto3 reaches through /aws/.

Polling receives messages for real (they go in flight for the visibility timeout, their receive
count goes up), exactly as a consumer's ReceiveMessage would; the console is one more consumer.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.selectors import own_sandbox_or_404
from serverless_lab.web.http import HtmxHttpRequest

from . import backend, exceptions, logic, selectors
from .forms import DeleteMessagesForm, PollForm, QueueCreateForm, QueueSettingsForm, SendMessageForm
from .models import Queue

DEPTH_CHANGED = "sqs-depth-changed"  # tells the depth panel to refresh now


def _own_queue(sandbox: Sandbox, name: str) -> Queue:
    try:
        return selectors.get_queue(sandbox=sandbox, name=name)
    except exceptions.QueueDoesNotExist:
        raise Http404("No such queue") from None


# --- queues ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def queue_list(request: HtmxHttpRequest, sandbox_id: int) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    form = QueueCreateForm(request.POST or None, dlq_choices=selectors.queue_choices(sandbox=sandbox))
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            backend.create_queue(
                sandbox=sandbox,
                name=name,
                attributes=form.create_attributes(form.cleaned_data["dead_letter_queue"]),
                tags={},
            )
        except exceptions.QueueAlreadyExists:
            form.add_error("name", f"A queue called {name} already exists with other settings.")
        except exceptions.SqsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Queue {name} created.")
            return redirect("sqs:queue", sandbox.pk, name)
    queues = selectors.queue_rows(sandbox=sandbox)
    context = {"sandbox": sandbox, "queues": queues, "form": form, "version": selectors.version(queues)}
    if request.htmx and request.htmx.target == "queue-table":
        if request.GET.get("v") == context["version"]:
            return HttpResponse(status=204)  # nothing changed: htmx swaps nothing
        return render(request, "sqs/queue_list.html#queue-table", context)
    return render(request, "sqs/queue_list.html", context, status=400 if form.errors else 200)


def _detail_context(sandbox: Sandbox, name: str) -> dict[str, object]:
    try:
        detail = selectors.queue_detail(sandbox=sandbox, name=name)
    except exceptions.QueueDoesNotExist:
        raise Http404("No such queue") from None
    selectors.record_depth(detail.queue, detail.depth)
    return {
        "sandbox": sandbox,
        "queue": detail.queue,
        "detail": detail,
        "depth": detail.depth,
        "chart": selectors.depth_chart(detail.queue),
        "poll_seconds": selectors.POLL_SECONDS,
        "send_form": SendMessageForm(fifo=detail.queue.fifo),
        "poll_form": PollForm(),
    }


@login_required
@require_GET
def queue_detail(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    return render(request, "sqs/queue_detail.html", _detail_context(sandbox, name))


@login_required
@require_GET
def queue_depth(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """The depth panel, polled by the queue page: also where depth samples are recorded."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    current = selectors.depth(queue)
    selectors.record_depth(queue, current)
    context = {
        "sandbox": sandbox,
        "queue": queue,
        "depth": current,
        "chart": selectors.depth_chart(queue),
        "poll_seconds": selectors.POLL_SECONDS,
    }
    return render(request, "sqs/queue_detail.html#depth-panel", context)


@login_required
@require_http_methods(["GET", "POST"])
def queue_purge(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    if request.method == "POST":
        backend.purge_queue(sandbox=sandbox, queue_url=backend.queue_url(queue))
        messages.success(request, f"Queue {name} purged: every message in it is gone.")
        return redirect("sqs:queue", sandbox.pk, name)
    return render(
        request,
        "sqs/queue_confirm.html",
        {"sandbox": sandbox, "queue": queue, "action": "purge", "depth": selectors.depth(queue)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def queue_delete(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    if request.method == "POST":
        backend.delete_queue(sandbox=sandbox, queue_url=backend.queue_url(queue))
        messages.success(request, f"Queue {name} deleted.")
        return redirect("sqs:queues", sandbox.pk)
    return render(
        request,
        "sqs/queue_confirm.html",
        {"sandbox": sandbox, "queue": queue, "action": "delete", "depth": selectors.depth(queue)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def queue_settings(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """Edit a queue's settable attributes (SetQueueAttributes)."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    arn = backend.queue_arn_of(queue)
    choices = [choice for choice in selectors.queue_choices(sandbox=sandbox) if choice[0] != arn]
    form = QueueSettingsForm(
        request.POST or None, dlq_choices=choices, fifo=queue.fifo, initial=selectors.settings_initial(queue)
    )
    if request.method == "POST" and form.is_valid():
        try:
            backend.set_queue_attributes(
                sandbox=sandbox,
                queue_url=backend.queue_url(queue),
                attributes=form.attributes(form.cleaned_data["dead_letter_queue"], fifo=queue.fifo),
            )
        except exceptions.SqsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Settings of {name} saved.")
            return redirect("sqs:queue", sandbox.pk, name)
    context = {"sandbox": sandbox, "queue": queue, "form": form}
    return render(request, "sqs/queue_settings.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def queue_redrive(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """Move a dead-letter queue's messages back to the queue they came from (StartMessageMoveTask)."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    try:
        _, moved = backend.start_message_move_task(
            sandbox=sandbox, source_arn=backend.queue_arn_of(queue), destination_arn=None
        )
    except exceptions.SqsError as error:
        messages.error(request, f"Redrive failed: {error.message}")
    else:
        messages.success(request, f"Redrive done: {moved} message(s) moved back from {name}.")
    return redirect("sqs:queue", sandbox.pk, name)


# --- messages ----------------------------------------------------------------------------------


@login_required
@require_POST
def message_send(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    form = SendMessageForm(request.POST, fifo=queue.fifo)
    sent = None
    if form.is_valid():
        data = form.cleaned_data
        outgoing = backend.Outgoing(
            body=data["body"],
            attributes=data["attributes"],
            delay_seconds=data.get("delay_seconds"),
            group_id=data.get("group_id") or None,
            dedup_id=data.get("dedup_id") or None,
        )
        try:
            sent = backend.send_message(sandbox=sandbox, queue_url=backend.queue_url(queue), message=outgoing)
        except exceptions.SqsError as error:
            form.add_error(None, f"{error.code}: {error.message}")
    if sent is not None and not request.htmx:
        messages.success(request, f"Message {sent.message_id} sent.")
        return redirect("sqs:queue", sandbox.pk, name)
    context = {
        "sandbox": sandbox,
        "queue": queue,
        "send_form": SendMessageForm(fifo=queue.fifo) if sent else form,
        "sent": sent,
    }
    if not request.htmx:
        return render(request, "sqs/queue_detail.html", _detail_context(sandbox, name) | context, status=400)
    response = render(request, "sqs/queue_detail.html#send-panel", context, status=400 if form.errors else 200)
    return trigger_client_event(response, DEPTH_CHANGED) if sent else response


@login_required
@require_POST
def message_poll(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """Receive up to 10 messages, as a consumer would, and show them with delete checkboxes."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    form = PollForm(request.POST)
    polled = None
    until_ms = seconds_left = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            _, received = backend.receive_message(
                sandbox=sandbox,
                queue_url=backend.queue_url(queue),
                max_number=data["max_messages"],
                visibility_timeout=data["visibility_timeout"],
            )
        except exceptions.SqsError as error:
            form.add_error(None, error.message)
        else:
            polled = selectors.polled_messages(received)
            now = backend.now_ms()
            until_ms = data["until_ms"] or now + data["wait_seconds"] * 1000
            if polled or now >= until_ms or "stop" in request.POST or not request.htmx:
                until_ms = None
            else:
                seconds_left = -(-(until_ms - now) // 1000)
    context = {
        "sandbox": sandbox,
        "queue": queue,
        "poll_form": form,
        "polled": polled,
        "until_ms": until_ms,
        "seconds_left": seconds_left,
    }
    if request.htmx:
        response = render(request, "sqs/queue_detail.html#poll-panel", context, status=400 if form.errors else 200)
        return trigger_client_event(response, DEPTH_CHANGED) if polled else response
    return render(
        request, "sqs/queue_detail.html", _detail_context(sandbox, name) | context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def message_delete(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """Delete the ticked polled messages by their receipt handles (DeleteMessageBatch)."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    queue = _own_queue(sandbox, name)
    form = DeleteMessagesForm(request.POST)
    deleted: list[str] = []
    failures: list[str] = []
    if form.is_valid():
        handles = form.cleaned_data["handles"]
        entries = [(f"m{i}", handle) for i, handle in enumerate(handles)]
        done, failed = backend.delete_message_batch(
            sandbox=sandbox, queue_url=backend.queue_url(queue), entries=entries
        )
        by_id = dict(entries)
        for entry_id in done:
            parsed = logic.parse_receipt_handle(by_id[entry_id])
            if parsed is not None:
                deleted.append(parsed[1])
        failures = [error.message for _, error in failed]
    errors = [e for errs in form.errors.values() for e in errs]
    if not request.htmx:
        if deleted:
            messages.success(request, f"{len(deleted)} message(s) deleted.")
        for text in errors + failures:
            messages.error(request, text)
        return redirect("sqs:queue", sandbox.pk, name)
    context = {"deleted": deleted, "failures": failures, "errors": errors}
    response = render(request, "sqs/_delete_result.html", context, status=400 if errors else 200)
    return trigger_client_event(response, DEPTH_CHANGED) if deleted else response
