import getpass
import secrets
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cases.errors import CaseError
from cases.models import Role, Team
from cases.services.teams import add_member, create_user


class Command(BaseCommand):
    help = (
        "Add a user to a team with a role, creating the user if missing. Without --password a new "
        "user is asked for one on a terminal, or given a generated one that is printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="only used when the user is created")

    def handle(self, *args, slug: str, username: str, role: str, password: str | None, **options):
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise CommandError(f"No team with the slug '{slug}'.")
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        generated = False
        if user is None:
            if password is None:
                password, generated = self._new_password()
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        try:
            with transaction.atomic():
                if user is None:
                    user = create_user(username=username, password=password)
                    self.stdout.write(f"Created user {username}.")
                membership = add_member(team=team, user=user, role=role)
        except CaseError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"{username} is a {membership.role} of {team.slug}."))
        if generated:
            self.stdout.write(f"Generated password (shown once): {password}")

    def _new_password(self) -> tuple[str, bool]:
        if sys.stdin.isatty():
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
            return first, False
        return secrets.token_urlsafe(18), True
