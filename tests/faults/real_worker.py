"""A real Celery worker in a subprocess, for the fault tests: started on the test database and the
configured Redis broker, on a queue of its own, and stopped by its own pids at the end.

Tests that use it are transactional (the worker is another process and sees only commits) and
need PostgreSQL and a Redis broker: without them they are skipped, or fail under
REQUIRE_SERVICES=1 as the conftest's markers do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.db import connection

from tests.support import database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require_services() -> None:
    """Skip — or, under REQUIRE_SERVICES=1, fail — unless the database is PostgreSQL and the broker
    Redis (a killed child's message is handed back by Redis; the filesystem transport is local)."""
    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (set DATABASE_URL)")
    if not str(settings.CELERY_BROKER_URL).startswith(("redis://", "rediss://")):
        missing.append("a Redis broker (set CELERY_BROKER_URL)")
    if not missing:
        return
    reason = "needs " + " and ".join(missing)
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")
    pytest.skip(reason)


class RealWorker:
    """``celery worker --pool=prefork --concurrency=1`` (tests/faults/worker.py) on ``queue``."""

    def __init__(self, queue: str, *, env: dict[str, str] | None = None):
        self.queue = queue
        self.log = Path(tempfile.mkstemp(prefix="fault-worker-", suffix=".log")[1])
        child_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": str(settings.CELERY_BROKER_URL),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "FAULT_QUEUE": queue,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.faults.worker",
                    "worker",
                    "--pool=prefork",
                    "--concurrency=1",
                    "-Q",
                    queue,
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    f"--hostname=fault-{queue}@%h",
                ],
                cwd=ROOT,
                env=child_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.main = psutil.Process(self.process.pid)
        self._seen: set[int] = set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[psutil.Process]:
        if self.process.poll() is not None:
            return []
        try:
            found = self.main.children()
        except psutil.NoSuchProcess:
            return []
        self._seen.update(p.pid for p in found)
        return found

    def child(self, timeout: float = 60) -> psutil.Process:
        """The pool's one child process (waits while the main process forks it)."""
        self.assert_alive()
        found = wait_for("the worker's pool child", self.children, timeout=timeout)
        assert len(found) == 1, found
        return found[0]

    def kill_child(self) -> int:
        """kill -9 the child running the task; returns once it is gone. Its pid."""
        child = self.child()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        return child.pid

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"the worker exited ({self.process.returncode}):\n{self.tail()}"

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Cold shutdown (SIGQUIT), then SIGKILL to whatever of its own pids is still there."""
        children = self.children()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.log.unlink(missing_ok=True)


def new_queue() -> str:
    return f"faults-{uuid.uuid4().hex[:12]}"


def purge(queue: str) -> None:
    from annotator.celery import app

    # A queue that was never declared has nothing to purge.
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge(queue)


def worker_factory() -> tuple[Callable[..., RealWorker], Callable[[], None]]:
    """(start a worker on this test's queue, stop them all). Until then the app sends tasks to
    the same queue, so no other worker takes them and this worker takes no one else's."""
    from annotator.celery import app

    require_services()
    queue = new_queue()
    default_queue = app.conf.task_default_queue
    # Built now, with the real default queue in it: built lazily while the default is this test's
    # queue, it would lack "celery", and a later in-process worker (conftest's celery_worker)
    # would not consume from it.
    queues = app.amqp.queues
    app.conf.task_default_queue = queue
    workers: list[RealWorker] = []

    def start(**env: str) -> RealWorker:
        worker = RealWorker(queue, env=env)
        workers.append(worker)
        return worker

    def stop_all() -> None:
        app.conf.task_default_queue = default_queue
        for worker in workers:
            worker.stop()
        purge(queue)
        # Sending to it added the queue to the app's table: no later worker should listen to it.
        queues.pop(queue, None)
        for table in (queues._consume_from, queues._default_consume_from):
            if table is not None:
                table.pop(queue, None)

    return start, stop_all
