"""The SNS protocol adapter (query protocol): boto3's parameters in, botocore's output shapes out."""

from __future__ import annotations

from typing import Any

from serverless_lab.cloud.core.registry import RequestContext

from . import backend
from .exceptions import SnsError

Params = dict[str, Any]


def _subscription_arn(subscription: Any) -> str:
    return backend.subscription_arn_of(subscription) if subscription.confirmed else "pending confirmation"


def _outgoing(params: Params) -> backend.Outgoing:
    return backend.Outgoing(
        message=params.get("Message", ""),
        subject=params.get("Subject"),
        structure=params.get("MessageStructure"),
        attributes=params.get("MessageAttributes") or {},
        group_id=params.get("MessageGroupId"),
        dedup_id=params.get("MessageDeduplicationId"),
    )


def _failure(entry_id: str, error: SnsError) -> Params:
    return {"Id": entry_id, "Code": error.code, "Message": error.message, "SenderFault": error.sender_fault}


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


class SNSHandler:
    # --- topics ---

    def create_topic(self, ctx: RequestContext, params: Params) -> Params:
        topic = backend.create_topic(
            sandbox=ctx.sandbox,
            name=params["Name"],
            attributes=params.get("Attributes") or {},
            tags=_tags(params.get("Tags")),
        )
        return {"TopicArn": backend.topic_arn_of(topic)}

    def delete_topic(self, ctx: RequestContext, params: Params) -> Params:
        backend.delete_topic(sandbox=ctx.sandbox, arn=params["TopicArn"])
        return {}

    def get_topic_attributes(self, ctx: RequestContext, params: Params) -> Params:
        return {"Attributes": backend.get_topic_attributes(sandbox=ctx.sandbox, arn=params["TopicArn"])}

    def list_tags_for_resource(self, ctx: RequestContext, params: Params) -> Params:
        tags = backend.list_tags_for_resource(sandbox=ctx.sandbox, arn=params["ResourceArn"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}

    def list_topics(self, ctx: RequestContext, params: Params) -> Params:
        topics, token = backend.list_topics(sandbox=ctx.sandbox, next_token=params.get("NextToken"))
        return {"Topics": [{"TopicArn": backend.topic_arn_of(t)} for t in topics], "NextToken": token}

    def set_topic_attributes(self, ctx: RequestContext, params: Params) -> Params:
        backend.set_topic_attributes(
            sandbox=ctx.sandbox,
            arn=params["TopicArn"],
            name=params["AttributeName"],
            value=params.get("AttributeValue", ""),
        )
        return {}

    def tag_resource(self, ctx: RequestContext, params: Params) -> Params:
        backend.tag_resource(sandbox=ctx.sandbox, arn=params["ResourceArn"], tags=_tags(params.get("Tags")))
        return {}

    def untag_resource(self, ctx: RequestContext, params: Params) -> Params:
        backend.untag_resource(sandbox=ctx.sandbox, arn=params["ResourceArn"], keys=params.get("TagKeys") or [])
        return {}

    # --- subscriptions ---

    def confirm_subscription(self, ctx: RequestContext, params: Params) -> Params:
        subscription = backend.confirm_subscription(
            sandbox=ctx.sandbox, topic_arn=params["TopicArn"], token=params["Token"]
        )
        return {"SubscriptionArn": backend.subscription_arn_of(subscription)}

    def get_subscription_attributes(self, ctx: RequestContext, params: Params) -> Params:
        return {"Attributes": backend.get_subscription_attributes(sandbox=ctx.sandbox, arn=params["SubscriptionArn"])}

    def list_subscriptions(self, ctx: RequestContext, params: Params) -> Params:
        return self._subscriptions(ctx, None, params)

    def list_subscriptions_by_topic(self, ctx: RequestContext, params: Params) -> Params:
        return self._subscriptions(ctx, params["TopicArn"], params)

    def _subscriptions(self, ctx: RequestContext, topic_arn: str | None, params: Params) -> Params:
        rows, token = backend.list_subscriptions(
            sandbox=ctx.sandbox, topic_arn=topic_arn, next_token=params.get("NextToken")
        )
        return {
            "Subscriptions": [
                {
                    "SubscriptionArn": _subscription_arn(s),
                    "Owner": ctx.sandbox.account_id,
                    "Protocol": s.protocol,
                    "Endpoint": s.endpoint,
                    "TopicArn": backend.topic_arn_of(s.topic),
                }
                for s in rows
            ],
            "NextToken": token,
        }

    def set_subscription_attributes(self, ctx: RequestContext, params: Params) -> Params:
        backend.set_subscription_attributes(
            sandbox=ctx.sandbox,
            arn=params["SubscriptionArn"],
            name=params["AttributeName"],
            value=params.get("AttributeValue", ""),
        )
        return {}

    def subscribe(self, ctx: RequestContext, params: Params) -> Params:
        subscription = backend.subscribe(
            sandbox=ctx.sandbox,
            topic_arn=params["TopicArn"],
            protocol=params["Protocol"],
            endpoint=params.get("Endpoint", ""),
            attributes=params.get("Attributes") or {},
        )
        if params.get("ReturnSubscriptionArn"):
            return {"SubscriptionArn": backend.subscription_arn_of(subscription)}
        return {"SubscriptionArn": _subscription_arn(subscription)}

    def unsubscribe(self, ctx: RequestContext, params: Params) -> Params:
        backend.unsubscribe(sandbox=ctx.sandbox, arn=params["SubscriptionArn"])
        return {}

    # --- publishing ---

    def publish(self, ctx: RequestContext, params: Params) -> Params:
        result = backend.publish(
            sandbox=ctx.sandbox,
            topic_arn=params.get("TopicArn") or params.get("TargetArn"),
            phone_number=params.get("PhoneNumber"),
            message=_outgoing(params),
            trace_header=ctx.trace_header,
        )
        if isinstance(result, str):
            return {"MessageId": result}
        return {"MessageId": result.message_id, "SequenceNumber": result.sequence_number}

    def publish_batch(self, ctx: RequestContext, params: Params) -> Params:
        entries = [(e["Id"], _outgoing(e)) for e in params.get("PublishBatchRequestEntries") or []]
        done, failed = backend.publish_batch(
            sandbox=ctx.sandbox, topic_arn=params["TopicArn"], entries=entries, trace_header=ctx.trace_header
        )
        return {
            "Successful": [{"Id": i, "MessageId": p.message_id, "SequenceNumber": p.sequence_number} for i, p in done],
            "Failed": [_failure(i, e) for i, e in failed],
        }
