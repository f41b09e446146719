"""PostgreSQL restarted under a running app (issue 8, item 8): requests fail fast with a 503 and
recover by themselves; a job's task retries and finishes.

Real processes throughout, on a PostgreSQL cluster of the test's own (initdb in a temporary
folder, a free port; the shared server is never touched), migrated by ``manage.py migrate``:

1. gunicorn serves ``annotator.wsgi`` with DEBUG off; a moderator signs in through the login
   form and holds an API token; a job is started from the case page just before the outage;
2. PostgreSQL is stopped (``pg_ctl stop -m fast``). Every page, API call, sign-in and /healthz
   answers 503 within DATABASE_CONNECT_TIMEOUT, plainly, with Retry-After, never a 500 or a
   traceback. A Celery worker starts meanwhile, takes the job, and retries its task;
3. PostgreSQL is started again. Without restarting anything, requests answer 200 again within a
   few seconds, and the job's task, retried, finishes the job.

The web and worker processes use tests.settings (the production settings with plain-HTTP cookies
and no static-files manifest, so no collectstatic is needed) with DEBUG=0 and the private
cluster's DATABASE_URL. The broker is the configured Redis (its default queue, purged before and
after, like the ``celery_worker`` fixture). Needs PostgreSQL's server programs (initdb, pg_ctl)
and a Redis broker: skipped without them, a failure under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import psycopg
import pytest
import requests
from django.conf import settings

from annotator.middleware import ERROR_CODE, MESSAGE, RETRY_AFTER_SECONDS
from tests.support import free_port, wait_for

pytestmark = [pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
FAIL_FAST_BOUND = 3.0  # seconds: DATABASE_CONNECT_TIMEOUT's default; a refused connection is instant
RECOVERY_BOUND = 5.0  # seconds from PostgreSQL accepting connections to the app answering 200
PASSWORD = "restart drill password 7Q"
RETRY_LINE = re.compile(r"recount_case_task\[[0-9a-f-]+\] retry: Retry in \d+s")
# What a 503 must never show: the exception, the driver, where the database is.
LEAKS = ("Traceback", "OperationalError", "InterfaceError", "psycopg", "connection refused", "5432")


def missing(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but this test needs {reason}")
    pytest.skip(f"needs {reason}")


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server programs on the machine (Debian's layout, then PATH)."""
    dirs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: int(re.sub(r"\D", "", Path(d).parent.name) or 0),
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        dirs.append(str(Path(on_path).resolve().parent))
    for d in dirs:
        if os.access(Path(d) / "initdb", os.X_OK) and os.access(Path(d) / "pg_ctl", os.X_OK):
            return Path(d)
    return None


class PrivatePostgres:
    """A throwaway cluster: trust auth, 127.0.0.1 and a free port, its socket in its own folder.
    Run as the ``postgres`` user when the test runs as root (initdb refuses root)."""

    def __init__(self, bindir: Path, folder: Path):
        self.bindir = bindir
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.as_postgres = {}
        if os.geteuid() == 0:
            try:
                import pwd

                entry = pwd.getpwnam("postgres")
            except KeyError:
                missing("a 'postgres' OS user to run a private cluster as (the test runs as root)")
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            self.as_postgres = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/annotator"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.folder,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
            **self.as_postgres,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=30"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "postgres.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def destroy(self) -> None:
        """Stop the cluster however it can be stopped (by its own postmaster's pid last)."""
        if self.postmaster_pid() is not None:
            try:
                self.stop("immediate")
            except (subprocess.SubprocessError, OSError):
                pid = self.postmaster_pid()
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)


