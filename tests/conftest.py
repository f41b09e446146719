import os

import pytest
from django.db import connection

from cases.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.support import signed_in

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    """Skip what this machine cannot run — unless REQUIRE_SERVICES=1 (CI), where that is a failure."""
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    has_browser = os.path.exists(CHROMIUM)
    for item in items:
        reason = None
        if "postgres" in item.keywords and not on_postgres:
            reason = "needs PostgreSQL (set DATABASE_URL)"
        elif "browser" in item.keywords and not has_browser:
            reason = f"needs Chromium at {CHROMIUM}"
        if reason is None:
            continue
        if REQUIRE_SERVICES:
            item.add_marker(pytest.mark.usefixtures("_fail_missing_service"))
            item.user_properties.append(("missing_service", reason))
        else:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def _fail_missing_service(request):
    reason = dict(request.node.user_properties)["missing_service"]
    pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")


@pytest.fixture
def team_a(db):
    return TeamFactory(slug="team-a", name="Team A")


@pytest.fixture
def team_b(db):
    return TeamFactory(slug="team-b", name="Team B")


def _member(team, role, username):
    return MembershipFactory(team=team, role=role, user=UserFactory(username=username)).user


@pytest.fixture
def moderator(team_a):
    return _member(team_a, Role.MODERATOR, "mod-a")


@pytest.fixture
def lead(team_a):
    return _member(team_a, Role.LEAD, "lead-a")


@pytest.fixture
def admin_user(team_a):
    return _member(team_a, Role.ADMIN, "admin-a")


@pytest.fixture
def outsider(team_b):
    """A moderator of team B: must never see team A's data."""
    return _member(team_b, Role.MODERATOR, "mod-b")


@pytest.fixture
def mod_client(moderator):
    return signed_in(moderator)


@pytest.fixture
def lead_client(lead):
    return signed_in(lead)


@pytest.fixture
def outsider_client(outsider):
    return signed_in(outsider)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker, in a thread, consuming from the configured broker.

    Never eager: tasks travel through the broker (Redis in CI, the filesystem transport
    locally) and run against the real database.
    """
    from celery.contrib.testing.worker import start_worker

    from annotator.celery import app

    # A transactional test without a worker leaves what its commits queued (an import, the
    # similar-accounts refresh of a new account) in the broker: drop it, or this worker would run
    # another test's task first.
    app.control.purge()
    # No ping check: it needs a result backend, and outcomes live on Job rows instead. A task
    # sent before the consumer is up simply waits in the broker.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker
