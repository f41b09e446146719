"""Every task rides out a database outage by retrying (cases.tasks.DatabaseRetryTask). The real
outage, with a real worker, is tests/faults/test_database_restart.py."""

import celery
from django.conf import settings
from django.db import InterfaceError, OperationalError

import cases.tasks
from cases.tasks import DatabaseRetryTask


def test_every_task_retries_with_backoff_when_the_database_is_unreachable():
    """Except the ones beat runs on a schedule: their next run is their retry."""
    periodic = {entry["task"] for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values()}
    tasks = [
        value
        for value in vars(cases.tasks).values()
        if isinstance(value, celery.Task) and value.name not in periodic
    ]
    assert len(tasks) >= 6
    for task in tasks:
        assert isinstance(task, DatabaseRetryTask), task.name
        assert set(task.autoretry_for) == {OperationalError, InterfaceError}, task.name
        assert hasattr(task, "_orig_run"), f"{task.name}: the autoretry wrapper is not in place"
        assert task.retry_backoff and task.retry_jitter and task.max_retries == 12
        assert task.retry_backoff_max <= 300
