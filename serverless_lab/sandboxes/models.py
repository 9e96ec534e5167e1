"""A sandbox is one emulated AWS account, owned by one user.

Every emulator row carries a foreign key to its Sandbox (on_delete=CASCADE), which is how
nothing ever crosses sandboxes and how reset/delete find everything a sandbox holds.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

DEFAULT_REGION = "us-east-1"


class Sandbox(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandboxes")
    name = models.CharField(max_length=64)
    account_id = models.CharField(max_length=12, unique=True)
    region = models.CharField(max_length=32, default=DEFAULT_REGION)
    access_key_id = models.CharField(max_length=20, unique=True)
    secret_access_key = models.CharField(max_length=40)
    max_functions = models.PositiveIntegerField(default=50)
    max_storage_bytes = models.PositiveBigIntegerField(default=1024**3)
    max_requests_per_second = models.PositiveIntegerField(default=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="sandbox_name_unique_per_owner")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    @property
    def group_name(self) -> str:
        """The Channels group of this sandbox's live events (ASCII, < 100 chars)."""
        return f"sandbox-{self.pk}"

    @property
    def caller_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.owner.get_username()}"

    @property
    def endpoint_url(self) -> str:
        return f"{settings.LAB_PUBLIC_URL}/{settings.AWS_ENDPOINT_PREFIX}"
