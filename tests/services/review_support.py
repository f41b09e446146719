"""Helpers shared by the review-workflow tests (claims, labels, votes, decisions, suggestions)."""

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection

from cases.models import AccountKind, AuditEvent, Case, Role, Team, Technique
from cases.services.cases import add_account_to_case
from tests.factories import AccountFactory, CaseFactory, MembershipFactory, UserFactory


def member(team: Team, role: str = Role.MODERATOR, username: str | None = None):
    kwargs = {"username": username} if username else {}
    return MembershipFactory(team=team, role=role, user=UserFactory(**kwargs)).user


def case_with_accounts(team: Team, added_by, *, accounts: int = 3, priority: int = 2) -> Case:
    """A case with ``accounts`` suspect accounts on it, added through the service."""
    case = CaseFactory(team=team, priority=priority)
    for _ in range(accounts):
        add_account_to_case(
            case=case, account=AccountFactory(team=team, kind=AccountKind.SUSPECT), added_by=added_by
        )
    return case


def technique(code: str) -> Technique:
    """A kill-chain technique. The data migration loads them; a flushed database (after a
    transactional test) may not have them, so make the row if it is missing."""
    found, _ = Technique.objects.get_or_create(
        procedure_code=code,
        defaults={
            "tactic_code": code.split(".")[0],
            "tactic": "t",
            "technique_code": ".".join(code.split(".")[:2]),
            "technique": "t",
            "procedure": f"procedure {code}",
        },
    )
    return found


class NewEvents:
    """The audit events written inside a ``with`` block."""

    def __enter__(self):
        self._before = set(AuditEvent.objects.values_list("pk", flat=True))
        return self

    def __exit__(self, *exc):
        return False

    @property
    def events(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.exclude(pk__in=self._before).order_by("id"))

    @property
    def verbs(self) -> list[str]:
        return [e.verb for e in self.events]


# --- concurrency (PostgreSQL) ------------------------------------------------------------------


def free_connections(margin: int = 20) -> int:
    """How many more connections the server takes, keeping ``margin`` for everyone else on it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend'"
        )
        (free,) = cursor.fetchone()
    return max(free - margin, 2)


def run_concurrently(
    jobs: Sequence[Callable[[], Any]], *, threads: int | None = None, timeout: float = 120
) -> tuple[list[Any], list[BaseException]]:
    """Run every job, ``threads`` at a time (default: one thread per job), all released at once.

    Each thread opens its database connection before the barrier, so the calls really start
    together, and closes it at the end. A job's result lands at its index; exceptions are
    collected, never raised in the thread.
    """
    threads = min(threads or len(jobs), len(jobs))
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=timeout)
            for index in range(offset, len(jobs), threads):
                try:
                    results[index] = jobs[index]()
                except BaseException as exc:  # every failure is a finding
                    with lock:
                        errors.append(exc)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout)
    assert not any(t.is_alive() for t in pool), "a thread is stuck (deadlock?)"
    return results, errors
