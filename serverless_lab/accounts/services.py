from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction

from .models import INSTRUCTOR_GROUP


@transaction.atomic
def instructor_create(*, username: str, email: str = "", password: str | None = None) -> tuple[AbstractUser, bool]:
    """Create (or promote) ``username`` into the instructor group. Returns (user, created)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    group, _ = Group.objects.get_or_create(name=INSTRUCTOR_GROUP)
    user.groups.add(group)
    return user, created
