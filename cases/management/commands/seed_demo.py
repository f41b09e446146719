import textwrap
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cases.demo import seed_demo
from cases.errors import CaseError


class Command(BaseCommand):
    help = (
        "Load the demo team, its four logins and two CIB investigations built from Meta's published "
        "threat indicators. Safe to run again: once the demo team exists, nothing is written."
    )

    def handle(self, *args, **options) -> None:
        verbose = options["verbosity"] > 0
        try:
            result = seed_demo(stdout=self.stdout if verbose else None)
        except CaseError as exc:
            raise CommandError(exc.message) from exc

        team = f"{result['team_name']} (slug '{result['team_slug']}')"
        if result["created"]:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded into {team}."))
        else:
            self.stdout.write(f"The demo data is already loaded in {team}; nothing was changed.")
        if verbose:
            counts = ", ".join(f"{n} {what}" for what, n in result["counts"].items())
            self.stdout.write(textwrap.fill(counts, width=100, initial_indent="  ", subsequent_indent="  "))

        rows = [(login["username"], login["password"], self._role(login)) for login in result["logins"]]
        user_width = max(len(username) for username, _, _ in rows) + 2
        password_width = max(len(password) for _, password, _ in rows) + 2
        self.stdout.write("")
        self.stdout.write(
            self.style.MIGRATE_HEADING("Demo logins (a demo database only: change them anywhere else)")
        )
        self.stdout.write(f"  {'username'.ljust(user_width)}{'password'.ljust(password_width)}role")
        for username, password, role in rows:
            self.stdout.write(f"  {username.ljust(user_width)}{password.ljust(password_width)}{role}")

    @staticmethod
    def _role(login: dict[str, Any]) -> str:
        return f"{login['role']} + Django superuser (admin site)" if login["site_admin"] else login["role"]
