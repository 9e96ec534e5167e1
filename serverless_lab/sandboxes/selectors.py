from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from serverless_lab.accounts.selectors import user_teaches

from .models import Sandbox


def sandboxes_of(*, user: AbstractBaseUser) -> QuerySet[Sandbox]:
    return Sandbox.objects.filter(owner=user).order_by("-created_at")


def sandbox_by_access_key(access_key_id: str) -> Sandbox | None:
    return Sandbox.objects.select_related("owner").filter(access_key_id=access_key_id).first()


def sandbox_can_watch(*, user: AbstractBaseUser, sandbox_id: int) -> bool:
    """The owner and the owner's instructors may watch a sandbox's live events."""
    owner_id = Sandbox.objects.filter(pk=sandbox_id).values_list("owner_id", flat=True).first()
    if owner_id is None or not user.is_authenticated:
        return False
    return owner_id == user.pk or user_teaches(user, owner_id)
