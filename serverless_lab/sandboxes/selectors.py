from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from serverless_lab.accounts.selectors import user_teaches

from .models import Sandbox


def sandboxes_of(*, user: AbstractBaseUser) -> QuerySet[Sandbox]:
    return Sandbox.objects.filter(owner=user).order_by("-created_at")


def own_sandbox_or_404(request: HttpRequest, sandbox_id: int) -> Sandbox:
    """The signed-in user's sandbox ``sandbox_id``. Somebody else's is a 404, never a 403: its
    existence is not theirs to know. (Every console's views start here.)"""
    return get_object_or_404(Sandbox, pk=sandbox_id, owner=request.user)


def sandbox_by_access_key(access_key_id: str) -> Sandbox | None:
    return Sandbox.objects.select_related("owner").filter(access_key_id=access_key_id).first()


def sandbox_can_watch(*, user: AbstractBaseUser, sandbox_id: int) -> bool:
    """The owner and the owner's instructors may watch a sandbox's live events."""
    owner_id = Sandbox.objects.filter(pk=sandbox_id).values_list("owner_id", flat=True).first()
    if owner_id is None or not user.is_authenticated:
        return False
    return owner_id == user.pk or user_teaches(user, owner_id)
