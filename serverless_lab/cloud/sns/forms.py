"""SNS console forms: they check input shape; the backend enforces SNS's rules (names, endpoints, policies)."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from serverless_lab.cloud.sqs.forms import MessageAttributesMixin

_CODE_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}
PROTOCOL_CHOICES = [
    ("sqs", "Amazon SQS queue"),
    ("lambda", "AWS Lambda function"),
    ("email", "Email (plain text)"),
    ("email-json", "Email-JSON (the JSON envelope)"),
    ("sms", "SMS"),
    ("http", "HTTP webhook"),
    ("https", "HTTPS webhook"),
]
RAW_PROTOCOLS = ("sqs", "http", "https")
SCOPE_CHOICES = [
    ("MessageAttributes", "Message attributes"),
    ("MessageBody", "Message body (a JSON object)"),
]
POLICY_HELP = 'JSON, e.g. {"color": ["red", {"prefix": "bl"}], "size": [{"numeric": [">", 10]}]}. Empty: every message.'


class TopicCreateForm(forms.Form):
    name = forms.CharField(
        label="Topic name",
        max_length=256,
        help_text="Letters, numbers, hyphens and underscores. A FIFO topic's name ends in .fifo.",
        widget=forms.TextInput(attrs=_CODE_ATTRS),
    )
    kind = forms.ChoiceField(
        label="Type",
        choices=[
            ("standard", "Standard: best-effort order, any protocol"),
            ("fifo", "FIFO: ordered, SQS FIFO queues only"),
        ],
        initial="standard",
        widget=forms.RadioSelect,
    )
    content_dedup = forms.BooleanField(label="Content-based deduplication (FIFO)", required=False)
    display_name = forms.CharField(
        label="Display name", max_length=100, required=False, help_text="Shown as the sender of SMS and email."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = data.get("name", "")
        if data.get("kind") == "fifo" and name and not name.endswith(".fifo"):
            self.add_error("name", "A FIFO topic's name must end in .fifo, e.g. orders.fifo.")
        if data.get("kind") == "standard" and name.endswith(".fifo"):
            self.add_error("kind", "Names ending in .fifo are for FIFO topics: choose FIFO or rename the topic.")
        return data

    def attributes(self) -> dict[str, str]:
        data = self.cleaned_data
        attributes = {"DisplayName": data["display_name"]} if data["display_name"] else {}
        if data["kind"] == "fifo":
            attributes["FifoTopic"] = "true"
            if data["content_dedup"]:
                attributes["ContentBasedDeduplication"] = "true"
        return attributes


class PublishForm(MessageAttributesMixin):
    subject = forms.CharField(
        label="Subject", max_length=100, required=False, help_text="Email subject line; SQS sees it in the envelope."
    )
    message = forms.CharField(
        label="Message", max_length=262_144, strip=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    structure_json = forms.BooleanField(
        label="Different message per protocol (MessageStructure=json)",
        required=False,
        help_text='The message is then a JSON object: {"default": "…", "sqs": "…", "email": "…"}.',
    )
    group_id = forms.CharField(
        label="Message group ID", max_length=128, required=False, widget=forms.TextInput(attrs=_CODE_ATTRS)
    )
    dedup_id = forms.CharField(
        label="Deduplication ID", max_length=128, required=False, widget=forms.TextInput(attrs=_CODE_ATTRS)
    )

    def __init__(self, *args: Any, fifo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fifo:
            self.fields["group_id"].required = True
        else:
            del self.fields["group_id"]
            del self.fields["dedup_id"]
        self.add_attribute_rows()

    def attribute_types(self) -> list[tuple[str, str]]:
        return [
            ("String", "String"),
            ("String.Array", "String.Array"),
            ("Number", "Number"),
            ("Binary", "Binary (base64)"),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["attributes"] = self.clean_attribute_rows(data)
        return data


class SubscribeForm(forms.Form):
    protocol = forms.ChoiceField(label="Protocol", choices=PROTOCOL_CHOICES)
    endpoint = forms.CharField(
        label="Endpoint",
        max_length=2048,
        help_text="A queue or function ARN, an email address, a phone number (+15555550100), or a URL of this lab.",
        widget=forms.TextInput(attrs=_CODE_ATTRS | {"list": "endpoint-suggestions"}),
    )
    raw = forms.BooleanField(
        label="Raw message delivery (SQS, HTTP/S)",
        required=False,
        help_text="Deliver the message itself, without the JSON envelope.",
    )
    filter_policy = forms.CharField(
        label="Filter policy",
        required=False,
        help_text=POLICY_HELP,
        widget=forms.Textarea(attrs=_CODE_ATTRS | {"rows": 4}),
    )
    filter_scope = forms.ChoiceField(label="Filter on", choices=SCOPE_CHOICES, initial="MessageAttributes")

    def clean_endpoint(self) -> str:
        return str(self.cleaned_data["endpoint"]).strip()

    def attributes(self) -> dict[str, str]:
        data = self.cleaned_data
        attributes = {}
        if data["raw"]:
            attributes["RawMessageDelivery"] = "true"
        if data["filter_policy"].strip():
            attributes["FilterPolicy"] = data["filter_policy"].strip()
            attributes["FilterPolicyScope"] = data["filter_scope"]
        return attributes


class SubscriptionEditForm(forms.Form):
    """What the console edits on a subscription: its filter policy and scope, raw delivery (SQS and
    HTTP/S only, as on AWS), and the SQS dead-letter queue for deliveries that fail."""

    policy = forms.CharField(
        label="Filter policy",
        required=False,
        help_text=POLICY_HELP,
        widget=forms.Textarea(attrs=_CODE_ATTRS | {"rows": 8}),
    )
    scope = forms.ChoiceField(label="Filter on", choices=SCOPE_CHOICES, initial="MessageAttributes")
    raw = forms.BooleanField(
        label="Raw message delivery",
        required=False,
        help_text="Deliver the message itself, without the JSON envelope.",
    )
    dead_letter_queue = forms.ChoiceField(
        label="Dead-letter queue",
        required=False,
        help_text="Where SNS puts a message it could not deliver (the queue was deleted, say).",
    )

    def __init__(self, *args: Any, protocol: str, dlq_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if protocol not in RAW_PROTOCOLS:
            del self.fields["raw"]
        field = self.fields["dead_letter_queue"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "None")] + dlq_choices


class FilterTestForm(MessageAttributesMixin):
    """A policy and a message to test it against: attributes, or a body for the MessageBody scope."""

    policy = forms.CharField(
        label="Filter policy", help_text=POLICY_HELP, widget=forms.Textarea(attrs=_CODE_ATTRS | {"rows": 8})
    )
    scope = forms.ChoiceField(label="Filter on", choices=SCOPE_CHOICES, initial="MessageAttributes")
    body = forms.CharField(
        label="Message body",
        required=False,
        strip=False,
        help_text="Used when filtering on the message body.",
        widget=forms.Textarea(attrs=_CODE_ATTRS | {"rows": 5}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_attribute_rows()

    def attribute_types(self) -> list[tuple[str, str]]:
        return [
            ("String", "String"),
            ("String.Array", "String.Array"),
            ("Number", "Number"),
            ("Binary", "Binary (base64)"),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["attributes"] = self.clean_attribute_rows(data)
        if data.get("scope") == "MessageBody" and not (data.get("body") or "").strip():
            self.add_error("body", "Filtering on the body: give a JSON message body to test.")
        return data


def pretty_policy(text: str) -> str:
    """A stored policy indented for reading (as stored when it is not JSON)."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
