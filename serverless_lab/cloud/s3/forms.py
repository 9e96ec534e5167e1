"""Console forms: they check input shape; the backend enforces S3's rules (names, quotas)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

EVENT_CHOICES = [
    ("s3:ObjectCreated:*", "All object create events (s3:ObjectCreated:*)"),
    ("s3:ObjectCreated:Put", "Put (s3:ObjectCreated:Put)"),
    ("s3:ObjectCreated:Copy", "Copy (s3:ObjectCreated:Copy)"),
    ("s3:ObjectCreated:CompleteMultipartUpload", "Multipart upload completed"),
    ("s3:ObjectRemoved:*", "All object removal events (s3:ObjectRemoved:*)"),
    ("s3:ObjectRemoved:Delete", "Permanently deleted (s3:ObjectRemoved:Delete)"),
    ("s3:ObjectRemoved:DeleteMarkerCreated", "Delete marker created"),
]

# arn:aws:lambda:us-east-1:123456789012:function:name, arn:aws:sqs:…:queue, arn:aws:sns:…:topic
_TARGET_ARN = re.compile(r"^arn:aws:(lambda|sqs|sns):[a-z0-9-]+:\d{12}:\S+$")
TARGET_LISTS = {
    "lambda": "LambdaFunctionConfigurations",
    "sqs": "QueueConfigurations",
    "sns": "TopicConfigurations",
}


class BucketCreateForm(forms.Form):
    name = forms.CharField(
        label="Bucket name",
        max_length=63,
        help_text=(
            "3–63 characters: lowercase letters, numbers, dots and hyphens. Names are unique across the whole lab."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}),
    )


class BrowseForm(forms.Form):
    """Which folder and page of a bucket to show (query string); bad values show the bucket's root."""

    prefix = forms.CharField(max_length=1024, required=False, strip=False)
    token = forms.CharField(max_length=2048, required=False)
    trail = forms.CharField(max_length=20 * 1400, required=False)


class ObjectKeyForm(forms.Form):
    """Which object (and optionally which version) a request is about, from the query string."""

    key = forms.CharField(max_length=1024, strip=False)
    version_id = forms.CharField(max_length=64, required=False)


class UploadForm(forms.Form):
    file = forms.FileField(allow_empty_file=True)
    prefix = forms.CharField(max_length=1024, required=False, strip=False)

    def clean_prefix(self) -> str:
        prefix: str = self.cleaned_data["prefix"]
        if prefix and not prefix.endswith("/"):
            raise forms.ValidationError("A folder prefix ends with a slash.")
        return prefix


class VersioningForm(forms.Form):
    status = forms.ChoiceField(choices=[("Enabled", "Enabled"), ("Suspended", "Suspended")])


class NotificationForm(forms.Form):
    arn = forms.CharField(
        label="Target ARN",
        max_length=512,
        help_text=(
            "A Lambda function, SQS queue or SNS topic, e.g. arn:aws:lambda:us-east-1:123456789012:function:thumbnails"
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    events = forms.MultipleChoiceField(label="Events", choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple)
    prefix = forms.CharField(label="Key prefix", max_length=1024, required=False, help_text="e.g. uploads/")
    suffix = forms.CharField(label="Key suffix", max_length=1024, required=False, help_text="e.g. .jpg")

    def clean_arn(self) -> str:
        arn: str = self.cleaned_data["arn"].strip()
        if not _TARGET_ARN.match(arn):
            raise forms.ValidationError(
                "Enter the ARN of a Lambda function, SQS queue or SNS topic, "
                "like arn:aws:sqs:us-east-1:123456789012:my-queue."
            )
        return arn

    def target(self) -> tuple[str, dict[str, Any]]:
        """The configuration list this target belongs in, and the entry for it."""
        data = self.cleaned_data
        service = data["arn"].split(":")[2]
        list_name = TARGET_LISTS[service]
        arn_name = {"lambda": "LambdaFunctionArn", "sqs": "QueueArn", "sns": "TopicArn"}[service]
        entry: dict[str, Any] = {arn_name: data["arn"], "Events": list(data["events"])}
        rules = [{"Name": name, "Value": data[name]} for name in ("prefix", "suffix") if data[name]]
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        return list_name, entry
