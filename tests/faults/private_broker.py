"""Real processes for the broker and worker fault tests: a Redis server of the test's own (so it can
be stopped without touching the shared one), ``celery -A annotator worker`` and ``celery beat`` on
it and on the test database, and the test process's Celery app pointed at it.

Every process is started here in a session of its own and stopped by its own process group, so a
test only ever signals pids it started. Without ``redis-server`` on PATH the tests are skipped, or
fail under REQUIRE_SERVICES=1 (CI), like the conftest's markers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.support import database_url, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CELERY = Path(sys.executable).with_name("celery")  # .venv/bin/celery beside the test's python


def require_redis_server() -> str:
    path = shutil.which("redis-server")
    if path:
        return path
    if REQUIRE_SERVICES:
        pytest.fail("REQUIRE_SERVICES=1 but this test needs redis-server on PATH")
    pytest.skip("needs redis-server on PATH")


class Process:
    """A subprocess in a session of its own, its output in a temporary log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None):
        self.name = name
        fd, log = tempfile.mkstemp(prefix=f"fault-{name}-", suffix=".log")
        os.close(fd)
        self.log = Path(log)
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches it and its children only
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL to the process and every process of its group (its pool children): nothing
        runs any shutdown code, as when a machine or a container is lost."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # children that outlived their parent
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.log.unlink(missing_ok=True)


class PrivateRedis:
    """``redis-server`` on a free loopback port, no persistence: stopping it loses every message,
    as a Redis that is wiped or replaced would."""

    def __init__(self):
        self.binary = require_redis_server()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> PrivateRedis:
        argv = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = Process("redis", argv)
        wait_for(f"redis-server on port {self.port}", self.ping, timeout=10)
        return self

    def ping(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        assert not self.ping()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def process_env(broker_url: str, **extra: str) -> dict[str, str]:
    """What a worker or beat started by the test gets: the test database, the private broker, the
    test settings (the production settings with a throwaway key) and the test's media folder."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_worker(broker_url: str, **extra: str) -> Process:
    """``celery -A annotator worker --pool=prefork --concurrency=1``, waited on until ready."""
    name = f"recon-{uuid.uuid4().hex[:8]}"
    argv = [
        str(CELERY),
        "-A",
        "annotator",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname={name}@%h",
    ]
    worker = Process("worker", argv, process_env(broker_url, **extra))

    def ready() -> bool:
        assert worker.alive(), f"the worker exited:\n{worker.tail()}"
        return " ready." in worker.output()

    wait_for("the worker to be ready", ready, timeout=60, interval=0.1)
    return worker


def start_beat(broker_url: str, **extra: str) -> Process:
    schedule = Path(tempfile.mkdtemp(prefix="fault-beat-")) / "schedule"
    argv = [str(CELERY), "-A", "annotator", "beat", "--loglevel=INFO", f"--schedule={schedule}"]
    beat = Process("beat", argv, process_env(broker_url, **extra))
    wait_for("beat to start", lambda: "beat: Starting..." in beat.output() or not beat.alive(), timeout=30)
    assert beat.alive(), beat.tail()
    return beat


@contextlib.contextmanager
def app_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (what ``start_job`` sends with) at ``url``, with the Redis
    transport options the settings give a Redis broker; put everything back afterwards."""
    from kombu import pools as kombu_pools

    from annotator.celery import app

    # Celery prefers the CELERY_BROKER_URL environment variable to broker_url; the write and read
    # URLs come first, so they are what is set here.
    saved = {
        key: app.conf.get(key) for key in ("broker_write_url", "broker_read_url", "broker_transport_options")
    }

    def drop_pools() -> None:
        # kombu keeps connection pools in a process-wide registry keyed by broker URL: a pool
        # closed here but left there would be handed out again, closed, to later tests.
        kombu_pools.reset()
        app._pool = None
        amqp = app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None

    options = dict(app.conf.broker_transport_options or {})
    if not str(settings.CELERY_BROKER_URL).startswith("redis"):  # the filesystem broker's options
        options = {"visibility_timeout": 7200, "socket_connect_timeout": 1, "socket_timeout": 2}
    drop_pools()
    app.conf.update(broker_write_url=url, broker_read_url=url, broker_transport_options=options)
    assert app.connection_for_write().as_uri(include_password=True).startswith(url.rsplit("/", 1)[0])
    try:
        yield
    finally:
        drop_pools()
        app.conf.update(saved)
