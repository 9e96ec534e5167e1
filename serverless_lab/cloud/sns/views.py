"""The SNS console: topics, publishing, subscriptions and their filter policies, the filter-policy
tester, and the simulated email / SMS / webhook inboxes, over the backend boto3 reaches through /aws/."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serverless_lab.cloud.sqs import selectors as sqs_selectors
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.selectors import own_sandbox_or_404
from serverless_lab.web.http import HtmxHttpRequest

from . import backend, exceptions, filter_policy, selectors
from .forms import FilterTestForm, PublishForm, SubscribeForm, SubscriptionEditForm, TopicCreateForm, pretty_policy
from .models import Subscription, Topic


def _own_topic(sandbox: Sandbox, name: str) -> Topic:
    try:
        return selectors.get_topic(sandbox=sandbox, name=name)
    except exceptions.NotFound:
        raise Http404("No such topic") from None


def _own_subscription(sandbox: Sandbox, subscription_id: str) -> Subscription:
    try:
        return selectors.get_subscription(sandbox=sandbox, subscription_id=subscription_id)
    except exceptions.NotFound:
        raise Http404("No such subscription") from None


# --- topics ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def topic_list(request: HttpRequest, sandbox_id: int) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    form = TopicCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            backend.create_topic(sandbox=sandbox, name=name, attributes=form.attributes(), tags={})
        except exceptions.SnsError as error:
            form.add_error(
                "name" if "Topic Name" in error.message or "Fifo Topic" in error.message else None, error.message
            )
        else:
            messages.success(request, f"Topic {name} created.")
            return redirect("sns:topic", sandbox.pk, name)
    context = {
        "sandbox": sandbox,
        "topics": selectors.topic_rows(sandbox=sandbox),
        "form": form,
        "inbox_count": sandbox.sns_inbox.count(),
    }
    return render(request, "sns/topic_list.html", context, status=400 if form.errors else 200)


def _topic_context(sandbox: Sandbox, topic: Topic) -> dict[str, object]:
    return {
        "sandbox": sandbox,
        "topic": topic,
        "topic_arn": backend.topic_arn_of(topic),
        "subscriptions": selectors.subscription_rows(topic),
        "publish_form": PublishForm(fifo=topic.fifo),
        "subscribe_form": SubscribeForm(),
        "suggestions": selectors.endpoint_suggestions(sandbox=sandbox),
    }


@login_required
@require_GET
def topic_detail(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    return render(request, "sns/topic_detail.html", _topic_context(sandbox, _own_topic(sandbox, name)))


@login_required
@require_http_methods(["GET", "POST"])
def topic_delete(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    topic = _own_topic(sandbox, name)
    if request.method == "POST":
        backend.delete_topic(sandbox=sandbox, arn=backend.topic_arn_of(topic))
        messages.success(request, f"Topic {name} and its subscriptions deleted.")
        return redirect("sns:topics", sandbox.pk)
    return render(
        request, "sns/topic_delete.html", {"sandbox": sandbox, "topic": topic, "count": topic.subscriptions.count()}
    )


@login_required
@require_POST
def topic_publish(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    topic = _own_topic(sandbox, name)
    form = PublishForm(request.POST, fifo=topic.fifo)
    published = None
    if form.is_valid():
        data = form.cleaned_data
        outgoing = backend.Outgoing(
            message=data["message"],
            subject=data["subject"] or None,
            structure="json" if data["structure_json"] else None,
            attributes=data["attributes"],
            group_id=data.get("group_id") or None,
            dedup_id=data.get("dedup_id") or None,
        )
        try:
            published = backend.publish(
                sandbox=sandbox, topic_arn=backend.topic_arn_of(topic), phone_number=None, message=outgoing
            )
        except exceptions.SnsError as error:
            form.add_error(None, f"{error.code}: {error.message}")
    if published is not None and not request.htmx:
        messages.success(request, f"Message {published.message_id} published.")  # type: ignore[union-attr]
        return redirect("sns:topic", sandbox.pk, name)
    context = {
        "sandbox": sandbox,
        "topic": topic,
        "publish_form": PublishForm(fifo=topic.fifo) if published else form,
        "published": published,
    }
    status = 400 if form.errors else 200
    if request.htmx:
        return render(request, "sns/topic_detail.html#publish-panel", context, status=status)
    return render(request, "sns/topic_detail.html", _topic_context(sandbox, topic) | context, status=status)


# --- subscriptions -----------------------------------------------------------------------------


@login_required
@require_POST
def topic_subscribe(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    topic = _own_topic(sandbox, name)
    form = SubscribeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            subscription = backend.subscribe(
                sandbox=sandbox,
                topic_arn=backend.topic_arn_of(topic),
                protocol=data["protocol"],
                endpoint=data["endpoint"],
                attributes=form.attributes(),
            )
        except exceptions.SnsError as error:
            field = "filter_policy" if "FilterPolicy" in error.message else None
            field = "endpoint" if field is None and "ndpoint" in error.message else field
            form.add_error(field, error.message)
        else:
            if subscription.confirmed:
                messages.success(request, f"Subscribed {subscription.endpoint}.")
            else:
                messages.info(
                    request,
                    f"Subscription to {subscription.endpoint} is pending: SNS sent a confirmation to the inbox. "
                    "Open it and confirm.",
                )
            return redirect("sns:topic", sandbox.pk, name)
    context = _topic_context(sandbox, topic) | {"subscribe_form": form}
    return render(request, "sns/topic_detail.html", context, status=400)


@login_required
@require_POST
def subscription_delete(request: HttpRequest, sandbox_id: int, subscription_id: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    subscription = _own_subscription(sandbox, subscription_id)
    backend.unsubscribe(sandbox=sandbox, arn=backend.subscription_arn_of(subscription))
    messages.success(request, f"Unsubscribed {subscription.endpoint}.")
    return redirect("sns:topic", sandbox.pk, subscription.topic.name)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_edit(request: HttpRequest, sandbox_id: int, subscription_id: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    subscription = _own_subscription(sandbox, subscription_id)
    attributes = subscription.attributes
    initial = {
        "policy": pretty_policy(attributes["FilterPolicy"]) if attributes.get("FilterPolicy") else "",
        "scope": attributes.get("FilterPolicyScope") or "MessageAttributes",
        "raw": attributes.get("RawMessageDelivery") == "true",
        "dead_letter_queue": selectors.subscription_dead_letter_queue(subscription),
    }
    form = SubscriptionEditForm(
        request.POST or None,
        initial=initial,
        protocol=subscription.protocol,
        dlq_choices=selectors.dead_letter_choices(sandbox=sandbox),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            selectors.update_subscription(
                sandbox=sandbox,
                subscription=subscription,
                policy=data["policy"].strip(),
                scope=data["scope"],
                raw=data["raw"] if "raw" in form.fields else None,
                dlq_arn=data["dead_letter_queue"],
            )
        except exceptions.SnsError as error:
            form.add_error("policy" if "FilterPolicy" in error.message else None, error.message)
        else:
            messages.success(request, f"Subscription {subscription.endpoint} saved.")
            return redirect("sns:topic", sandbox.pk, subscription.topic.name)
    context = {"sandbox": sandbox, "topic": subscription.topic, "subscription": subscription, "form": form}
    return render(request, "sns/subscription_edit.html", context, status=400 if form.errors else 200)


# --- the filter-policy tester -----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def filter_tester(request: HtmxHttpRequest, sandbox_id: int) -> HttpResponse:
    """Explain, key by key, whether a message would pass a filter policy (a subscription's, or typed in)."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    initial = {}
    subscription = None
    if request.GET.get("subscription"):
        subscription = _own_subscription(sandbox, request.GET["subscription"])
        if subscription.attributes.get("FilterPolicy"):
            initial["policy"] = pretty_policy(subscription.attributes["FilterPolicy"])
        initial["scope"] = subscription.attributes.get("FilterPolicyScope") or "MessageAttributes"
    form = FilterTestForm(request.POST or None, initial=initial)
    explanation = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            explanation = filter_policy.explain_message(
                data["policy"], data["scope"], attributes=data["attributes"], body=data["body"]
            )
        except filter_policy.FilterPolicyError as error:
            form.add_error("policy", f"Invalid parameter: FilterPolicy: {error}")
    context = {"sandbox": sandbox, "form": form, "explanation": explanation, "subscription": subscription}
    status = 400 if form.errors else 200
    if request.htmx:
        return render(request, "sns/filter_tester.html#tester-panel", context, status=status)
    return render(request, "sns/filter_tester.html", context, status=status)


# --- inboxes -----------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request: HtmxHttpRequest, sandbox_id: int) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    box = request.GET.get("box", "")
    box = box if box in selectors.INBOX_PROTOCOLS else ""
    rows = selectors.inbox_rows(sandbox=sandbox, box=box)
    context = {
        "sandbox": sandbox,
        "box": box,
        "rows": rows,
        "version": sqs_selectors.version(rows),
        "webhook_url": selectors.webhook_url(sandbox),
        "boxes": [("", "All"), ("email", "Email"), ("sms", "SMS"), ("webhook", "Webhooks")],
    }
    if request.htmx and request.htmx.target == "inbox-list":
        if request.GET.get("v") == context["version"]:
            return HttpResponse(status=204)  # nothing new: htmx leaves the list (and the reader) alone
        return render(request, "sns/inbox.html#inbox-list", context)
    return render(request, "sns/inbox.html", context)


@login_required
@require_GET
def webhook(request: HttpRequest, sandbox_id: int) -> HttpResponse:
    """The sandbox's webhook URL, opened in a browser: what arrived there is in the webhook inbox."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    return redirect(f"{reverse('sns:inbox', args=[sandbox.pk])}?box=webhook")


@login_required
@require_POST
def inbox_confirm(request: HttpRequest, sandbox_id: int, message_id: int) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    try:
        subscription = selectors.confirm_from_inbox(sandbox=sandbox, message_id=message_id)
    except exceptions.NotFound as error:
        if error.message == "No such subscription confirmation":
            raise Http404(error.message) from None
        messages.error(request, "The topic of this confirmation no longer exists.")
    except exceptions.SnsError:
        messages.error(request, "This subscription no longer exists: the token is not valid any more.")
    else:
        messages.success(
            request, f"Subscription confirmed: {subscription.endpoint} now receives {subscription.topic.name}."
        )
    box = request.POST.get("box", "")
    url = reverse("sns:inbox", args=[sandbox.pk])
    return redirect(f"{url}?box={box}" if box in selectors.INBOX_PROTOCOLS else url)
