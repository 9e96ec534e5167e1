"""Create, rename, reset and delete sandboxes: the only code that changes a Sandbox row."""
from __future__ import annotations

import secrets
import string

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .models import DEFAULT_REGION, Sandbox
from . import signals

_KEY_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
MAX_SANDBOXES_PER_USER = 10


def _new_account_id() -> str:
    # AWS account ids are 12 digits; ours never start with 0 so they survive being read as numbers.
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def _new_access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def _new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def sandbox_create(*, owner: AbstractBaseUser, name: str, region: str = DEFAULT_REGION) -> Sandbox:
    """A new sandbox with fresh account id and keys. Raises ValidationError on a bad name/limit."""
    if Sandbox.objects.filter(owner=owner).count() >= MAX_SANDBOXES_PER_USER:
        raise ValidationError(f"You can have at most {MAX_SANDBOXES_PER_USER} sandboxes; delete one first.")
    if Sandbox.objects.filter(owner=owner, name=name).exists():
        raise ValidationError({"name": f"You already have a sandbox called {name!r}."})
    for _ in range(5):  # ids are random: retry the (astronomically rare) collision
        try:
            with transaction.atomic():
                return Sandbox.objects.create(
                    owner=owner,
                    name=name,
                    region=region,
                    account_id=_new_account_id(),
                    access_key_id=_new_access_key_id(),
                    secret_access_key=_new_secret(),
                )
        except IntegrityError:
            if Sandbox.objects.filter(owner=owner, name=name).exists():
                raise ValidationError({"name": f"You already have a sandbox called {name!r}."}) from None
    raise RuntimeError("could not allocate unique sandbox identifiers")


def sandbox_rename(*, sandbox: Sandbox, name: str) -> Sandbox:
    if Sandbox.objects.filter(owner=sandbox.owner, name=name).exclude(pk=sandbox.pk).exists():
        raise ValidationError({"name": f"You already have a sandbox called {name!r}."})
    sandbox.name = name
    sandbox.save(update_fields=["name", "updated_at"])
    return sandbox


def sandbox_reset(*, sandbox: Sandbox) -> int:
    """Wipe every resource of the sandbox, keep its identity and keys. Returns rows deleted.

    Resources are found through the foreign keys that point at Sandbox, so a new emulator's
    models are wiped without registering anything; a model can opt out with
    ``KEEP_ON_SANDBOX_RESET = True`` (e.g. history that should survive a reset).
    """
    deleted = 0
    with transaction.atomic():
        for relation in Sandbox._meta.related_objects:
            model = relation.related_model
            if getattr(model, "KEEP_ON_SANDBOX_RESET", False) or relation.many_to_many:
                continue
            count, _ = model._default_manager.filter(**{relation.field.name: sandbox}).delete()
            deleted += count
        transaction.on_commit(lambda: signals.sandbox_reset.send(sender=Sandbox, sandbox=sandbox))
    return deleted


def sandbox_delete(*, sandbox: Sandbox) -> None:
    with transaction.atomic():
        # Lock the row first: a row that references the sandbox (a trace hop the web process's writer
        # is saving, say) can then not be committed between the wipe and the delete, which would
        # fail the delete with a foreign-key violation. Such a write fails afterwards instead.
        list(Sandbox.objects.select_for_update().filter(pk=sandbox.pk).values_list("pk", flat=True))
        sandbox_reset(sandbox=sandbox)
        sandbox.delete()
