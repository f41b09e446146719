import os

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import REQUIRE_SERVICES


@pytest.mark.skipif(not REQUIRE_SERVICES, reason="only CI promises PostgreSQL and Redis")
def test_ci_runs_on_postgresql_and_redis():
    """In CI the suite must really run on the servers, not silently fall back to SQLite."""
    assert connection.vendor == "postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert os.path.exists("/usr/bin/chromium")
