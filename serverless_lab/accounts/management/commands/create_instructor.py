from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from serverless_lab.accounts.services import instructor_create


class Command(BaseCommand):
    help = "Create an instructor account (or promote an existing user to instructor)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="read the password from this environment variable (keeps it out of shell history)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get(options["password_env"]) if options["password_env"] else None
        user, created = instructor_create(username=options["username"], email=options["email"], password=password)
        verb = "created" if created else "promoted"
        self.stdout.write(self.style.SUCCESS(f"instructor {user.username} {verb}"))
        if created and not password:
            self.stdout.write("No password set: use `manage.py changepassword` to set one.")