class Service:
    """A subprocess in a session of its own, its output in a log file; stopped by its own pid."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path):
        self.name = name
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} ---\n" + "\n".join(self.text().splitlines()[-lines:])

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"{self.name} exited ({self.process.returncode})\n{self.tail()}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)  # the group is this process's own session
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def purge_broker() -> None:
    from annotator.celery import app

    app.control.purge()


@pytest.fixture
def stack():
    """The private cluster, folder and child environment; everything stopped at the end."""
    bindir = postgres_bindir()
    if bindir is None:
        missing("PostgreSQL's server programs (initdb, pg_ctl)")
    broker = str(settings.CELERY_BROKER_URL)
    if not broker.startswith(("redis://", "rediss://")):
        missing("a Redis broker (set CELERY_BROKER_URL)")
    folder = Path(tempfile.mkdtemp(prefix="pgfault-"))
    postgres = PrivatePostgres(bindir, folder)
    services: list[Service] = []
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": postgres.url,
        "CELERY_BROKER_URL": broker,
        "DEBUG": "0",
        "SECRET_KEY": "fault-test-" + uuid.uuid4().hex * 2,
        "VAR_DIR": str(folder / "var"),
        "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_CONNECT_TIMEOUT", None)  # the default is what is measured
    purge_broker()
    try:
        yield postgres, services, env, folder
    finally:
        for service in reversed(services):
            service.stop()
        postgres.destroy()
        purge_broker()
        shutil.rmtree(folder, ignore_errors=True)


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


SETUP = f"""
import json
from cases.models import Role
from cases.services.cases import create_case
from cases.services.teams import add_member, create_team, create_user
from cases.services.tokens import create_token
team = create_team(slug="restart-drill", name="Restart drill")
user = create_user(username="drill-mod", password={PASSWORD!r})
add_member(team=team, user=user, role=Role.MODERATOR)
case = create_case(team=team, title="PostgreSQL restart", created_by=user)
_token, secret = create_token(user=user, name="restart drill")
print(json.dumps({{"case_id": case.pk, "token": secret}}))
"""


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_postgresql_restart_fails_fast_and_recovers_by_itself(stack, record_property):
    postgres, services, env, folder = stack
    began = time.monotonic()
    postgres.init()
    postgres.start()
    with psycopg.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres", autocommit=True
    ) as admin:
        admin.execute("CREATE DATABASE annotator")
    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    web = Service(
        "gunicorn",
        [
            *(sys.executable, "-m", "gunicorn", "annotator.wsgi:application"),
            *("-b", f"127.0.0.1:{web_port}", "-w", "2", "--timeout", "60", "--graceful-timeout", "5"),
        ],
        env,
        folder,
    )
    services.append(web)
    manage(env, "migrate", "--noinput", "-v0")  # gunicorn boots meanwhile
    ids = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
    case_id, token = ids["case_id"], ids["token"]

    browser = requests.Session()
    browser.trust_env = False  # no proxy for 127.0.0.1
    api = requests.Session()
    api.trust_env = False
    api.headers["Authorization"] = f"Bearer {token}"

    def healthy():
        web.assert_alive()
        try:
            return browser.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for("gunicorn to answer /healthz", healthy, timeout=60, interval=0.2)
    browser.get(f"{base}/login/", timeout=10)
    signed_in = browser.post(
        f"{base}/login/",
        data={
            "username": "drill-mod",
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    csrf = browser.cookies["csrftoken"]
    anonymous = requests.Session()
    anonymous.trust_env = False
    anonymous.get(f"{base}/login/", timeout=10)

    requests_to_make = {
        "home page": lambda: browser.get(f"{base}/", timeout=10),
        "case page": lambda: browser.get(f"{base}/cases/{case_id}/", timeout=10),
        "start a job (form POST)": lambda: browser.post(
            f"{base}/cases/{case_id}/recount/",
            headers={"X-CSRFToken": csrf},
            allow_redirects=False,
            timeout=10,
        ),
        "API list": lambda: api.get(f"{base}/api/cases/", timeout=10),
        "API detail": lambda: api.get(f"{base}/api/cases/{case_id}/", timeout=10),
        "sign-in": lambda: anonymous.post(
            f"{base}/login/",
            data={
                "username": "drill-mod",
                "password": PASSWORD,
                "csrfmiddlewaretoken": anonymous.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=10,
        ),
        "healthz": lambda: browser.get(f"{base}/healthz", timeout=10),
    }
    for name in ("home page", "case page", "API list", "API detail", "healthz"):
        response = requests_to_make[name]()
        assert response.status_code == 200, (name, response.status_code)
    web_workers = sorted(p.pid for p in psutil.Process(web.process.pid).children())

    # A job started just before the outage: its message waits in the broker for a worker.
    started = browser.post(
        f"{base}/cases/{case_id}/recount/", headers={"X-CSRFToken": csrf}, allow_redirects=False, timeout=10
    )
    assert started.status_code == 302, started.status_code
    job_id = int(re.search(r"/jobs/(\d+)/", started.headers["Location"]).group(1))

    # --- PostgreSQL goes away -------------------------------------------------------------------
    postgres.stop("fast")
    down_at = time.monotonic()
    worker = Service(
        "celery-worker",
        [
            *(sys.executable, "-m", "celery", "-A", "annotator", "worker", "--concurrency=1"),
            *("--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            f"--hostname=pgfault-{uuid.uuid4().hex[:8]}@%h",
        ],
        env,
        folder,
    )
    services.append(worker)

    timings: dict[str, float] = {}
    for name, call in requests_to_make.items():
        response, elapsed = timed(call)
        timings[name] = elapsed
        body = response.text
        assert response.status_code == 503, (name, response.status_code, body[:300])
        assert elapsed < FAIL_FAST_BOUND, (name, elapsed)
        for leak in (*LEAKS, str(postgres.port)):
            assert leak.lower() not in body.lower(), (name, leak, body[:300])
        if name == "healthz":
            assert body == "database unavailable"
            continue
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS), name
        if name.startswith("API"):
            assert response.json() == {"error": {"code": ERROR_CODE, "message": MESSAGE, "fields": {}}}
        else:
            assert response.headers["Content-Type"].startswith("text/html"), name
            assert MESSAGE in body, name
    # A second round: the first found the old connections dead, this one finds no server at all.
    for name in ("home page", "API list"):
        response, elapsed = timed(requests_to_make[name])
        assert response.status_code == 503 and elapsed < FAIL_FAST_BOUND, (name, elapsed)
        timings[name] = max(timings[name], elapsed)

    def retried():
        worker.assert_alive()
        return RETRY_LINE.search(worker.text())

    wait_for("the worker to retry the job's task", retried, timeout=90, interval=0.2)
    outage_seconds = time.monotonic() - down_at

    # --- PostgreSQL comes back ------------------------------------------------------------------
    restart_at = time.monotonic()
    postgres.start()
    up_at = time.monotonic()

    def answers():
        try:
            return api.get(f"{base}/api/cases/", timeout=10).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for("the API to answer 200 again", answers, timeout=30)
    recovery = time.monotonic() - up_at
    assert recovery < RECOVERY_BOUND, recovery
    for _ in range(3):  # both gunicorn workers, pages and API alike
        for name in ("home page", "case page", "API list", "API detail", "healthz"):
            response = requests_to_make[name]()
            assert response.status_code == 200, (name, response.status_code, response.text[:300])
    assert sorted(p.pid for p in psutil.Process(web.process.pid).children()) == web_workers, (
        "a gunicorn worker was restarted"
    )

    def job_finished():
        worker.assert_alive()
        job = api.get(f"{base}/api/jobs/{job_id}/", timeout=10).json()
        return job if job["status"] in {"succeeded", "failed", "cancelled"} else None

    job = wait_for("the retried job to finish", job_finished, timeout=60, interval=0.2)
    job_done = time.monotonic() - up_at
    assert job["status"] == "succeeded", (job, worker.tail())
    assert job["result"] == {"account_count": 0, "evidence_count": 0, "labeled_account_count": 0}
    # Its tries while the database was down never got as far as starting it: one attempt.
    assert job["attempts"] == 1, job
    retries = len(RETRY_LINE.findall(worker.text()))
    assert retries >= 1

    summary = {
        "503_seconds_max": round(max(timings.values()), 3),
        "503_seconds": {name: round(value, 3) for name, value in timings.items()},
        "outage_seconds": round(outage_seconds, 1),
        "postgres_restart_seconds": round(up_at - restart_at, 2),
        "recovery_seconds": round(recovery, 3),
        "job_finished_after_restart_seconds": round(job_done, 2),
        "task_retries": retries,
        "test_seconds": round(time.monotonic() - began, 1),
    }
    record_property("database_restart", summary)
    print("database restart:", json.dumps(summary))
