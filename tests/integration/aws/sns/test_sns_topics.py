"""Topics and subscriptions over real HTTP: create/list/delete, attributes, tags, confirmation, errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from serverless_lab.cloud.sns.models import InboxMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_topics(sns, cast):
    arn = sns.create_topic(Name="orders", Tags=[{"Key": "team", "Value": "blue"}])["TopicArn"]
    assert arn == f"arn:aws:sns:{cast.sandbox.region}:{cast.sandbox.account_id}:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn
    fifo = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})[
        "TopicArn"
    ]
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [arn, fifo]
    attributes = sns.get_topic_attributes(TopicArn=fifo)["Attributes"]
    assert attributes["FifoTopic"] == "true" and attributes["ContentBasedDeduplication"] == "true"
    assert attributes["Owner"] == cast.sandbox.account_id and attributes["SubscriptionsConfirmed"] == "0"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Orders"
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    sns.delete_topic(TopicArn=fifo)
    with pytest.raises(ClientError) as excinfo:
        sns.get_topic_attributes(TopicArn=fifo)
    assert error_of(excinfo) == ("NotFound", "Topic does not exist")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.create_topic(Name="bad name")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.create_topic(Name="nofifo", Attributes={"FifoTopic": "true"})
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Colour", AttributeValue="red")


def test_subscriptions_and_confirmation(sns, make_queue, cast, live_lab):
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    _, queue_arn = make_queue("alerts-q")
    sqs_sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    assert sqs_sub.startswith(topic + ":")
    assert sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550100")["SubscriptionArn"].startswith(topic)
    assert (
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="alice@example.com")["SubscriptionArn"]
        == "pending confirmation"
    )
    hook = sns.subscribe(
        TopicArn=topic, Protocol="http", Endpoint=f"{live_lab.url}/hooks/alice", ReturnSubscriptionArn=True
    )
    assert hook["SubscriptionArn"].startswith(topic + ":")
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["SubscriptionArn"] == "pending confirmation") for s in listed] == [
        ("sqs", False),
        ("sms", False),
        ("email", True),
        ("http", True),
    ]
    assert len(sns.list_subscriptions()["Subscriptions"]) == 4
    confirmation = InboxMessage.objects.get(protocol="email", endpoint="alice@example.com")
    token = json.loads(confirmation.body)["Token"]
    assert json.loads(confirmation.body)["Type"] == "SubscriptionConfirmation"
    confirmed = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=confirmed)["Attributes"]["PendingConfirmation"] == "false"
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.confirm_subscription(TopicArn=topic, Token="wrong")

    sns.set_subscription_attributes(SubscriptionArn=sqs_sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.set_subscription_attributes(
        SubscriptionArn=sqs_sub, AttributeName="FilterPolicy", AttributeValue='{"kind": ["a"]}'
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=sqs_sub)["Attributes"]
    assert attributes["RawMessageDelivery"] == "true" and attributes["Endpoint"] == queue_arn
    assert attributes["FilterPolicy"] == '{"kind": ["a"]}' and attributes["FilterPolicyScope"] == "MessageAttributes"
    with pytest.raises(ClientError) as excinfo:
        sns.set_subscription_attributes(
            SubscriptionArn=sqs_sub, AttributeName="FilterPolicy", AttributeValue='{"kind": []}'
        )
    assert error_of(excinfo) == ("InvalidParameter", "Invalid parameter: FilterPolicy: Empty arrays are not allowed")
    with pytest.raises(ClientError) as excinfo:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn + "x", Attributes={"FilterPolicy": "{"})
    assert error_of(excinfo) == ("InvalidParameter", "Invalid parameter: FilterPolicy: failed to parse JSON.")

    sns.unsubscribe(SubscriptionArn=sqs_sub)
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_subscription_attributes(SubscriptionArn=sqs_sub)


BAD_ENDPOINTS = [
    ("http", "http://169.254.169.254/latest/meta-data/"),
    ("https", "https://example.com/hook"),
    ("http", "http://localhost:1/hook"),
    ("email", "not-an-address"),
    ("sms", "12345"),
    ("sqs", "not-an-arn"),
    ("carrier-pigeon", "coo"),
]


def test_subscribe_refuses_bad_and_foreign_endpoints(sns):
    topic = sns.create_topic(Name="guarded")["TopicArn"]
    for protocol, endpoint in BAD_ENDPOINTS:
        with pytest.raises(ClientError) as excinfo:
            sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
        assert error_of(excinfo)[0] == "InvalidParameter", (protocol, endpoint)


def test_the_subscribe_url_confirms_when_visited_unsigned(sns, cast, live_lab):
    import requests

    topic = sns.create_topic(Name="visits")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="carol@example.com")
    doc = json.loads(InboxMessage.objects.get(protocol="email-json", endpoint="carol@example.com").body)
    assert doc["SubscribeURL"].startswith(live_lab.url + "/aws/?Action=ConfirmSubscription")

    wrong = requests.get(doc["SubscribeURL"].replace(doc["Token"], "0" * 64), timeout=10)
    assert wrong.status_code == 400 and "<Code>InvalidParameter</Code>" in wrong.text

    visited = requests.get(doc["SubscribeURL"], timeout=10)
    assert visited.status_code == 200 and "<ConfirmSubscriptionResult>" in visited.text
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert len(listed) == 1 and listed[0]["SubscriptionArn"] in visited.text
    attributes = sns.get_subscription_attributes(SubscriptionArn=listed[0]["SubscriptionArn"])["Attributes"]
    assert attributes["PendingConfirmation"] == "false"

    unsigned_other_action = requests.get(f"{live_lab.url}/aws/?Action=ListTopics", timeout=10)
    assert unsigned_other_action.status_code == 403
