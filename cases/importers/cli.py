"""What the import_bundle and import_indicators commands share: looking up the team and user,
and drawing the service's progress callback as a terminal bar."""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from tqdm import tqdm

from cases.models import Team


def team_and_user(slug: str, username: str | None) -> tuple[Team, Any]:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise CommandError(f"No team with the slug '{slug}'.")
    if username is None:
        return team, None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named '{username}'.")
    return team, user


class TerminalProgress:
    """A ``progress(done, total, message)`` callback that draws a tqdm bar on stderr.

    The bar is drawn only on a terminal: logs and test output get the summary alone.
    """

    def __init__(self, *, unit: str, enabled: bool | None = None):
        self.unit = unit
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, unit=f" {self.unit}", unit_scale=True, dynamic_ncols=True)
        self.bar.total = total
        self.bar.update(max(0, done - self.bar.n))
        if message:
            self.bar.set_postfix_str(message[:60], refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
