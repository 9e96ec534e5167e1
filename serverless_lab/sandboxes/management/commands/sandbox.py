"""``manage.py sandbox create|list|reset|delete``: sandboxes from a shell, for instructors and scripts."""
from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from serverless_lab.sandboxes import services
from serverless_lab.sandboxes.forms import name_validator, region_choices
from serverless_lab.sandboxes.models import DEFAULT_REGION, Sandbox


def sandbox_as_dict(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "id": sandbox.pk,
        "name": sandbox.name,
        "owner": sandbox.owner.get_username(),
        "account_id": sandbox.account_id,
        "region": sandbox.region,
        "access_key_id": sandbox.access_key_id,
        "secret_access_key": sandbox.secret_access_key,
        "endpoint_url": sandbox.endpoint_url,
    }


class Command(BaseCommand):
    help = "Create, list, reset or delete sandboxes (emulated AWS accounts)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,reset,delete}")
        create = sub.add_parser("create", help="create a sandbox and print its credentials")
        create.add_argument("--user", required=True, help="owner's username")
        create.add_argument("--name", help="sandbox name (default: sandbox-N)")
        create.add_argument("--region", default=DEFAULT_REGION)
        create.add_argument("--create-user", action="store_true", help="create the user if missing")
        create.add_argument("--json", action="store_true", help="print one JSON object")
        listing = sub.add_parser("list", help="list sandboxes")
        listing.add_argument("--user", help="only this user's sandboxes")
        listing.add_argument("--json", action="store_true", help="print a JSON array")
        for action in ("reset", "delete"):
            one = sub.add_parser(action, help=f"{action} a sandbox")
            one.add_argument("sandbox", help="sandbox id or 12-digit account id")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    def _find(self, ident: str) -> Sandbox:
        query = Sandbox.objects.select_related("owner")
        sandbox = query.filter(account_id=ident).first() if len(ident) == 12 else None
        if sandbox is None and ident.isdigit():
            sandbox = query.filter(pk=int(ident)).first()
        if sandbox is None:
            raise CommandError(f"no sandbox with id or account id {ident!r}")
        return sandbox

    def handle_create(self, options: dict[str, Any]) -> None:
        User = get_user_model()
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            if not options["create_user"]:
                raise CommandError(f"no user {options['user']!r} (pass --create-user to create it)")
            user = User.objects.create_user(username=options["user"])
            user.set_unusable_password()
            user.save()
        if options["region"] not in dict(region_choices()):
            raise CommandError(f"unknown region {options['region']!r}")
        name = options["name"] or f"sandbox-{Sandbox.objects.filter(owner=user).count() + 1}"
        try:
            name_validator(name)
            sandbox = services.sandbox_create(owner=user, name=name, region=options["region"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        data = sandbox_as_dict(sandbox)
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write(self.style.SUCCESS(f"sandbox {sandbox.name} created for {user.get_username()}"))
        for key, value in data.items():
            self.stdout.write(f"  {key:<18} {value}")
        self.stdout.write(
            "\nConfigure a shell:\n"
            f"  export AWS_ACCESS_KEY_ID={sandbox.access_key_id}\n"
            f"  export AWS_SECRET_ACCESS_KEY={sandbox.secret_access_key}\n"
            f"  export AWS_DEFAULT_REGION={sandbox.region}\n"
            f"  export AWS_ENDPOINT_URL={sandbox.endpoint_url}"
        )

    def handle_list(self, options: dict[str, Any]) -> None:
        query = Sandbox.objects.select_related("owner").order_by("pk")
        if options["user"]:
            query = query.filter(owner__username=options["user"])
        rows = [sandbox_as_dict(s) for s in query]
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        if not rows:
            self.stdout.write("no sandboxes")
            return
        self.stdout.write(f"{'ID':>4}  {'NAME':<24} {'OWNER':<16} {'ACCOUNT':<12}  {'REGION':<14} ACCESS KEY")
        for row in rows:
            self.stdout.write(
                f"{row['id']:>4}  {row['name']:<24} {row['owner']:<16} {row['account_id']:<12}  "
                f"{row['region']:<14} {row['access_key_id']}"
            )

    def handle_reset(self, options: dict[str, Any]) -> None:
        sandbox = self._find(options["sandbox"])
        deleted = services.sandbox_reset(sandbox=sandbox)
        self.stdout.write(self.style.SUCCESS(f"sandbox {sandbox.name} reset ({deleted} resources removed)"))

    def handle_delete(self, options: dict[str, Any]) -> None:
        sandbox = self._find(options["sandbox"])
        name = sandbox.name
        services.sandbox_delete(sandbox=sandbox)
        self.stdout.write(self.style.SUCCESS(f"sandbox {name} deleted"))
