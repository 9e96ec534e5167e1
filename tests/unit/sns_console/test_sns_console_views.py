"""The SNS console's views through the Django test client: ownership, forms, htmx partials, inboxes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.urls import reverse

from serverless_lab.cloud.sns import backend
from serverless_lab.cloud.sns.models import InboxMessage, Subscription, Topic
from serverless_lab.cloud.sqs import backend as sqs_backend

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice(client: Any, cast: Any) -> Any:
    client.force_login(cast.alice)
    return client


def url(name: str, cast: Any, *args: Any) -> str:
    return reverse(name, args=[cast.sandbox.pk, *args])


def make_topic(cast: Any, name: str = "events", **attributes: str) -> Topic:
    return backend.create_topic(sandbox=cast.sandbox, name=name, attributes=attributes, tags={})


def subscribe(cast: Any, topic: Topic, protocol: str, endpoint: str, **attributes: str) -> Subscription:
    return backend.subscribe(
        sandbox=cast.sandbox,
        topic_arn=backend.topic_arn_of(topic),
        protocol=protocol,
        endpoint=endpoint,
        attributes=attributes,
    )


def test_pages_need_a_login(client, cast):
    response = client.get(url("sns:topics", cast))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_charlie_gets_a_404_for_alices_console(client, cast):
    topic = make_topic(cast)
    sub = subscribe(cast, topic, "email", "alice@example.com")
    [confirmation] = InboxMessage.objects.all()
    client.force_login(cast.charlie)
    for name, method, args in [
        ("sns:topics", "get", []),
        ("sns:topics", "post", []),
        ("sns:topic", "get", ["events"]),
        ("sns:publish", "post", ["events"]),
        ("sns:subscribe", "post", ["events"]),
        ("sns:topic-delete", "post", ["events"]),
        ("sns:subscription", "post", [sub.subscription_id]),
        ("sns:unsubscribe", "post", [sub.subscription_id]),
        ("sns:filter-tester", "get", []),
        ("sns:inbox", "get", []),
        ("sns:confirm", "post", [confirmation.pk]),
    ]:
        response = getattr(client, method)(url(name, cast, *args), {"message": "x", "name": "evil"})
        assert response.status_code == 404, name
    assert Topic.objects.count() == 1 and not Subscription.objects.get().confirmed


def test_alice_cannot_reach_a_subscription_of_another_sandbox_through_her_own(alice, cast):
    from serverless_lab.sandboxes.services import sandbox_create

    other = sandbox_create(owner=cast.charlie, name="charlie-sandbox")
    topic = backend.create_topic(sandbox=other, name="theirs", attributes={}, tags={})
    sub = backend.subscribe(
        sandbox=other, topic_arn=backend.topic_arn_of(topic), protocol="sms", endpoint="+15555550100", attributes={}
    )
    assert alice.post(url("sns:unsubscribe", cast, sub.subscription_id)).status_code == 404
    assert alice.get(url("sns:subscription", cast, "not-a-uuid")).status_code == 404
    assert Subscription.objects.filter(pk=sub.pk).exists()


def test_the_empty_list_invites_a_first_topic(alice, cast):
    response = alice.get(url("sns:topics", cast))
    assert response.status_code == 200 and "No topics yet" in response.content.decode()


@pytest.mark.parametrize(
    "data,field,text",
    [
        ({"name": "bad name!", "kind": "standard"}, "name", "Topic Name"),
        ({"name": "jobs", "kind": "fifo"}, "name", "must end in .fifo"),
        ({"name": "jobs.fifo", "kind": "standard"}, "kind", "FIFO topics"),
        ({"name": "", "kind": "standard"}, "name", "required"),
    ],
)
def test_bad_topic_settings_are_form_errors(alice, cast, data, field, text):
    response = alice.post(url("sns:topics", cast), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert text in " ".join(errors.get(field, []) + errors.get("__all__", []))
    assert not Topic.objects.exists()


def test_it_creates_a_fifo_topic(alice, cast):
    response = alice.post(url("sns:topics", cast), {"name": "orders.fifo", "kind": "fifo", "content_dedup": "on"})
    assert response.status_code == 302
    topic = Topic.objects.get()
    assert topic.fifo and topic.attributes == {"ContentBasedDeduplication": "true"}


def test_subscribe_a_queue_with_a_filter_policy_and_bad_subscriptions_are_form_errors(alice, cast):
    make_topic(cast)
    queue = sqs_backend.create_queue(sandbox=cast.sandbox, name="inbox", attributes={}, tags={})
    arn = sqs_backend.queue_arn_of(queue)
    response = alice.post(
        url("sns:subscribe", cast, "events"),
        {
            "protocol": "sqs",
            "endpoint": arn,
            "filter_policy": '{"color": ["red"]}',
            "filter_scope": "MessageAttributes",
        },
    )
    assert response.status_code == 302
    sub = Subscription.objects.get()
    assert sub.confirmed and sub.attributes["FilterPolicy"] == '{"color": ["red"]}'
    page = alice.get(url("sns:topic", cast, "events")).content.decode()
    assert reverse("sqs:queue", args=[cast.sandbox.pk, "inbox"]) in page and "&quot;color&quot;" in page

    for data, field, text in [
        ({"protocol": "http", "endpoint": "http://169.254.169.254/latest"}, "endpoint", "only to its own URLs"),
        ({"protocol": "sms", "endpoint": "12345"}, "endpoint", "Invalid SMS endpoint"),
        ({"protocol": "sqs", "endpoint": arn, "filter_policy": '{"a": []}'}, "filter_policy", "Empty arrays"),
        ({"protocol": "carrier-pigeon", "endpoint": "x"}, "protocol", "valid choice"),
    ]:
        response = alice.post(url("sns:subscribe", cast, "events"), data | {"filter_scope": "MessageAttributes"})
        assert response.status_code == 400
        assert text in " ".join(response.context["subscribe_form"].errors.get(field, [])), (data, field)
    assert Subscription.objects.count() == 1


def test_publish_returns_the_panel_and_form_errors_as_partials(alice, cast):
    make_topic(cast)
    response = alice.post(
        url("sns:publish", cast, "events"),
        {
            "message": "hello",
            "subject": "Hi",
            "attr_name_1": "tags",
            "attr_type_1": "String.Array",
            "attr_value_1": '["a", "b"]',
        },
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Published message" in body and "<html" not in body
    response = alice.post(url("sns:publish", cast, "events"), {"message": "not json", "structure_json": "on"}, **HTMX)
    assert response.status_code == 400 and "JSON message body failed to parse" in response.content.decode()
    response = alice.post(
        url("sns:publish", cast, "events"),
        {"message": "x", "attr_name_1": "n", "attr_type_1": "Number", "attr_value_1": "many"},
        **HTMX,
    )
    assert response.status_code == 400 and "Could not cast message attribute" in response.content.decode()


def test_fifo_topics_need_a_group_id(alice, cast):
    make_topic(cast, "orders.fifo", FifoTopic="true", ContentBasedDeduplication="true")
    response = alice.post(url("sns:publish", cast, "orders.fifo"), {"message": "x"}, **HTMX)
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    response = alice.post(url("sns:publish", cast, "orders.fifo"), {"message": "x", "group_id": "g"}, **HTMX)
    assert response.status_code == 200 and "sequence number" in response.content.decode()


def test_set_and_clear_a_filter_policy(alice, cast):
    topic = make_topic(cast)
    sub = subscribe(cast, topic, "sms", "+15555550100")
    target = url("sns:subscription", cast, sub.subscription_id)
    response = alice.post(target, {"policy": '{"order": {"total": [{"numeric": [">", 100]}]}}', "scope": "MessageBody"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.attributes["FilterPolicyScope"] == "MessageBody" and "total" in sub.attributes["FilterPolicy"]
    response = alice.post(target, {"policy": '{"order": {"total": [1]}}', "scope": "MessageAttributes"})
    assert response.status_code == 400 and "must be an object or an array" in response.content.decode()
    sub.refresh_from_db()
    assert sub.attributes["FilterPolicyScope"] == "MessageBody"  # nothing half-saved
    assert alice.post(target, {"policy": "", "scope": "MessageAttributes"}).status_code == 302
    sub.refresh_from_db()
    assert "FilterPolicy" not in sub.attributes


def test_the_filter_tester_explains_a_non_match(alice, cast):
    topic = make_topic(cast)
    sub = subscribe(cast, topic, "sms", "+15555550100", FilterPolicy='{"color": ["red"]}')
    page = alice.get(url("sns:filter-tester", cast) + f"?subscription={sub.subscription_id}")
    assert "&quot;color&quot;" in page.content.decode()
    response = alice.post(
        url("sns:filter-tester", cast),
        {
            "policy": '{"color": ["red"]}',
            "scope": "MessageAttributes",
            "attr_name_1": "color",
            "attr_type_1": "String",
            "attr_value_1": "Red",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Filtered out" in html and "case matters" in html
    response = alice.post(url("sns:filter-tester", cast), {"policy": "{nope", "scope": "MessageAttributes"}, **HTMX)
    assert response.status_code == 400 and "FilterPolicy: failed to parse JSON" in response.content.decode()
    response = alice.post(url("sns:filter-tester", cast), {"policy": '{"a": ["b"]}', "scope": "MessageBody"}, **HTMX)
    assert response.status_code == 400 and "give a JSON message body" in response.content.decode()


def test_the_inbox_shows_a_confirmation_and_confirms_it(alice, cast):
    topic = make_topic(cast)
    subscribe(cast, topic, "email", "alice@example.com")
    response = alice.get(url("sns:inbox", cast) + "?box=email")
    html = response.content.decode()
    assert "Confirm the subscription" in html and "SubscribeURL" in html
    assert alice.get(url("sns:inbox", cast) + "?box=sms").content.decode().count("Confirm the subscription") == 0
    partial = alice.get(url("sns:inbox", cast), HTTP_HX_TARGET="inbox-list", **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="inbox-list"')
    version = re.search(r"v=([0-9a-f]+)", partial).group(1)
    unchanged = alice.get(url("sns:inbox", cast) + f"?v={version}", HTTP_HX_TARGET="inbox-list", **HTMX)
    assert unchanged.status_code == 204

    [message] = InboxMessage.objects.all()
    response = alice.post(url("sns:confirm", cast, message.pk), {"box": "email"}, follow=True)
    assert "Subscription confirmed" in response.content.decode()
    assert Subscription.objects.get().confirmed


def test_confirming_after_the_topic_is_gone_is_a_message_not_a_500(alice, cast):
    topic = make_topic(cast)
    subscribe(cast, topic, "http", f"{_lab_url()}/sandboxes/{cast.sandbox.pk}/sns/webhook")
    [message] = InboxMessage.objects.all()
    backend.delete_topic(sandbox=cast.sandbox, arn=backend.topic_arn_of(topic))
    response = alice.post(url("sns:confirm", cast, message.pk), follow=True)
    assert response.status_code == 200 and "no longer exists" in response.content.decode()


def _lab_url() -> str:
    from django.conf import settings

    return settings.LAB_PUBLIC_URL


def test_the_webhook_url_opens_the_webhook_inbox(alice, cast):
    response = alice.get(url("sns:webhook", cast))
    assert response.status_code == 302 and response["Location"].endswith("?box=webhook")


def test_unsubscribe_and_delete_topic(alice, cast):
    topic = make_topic(cast)
    sub = subscribe(cast, topic, "sms", "+15555550100")
    assert alice.post(url("sns:unsubscribe", cast, sub.subscription_id)).status_code == 302
    assert not Subscription.objects.exists()
    assert "cannot be undone" in alice.get(url("sns:topic-delete", cast, "events")).content.decode()
    assert alice.post(url("sns:topic-delete", cast, "events")).status_code == 302
    assert not Topic.objects.exists()


def test_published_sms_lands_in_the_sms_inbox(alice, cast, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    topic = make_topic(cast)
    subscribe(cast, topic, "sms", "+15555550100")
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        alice.post(url("sns:publish", cast, "events"), {"message": "Your code is 1234"}, **HTMX)
    html = alice.get(url("sns:inbox", cast) + "?box=sms").content.decode()
    assert "Your code is 1234" in html and "SMS to" in html
    assert InboxMessage.objects.get().body == "Your code is 1234"


@pytest.mark.parametrize(
    "data,text",
    [
        ({"message": ""}, "This field is required"),
        ({"message": "x", "subject": "two\nlines"}, "Invalid parameter: Subject"),
        ({"message": "x" * 262_144 + "é"}, "Ensure this value has at most"),
        ({"message": "é" * 140_000}, "Message too long"),
        ({"message": '{"sqs": "no default"}', "structure_json": "on"}, "No default entry"),
        ({"message": "x", "attr_name_1": "AWS.reserved", "attr_value_1": "v"}, "is invalid"),
        ({"message": "x", "attr_name_1": "tags", "attr_type_1": "String.Array", "attr_value_1": "[1"}, "invalid value"),
        ({"message": "x", "dedup_id": "d1"}, "Published message"),  # ignored on a standard topic: not a field
    ],
)
def test_bad_publish_input_is_a_form_error_never_a_500(alice, cast, data, text):
    make_topic(cast)
    response = alice.post(url("sns:publish", cast, "events"), data, **HTMX)
    assert response.status_code == (200 if text == "Published message" else 400)
    assert text in response.content.decode()


def test_edit_raw_delivery_and_the_dead_letter_queue_of_a_queue_subscription(alice, cast):
    topic = make_topic(cast)
    inbox = sqs_backend.create_queue(sandbox=cast.sandbox, name="inbox", attributes={}, tags={})
    dlq = sqs_backend.create_queue(sandbox=cast.sandbox, name="sns-dlq", attributes={}, tags={})
    sqs_backend.create_queue(sandbox=cast.sandbox, name="jobs.fifo", attributes={"FifoQueue": "true"}, tags={})
    sub = subscribe(cast, topic, "sqs", sqs_backend.queue_arn_of(inbox))
    target = url("sns:subscription", cast, sub.subscription_id)
    form = alice.get(target).context["form"]
    assert [name for _, name in form.fields["dead_letter_queue"].choices] == ["None", "inbox", "sns-dlq"]
    data = {"policy": "", "scope": "MessageAttributes", "raw": "on", "dead_letter_queue": sqs_backend.queue_arn_of(dlq)}
    assert alice.post(target, data).status_code == 302
    sub.refresh_from_db()
    assert sub.attributes["RawMessageDelivery"] == "true"
    assert json.loads(sub.attributes["RedrivePolicy"]) == {"deadLetterTargetArn": sqs_backend.queue_arn_of(dlq)}
    page = alice.get(url("sns:topic", cast, "events")).content.decode()
    assert "Raw delivery" in page and reverse("sqs:queue", args=[cast.sandbox.pk, "sns-dlq"]) in page
    assert alice.post(target, data | {"raw": "", "dead_letter_queue": ""}).status_code == 302
    sub.refresh_from_db()
    assert sub.attributes["RawMessageDelivery"] == "false" and not sub.attributes.get("RedrivePolicy")


def test_sms_subscriptions_have_no_raw_delivery_to_edit(alice, cast):
    sub = subscribe(cast, make_topic(cast), "sms", "+15555550100")
    form = alice.get(url("sns:subscription", cast, sub.subscription_id)).context["form"]
    assert "raw" not in form.fields
