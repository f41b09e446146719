"""API list latency under load: p50/p95/p99 and requests/s of ``/api/accounts/`` for a team of
10,000 accounts, measured with wrk against gunicorn, next to ``/healthz`` measured in the same run.

    python -m bench api_list          # needs wrk (Debian: apt-get install wrk) and PostgreSQL

The benchmark never touches the database DATABASE_URL names: it connects to the same server
(default ``postgres://postgres@127.0.0.1:5432/``), creates its own scratch database (BENCH_DB,
default ``bench_api``), migrates and seeds it, and drops it at the end (BENCH_KEEP_DB=1 keeps it).
Gunicorn listens on a free loopback port only; wrk's runs are bounded in time.

Target (issue 3): p95 under 100 ms for a page of 50 accounts. Exit status 1 when an endpoint misses
it or answers anything but 200.

Environment: BENCH_ACCOUNTS (10,000), BENCH_OTHER_ACCOUNTS (3,000, in a second team the token's
user is not in), BENCH_SECONDS (20 per endpoint), BENCH_CONNECTIONS (4), BENCH_WORKERS (3 gunicorn
sync workers), BENCH_SEED (20240229).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

TARGET_P95_MS = 100.0
PAGE_SIZE = 50
DEEP_PAGE = 150
SEARCH_TERM = "walker"
WARMUP_SECONDS = 2
ROOT = Path(__file__).resolve().parent.parent

# wrk prints its own summary without a p95; this prints the numbers we need as one JSON line.
# The token comes from the environment, so the secret is never written to a file.
WRK_SCRIPT = """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, \\"non_2xx\\": %d, "
    .. "\\"p50_us\\": %d, \\"p95_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""

FIRST = (
    "emily", "grace", "linda", "nancy", "megan", "daniel", "kevin", "brian", "tyler", "jason", "maria",
    "jose", "olga", "anna", "dmitri", "sergei", "fatima", "ahmed", "chen", "wei", "priya", "rahul",
    "lucas", "sofia", "mateo", "camila", "oliver", "amelia", "james", "sarah", "mike", "jessica",
)  # fmt: skip
LAST = (
    "miller", "hughes", "turner", "lopez", "walker", "baker", "young", "carter", "evans", "parker",
    "smirnova", "ivanov", "garcia", "martinez", "khan", "ali", "wang", "li", "sharma", "patel",
    "silva", "santos", "rossi", "muller", "nguyen", "kim", "brown", "wilson", "taylor", "moore",
    "jackson", "white", "harris", "clark", "lewis", "robinson", "wright", "scott", "green", "adams",
)  # fmt: skip
OUTLET_A = ("daily", "free", "true", "patriot", "global", "real", "open", "people's", "independent")
OUTLET_B = ("news", "voice", "truth", "times", "herald", "wire", "report", "post", "eye", "view")
OUTLET_C = ("", "24", "today", "now", "daily", "hq", "live", "tv", "online")
PLACES = (
    "Texas", "Ohio", "Atlanta", "Berlin", "Lyon", "Kyiv", "Warsaw", "Manila", "Lagos", "Toronto",
    "Madrid", "Milan", "Dallas", "Phoenix", "Denver", "Seattle", "Bristol", "Dublin", "Riga",
)  # fmt: skip
TOPICS = (
    "energy prices", "border security", "free speech", "the economy", "farmers", "veterans",
    "small business", "our schools", "peace", "family values", "the truth", "local news",
)  # fmt: skip
BIOS = (
    "Mom of {n}. Proud {place} native. Fighting for {topic}.",
    "{place} | {topic} | opinions my own",
    "Retired teacher. Love my country, my dog and {topic}. No DMs.",
    "Independent journalist covering {topic}. Tips welcome.",
    "News you won't see on mainstream media. {topic}, {place} and more.",
    "Patriot. Christian. {topic} matters. #{tag}",
    "Just a regular guy from {place} asking questions about {topic}.",
    "Official page of {outlet}. Breaking news 24/7.",
    "",
)
TAGS = ("MAGA", "StandWithUkraine", "FreeSpeech", "Truth", "WakeUp", "NoWar", "Vote", "Europe")
PLATFORMS = (
    ("x", 50),
    ("facebook", 20),
    ("instagram", 10),
    ("telegram", 8),
    ("tiktok", 6),
    ("youtube", 4),
    ("reddit", 2),
)
PROFILE_URL = {
    "x": "https://x.com/{}",
    "facebook": "https://www.facebook.com/{}",
    "instagram": "https://www.instagram.com/{}/",
    "telegram": "https://t.me/{}",
    "tiktok": "https://www.tiktok.com/@{}",
    "youtube": "https://www.youtube.com/@{}",
    "reddit": "https://www.reddit.com/user/{}",
}
LANGUAGES = ("en", "en", "en", "es", "ru", "fr", "de", "uk", "pt")


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    baseline: bool = False


@dataclass
class Result:
    endpoint: Endpoint
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    p50: float
    p95: float
    p99: float
    max: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class Cpu:
    """CPU seconds spent during one measured wrk run, by whom."""

    wall: float
    busy: float  # the whole machine
    app: float  # gunicorn
    database: float  # PostgreSQL processes of the scratch database
    wrk: float
    others: dict[str, float]  # every other process, by command line

    @property
    def others_share(self) -> float:
        return sum(self.others.values()) / (self.wall * (os.cpu_count() or 1))


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "").replace(",", "") or default)


# --- the scratch database -----------------------------------------------------------------------


def scratch_database(url: str, name: str) -> str:
    """Create (or recreate) database ``name`` on the server ``url`` points at; its URL. Only the
    maintenance database ``postgres`` is connected to, never the one ``url`` names."""
    import psycopg
    from psycopg import sql

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{base}/{name}"


def drop_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- seeding ------------------------------------------------------------------------------------


def account_rows(team, *, count: int, rng: random.Random) -> list:
    """``count`` accounts shaped like a real mixed network: people, fake outlets, several platforms."""
    from cases.handles import normalize_handle
    from cases.models import Account, AccountKind, AccountSource

    platforms = [p for p, _ in PLATFORMS]
    weights = [w for _, w in PLATFORMS]
    seen: set[tuple[str, str]] = set()
    start = datetime(2009, 1, 1, tzinfo=UTC)
    rows = []
    while len(rows) < count:
        platform = rng.choices(platforms, weights)[0]
        if rng.random() < 0.85:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            display = f"{first.title()} {last.title()}"
            handle = rng.choice(
                (
                    f"{first}{last}{rng.randint(1950, 2005)}",
                    f"{first}_{last}",
                    f"{first[0]}{last}{rng.randint(1, 999)}",
                    f"real{first.title()}{last.title()}",
                    f"{first}.{last}.{rng.randint(1, 99)}",
                )
            )
            outlet = ""
        else:
            words = (rng.choice(OUTLET_A), rng.choice(OUTLET_B), rng.choice(OUTLET_C))
            outlet = " ".join(w.title() for w in words if w)
            display = outlet
            handle = "".join(words).replace("'", "") + (str(rng.randint(1, 99)) if rng.random() < 0.3 else "")
        if platform != "facebook":
            handle = handle.replace(".", "_")
        key = (platform, normalize_handle(handle))
        if key in seen:
            continue
        seen.add(key)
        bio = rng.choice(BIOS).format(
            n=rng.randint(1, 5),
            place=rng.choice(PLACES),
            topic=rng.choice(TOPICS),
            tag=rng.choice(TAGS),
            outlet=outlet or display,
        )
        rows.append(
            Account(
                team=team,
                platform=platform,
                handle=handle,
                handle_normalized=key[1],
                external_id=str(rng.randrange(10**9, 10**18)),
                display_name=display,
                bio=bio,
                profile_url=PROFILE_URL[platform].format(handle),
                created_on_platform=start + timedelta(seconds=rng.randrange(15 * 365 * 86400)),
                followers=int(rng.paretovariate(1.2) * 40),
                following=rng.randint(0, 3000),
                language=rng.choice(LANGUAGES),
                kind=AccountKind.REFERENCE if rng.random() < 0.05 else AccountKind.SUSPECT,
                source=AccountSource.IMPORT,
            )
        )
    return rows


def seed(*, accounts: int, other_accounts: int, seed: int) -> tuple[int, str]:
    """Two teams; a moderator of the first with a token. Returns the team's id and the secret."""
    from django.contrib.auth import get_user_model

    from cases.models import Account, Membership, Role, Team
    from cases.services.tokens import create_token

    rng = random.Random(seed)
    team = Team.objects.create(slug="bench-measured", name="Bench: measured team")
    other = Team.objects.create(slug="bench-other", name="Bench: another team")
    Account.objects.bulk_create(account_rows(team, count=accounts, rng=rng), batch_size=2000)
    Account.objects.bulk_create(account_rows(other, count=other_accounts, rng=rng), batch_size=2000)
    user = get_user_model().objects.create_user(username="bench-moderator")
    Membership.objects.create(user=user, team=team, role=Role.MODERATOR)
    _, secret = create_token(user=user, name="bench api_list")
    return team.pk, secret


# --- where the time goes, in-process ------------------------------------------------------------


def profile_queries(endpoints: list[Endpoint], secret: str) -> None:
    """Each endpoint's SQL, run once through Django's test client, then EXPLAIN ANALYZEd.

    Tells which query costs what, so a slow endpoint points at its cause (a COUNT over the
    team, a sort without an index, a sequential scan for ``?search=``)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")
    print("where the time goes (one request in-process, each SELECT re-run under EXPLAIN ANALYZE):")
    for endpoint in endpoints:
        if endpoint.baseline:
            continue
        client.get(endpoint.path)  # warm: imports, the connection, the token's last-used write
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            response = client.get(endpoint.path)
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(endpoint.path)
        if response.status_code != 200:
            raise SystemExit(f"{endpoint.path}: HTTP {response.status_code}: {response.content[:300]!r}")
        print(
            f"  {endpoint.label}: {len(captured.captured_queries)} queries, "
            f"median {statistics.median(timings):.1f} ms per request without load"
        )
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
            top = plan[0]
            table = from_table(sql)
            # The main table's scans and every sort: where a list query's time goes.
            notable = [
                f"{node['Node Type']}"
                + (f" using {node['Index Name']}" if "Index Name" in node else "")
                + f" ({node['Actual Rows'] * node['Actual Loops']:,} rows"
                + (
                    f", {node['Rows Removed by Filter']:,} filtered out"
                    if "Rows Removed by Filter" in node
                    else ""
                )
                + (f", {node['Sort Method']})" if "Sort Method" in node else ")")
                for node in walk(top["Plan"])
                if node.get("Relation Name") == table or "Sort" in node["Node Type"]
            ]
            print(f"    {top['Execution Time']:6.2f} ms  {summarize(sql):40}  {'; '.join(notable)}")
    print()


def walk(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from walk(child)


def from_table(sql: str) -> str:
    return sql.split(" FROM ", 1)[1].split()[0].strip('"') if " FROM " in sql else "?"


def summarize(sql: str) -> str:
    """A query as a few words: what it selects from, and whether it counts, sorts or pages."""
    upper = sql.upper()
    table = from_table(sql)
    kind = "COUNT(*)" if "COUNT(" in upper else "SELECT"
    extras = [word for word in ("LIKE", "ORDER BY", "OFFSET") if word in upper]
    return f"{kind} {table}" + (f" [{', '.join(extras)}]" if extras else "")


# --- gunicorn and wrk ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, port: int, workers: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "annotator.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--graceful-timeout",
        "5",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(base: str, server: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310 (our http:// URL)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def check_endpoint(base: str, endpoint: Endpoint, secret: str) -> str:
    """One request before the load: a wrong status or a short page would make the numbers moot."""
    # base is always http://127.0.0.1:<port>, built here; never a file: or other scheme.
    request = urllib.request.Request(  # noqa: S310
        base + endpoint.path, headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{endpoint.path}: HTTP {error.code}: {error.read()[:300]!r}") from None
    if endpoint.baseline:
        return f"{len(body)} bytes"
    data = json.loads(body)
    if len(data["results"]) != PAGE_SIZE:
        raise SystemExit(f"{endpoint.path}: {len(data['results'])} results, not a page of {PAGE_SIZE}")
    return f"{len(data['results'])} of {data['count']:,}, {len(body) / 1024:.0f} KiB"


def run_wrk(url: str, *, seconds: int, connections: int, script: Path, env: dict[str, str]) -> dict[str, int]:
    command = [
        "wrk",
        "--threads",
        "1",  # two cores: one load thread leaves the other to gunicorn and PostgreSQL
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "5s",
        "--script",
        str(script),
        url,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 30, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    raise SystemExit(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def process_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process we may read, with its command line."""
    snapshot = {}
    for proc in psutil.process_iter(["cmdline", "name", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is not None:
            command = " ".join(proc.info["cmdline"] or ()) or proc.info["name"] or "?"
            snapshot[proc.pid] = (command, times.user + times.system)
    return snapshot


class CpuSampler(threading.Thread):
    """Every process's CPU time over a window, sampled each second while the window lasts.

    Sampling rather than reading twice, because processes end within the window: Django recycles
    each worker's database connection after CONN_MAX_AGE (60 s), and the PostgreSQL backend takes
    its CPU time with it. A process that ends loses at most its last second."""

    INTERVAL = 1.0

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.first = process_cpu()
        self.last = dict(self.first)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.INTERVAL):
            self.last.update(process_cpu())

    def finish(self) -> dict[int, tuple[str, float]]:
        """Stop; each process's command line and CPU seconds spent within the window."""
        self.done.set()
        self.join()
        self.last.update(process_cpu())
        return {
            pid: (command, spent - self.first.get(pid, (command, 0.0))[1])
            for pid, (command, spent) in self.last.items()
        }


def busy_cpu() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def measure(
    base: str,
    endpoint: Endpoint,
    *,
    seconds: int,
    connections: int,
    script: Path,
    env: dict[str, str],
    server: subprocess.Popen,
    db_name: str,
) -> tuple[Result, Cpu]:
    url = base + endpoint.path
    run_wrk(url, seconds=WARMUP_SECONDS, connections=connections, script=script, env=env)
    gunicorn = {server.pid, *(child.pid for child in psutil.Process(server.pid).children(recursive=True))}
    sampler = CpuSampler()
    busy_before, children_before = busy_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    wall_before = time.monotonic()
    sampler.start()
    raw = run_wrk(url, seconds=seconds, connections=connections, script=script, env=env)
    spent_by_pid = sampler.finish()
    busy_after, children_after = busy_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    wall_after = time.monotonic()
    app = database = 0.0
    others: dict[str, float] = {}
    for pid, (command, spent) in spent_by_pid.items():
        if pid in gunicorn:
            app += spent
        elif command.startswith("postgres:") and db_name in command.split():
            database += spent
        elif pid != os.getpid() and str(script) not in command and spent > 0:  # wrk: counted below
            others[command] = others.get(command, 0.0) + spent
    cpu = Cpu(
        wall=wall_after - wall_before,
        busy=busy_after - busy_before,
        app=app,
        database=database,
        wrk=(children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
        others=others,
    )
    result = Result(
        endpoint=endpoint,
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=raw["errors"],
        non_2xx=raw["non_2xx"],
        p50=raw["p50_us"] / 1000,
        p95=raw["p95_us"] / 1000,
        p99=raw["p99_us"] / 1000,
        max=raw["max_us"] / 1000,
    )
    return result, cpu


# --- the benchmark ------------------------------------------------------------------------------


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench.api_list needs the load tool wrk, which is not installed.\n"
            "Install it (Debian/Ubuntu: apt-get install wrk) and run `python -m bench api_list` again."
        )
    with served_scratch("bench.api_list", "bench_api", "bench-api-") as (workdir, servers):
        run(workdir, servers)


@contextmanager
def served_scratch(
    bench: str, default_db: str, prefix: str, env: dict[str, str] | None = None
) -> Iterator[tuple[Path, list[subprocess.Popen]]]:
    """A scratch database (BENCH_DB, default ``default_db``) on the PostgreSQL server of
    DATABASE_URL and a temp folder, with the environment the seeding process and the servers it
    starts share: production-like (DEBUG off), plain HTTP on loopback, and a token budget far
    above what the load sends, so no 429 skews the numbers; plus ``env``. Yields the folder and a
    list the benchmark appends the servers it starts to; afterwards they are stopped, connections
    closed, the database dropped (unless BENCH_KEEP_DB=1) and the folder removed."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/"
    db_name = os.environ.get("BENCH_DB", default_db)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        scratch_url = scratch_database(url, db_name)
    except psycopg.OperationalError as error:
        shutil.rmtree(workdir, ignore_errors=True)
        raise SystemExit(f"{bench} needs PostgreSQL at {url.rsplit('/', 1)[0]}/: {error}") from None
    os.environ.update(
        {
            "DATABASE_URL": scratch_url,
            "DEBUG": "0",
            "SECRET_KEY": f"{prefix}only-secret-not-for-any-deployment-0123456789abcdef0123456789",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "API_TOKEN_RATE": "1000000/min",
            "VAR_DIR": str(workdir / "var"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "annotator.settings",
            **(env or {}),
        }
    )
    (workdir / "var" / "static").mkdir(parents=True)  # whitenoise warns about a missing STATIC_ROOT
    servers: list[subprocess.Popen] = []
    try:
        yield workdir, servers
    finally:
        for server in servers:
            stop(server)
        from django.apps import apps

        if apps.ready:
            from django.db import connections

            connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            drop_database(url, db_name)
        shutil.rmtree(workdir, ignore_errors=True)


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run(workdir: Path, servers: list[subprocess.Popen]) -> None:
    """Seed, profile, load. Appends gunicorn to ``servers`` as soon as it starts, for main to stop."""
    import django

    accounts = env_int("BENCH_ACCOUNTS", 10_000)
    other_accounts = env_int("BENCH_OTHER_ACCOUNTS", 3_000)
    seconds = env_int("BENCH_SECONDS", 20)
    connections = env_int("BENCH_CONNECTIONS", 4)
    workers = env_int("BENCH_WORKERS", 3)

    started = time.perf_counter()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - started
    started = time.perf_counter()
    team_id, secret = seed(
        accounts=accounts, other_accounts=other_accounts, seed=env_int("BENCH_SEED", 20240229)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have, long before anyone measures
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    seeded = time.perf_counter() - started

    endpoints = [
        Endpoint("/healthz (baseline)", "/healthz", baseline=True),
        Endpoint("first page", f"/api/accounts/?page_size={PAGE_SIZE}"),
        Endpoint(f"deep page {DEEP_PAGE}", f"/api/accounts/?page={DEEP_PAGE}&page_size={PAGE_SIZE}"),
        Endpoint(f"search {SEARCH_TERM!r}", f"/api/accounts/?search={SEARCH_TERM}&page_size={PAGE_SIZE}"),
    ]
    print(
        f"PostgreSQL {server_version}, {os.cpu_count()} CPUs; scratch database migrated in {migrated:.1f} s, "
        f"seeded in {seeded:.1f} s: team {team_id} with {accounts:,} accounts (the token's user is a "
        f"moderator there), another team with {other_accounts:,}"
    )
    print()
    profile_queries(endpoints, secret)
    connection.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "gunicorn.log"
    server = start_gunicorn(port=port, workers=workers, env=dict(os.environ), log=log)
    servers.append(server)
    wait_healthy(base, server, log)
    script = workdir / "auth.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    wrk_env = {**os.environ, "BENCH_TOKEN": secret}

    print(
        f"load: wrk, 1 thread, {connections} connections, {WARMUP_SECONDS} s warm-up then {seconds} s per "
        f"endpoint, against gunicorn ({workers} sync workers) on {base}"
    )
    for endpoint in endpoints:
        print(f"  {endpoint.path}: {check_endpoint(base, endpoint, secret)}")
    measured = [
        measure(
            base,
            endpoint,
            seconds=seconds,
            connections=connections,
            script=script,
            env=wrk_env,
            server=server,
            db_name=connection.settings_dict["NAME"],
        )
        for endpoint in endpoints
    ]
    results = [result for result, _ in measured]
    report(measured)
    if server.poll() is not None:
        print(f"gunicorn died during the run:\n{log.read_text()[-3000:]}")
    failed = [
        r for r in results if r.errors or r.non_2xx or (not r.endpoint.baseline and r.p95 >= TARGET_P95_MS)
    ]
    if failed:
        raise SystemExit(f"FAIL: {', '.join(r.endpoint.label for r in failed)}")
    print(f"PASS: every list endpoint's p95 is under {TARGET_P95_MS:.0f} ms, with no error")


def report(measured: list[tuple[Result, Cpu]]) -> None:
    results = [result for result, _ in measured]
    baseline = next(r for r in results if r.endpoint.baseline)
    print()
    header = f"{'':22}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"
    print(f"{header}{'p95 vs healthz':>16}  target p95 < {TARGET_P95_MS:.0f} ms")
    for r in results:
        if r.endpoint.baseline:
            verdict = "(floor of the stack)"
        elif r.errors or r.non_2xx:
            verdict = f"FAIL ({r.non_2xx} non-2xx, {r.errors} socket errors)"
        else:
            verdict = (
                f"{'PASS' if r.p95 < TARGET_P95_MS else 'FAIL'} ({r.p95 / TARGET_P95_MS:.2f}x the budget)"
            )
        print(
            f"{r.endpoint.label:22}{r.requests:>9,}{r.rps:>8.0f}{r.p50:>8.1f}{r.p95:>8.1f}{r.p99:>8.1f}"
            f"{r.max:>8.1f}{r.p95 / baseline.p95:>15.1f}x  {verdict}"
        )
    print()
    print(
        "Latency here includes queueing: connections outnumber sync workers, and wrk, gunicorn and "
        "PostgreSQL share the machine's CPUs. Where the CPU went during each run:"
    )
    print()
    cpus = os.cpu_count() or 1
    header = f"{'CPU ms per request':22}{'gunicorn':>9}{'postgres':>9}{'wrk':>8}"
    print(f"{header}{'machine busy':>14}{'other processes':>17}")
    for r, cpu in measured:
        per = 1000 / r.requests
        print(
            f"{r.endpoint.label:22}{cpu.app * per:>9.2f}{cpu.database * per:>9.2f}{cpu.wrk * per:>8.2f}"
            f"{cpu.busy / (cpu.wall * cpus):>13.0%}{cpu.others_share:>16.0%}"
        )
    noisy = [cpu for _, cpu in measured if cpu.others_share > 0.05]
    if noisy:
        spent: dict[str, float] = {}
        for cpu in noisy:
            for command, seconds in cpu.others.items():
                spent[command] = spent.get(command, 0.0) + seconds
        wall = sum(cpu.wall for cpu in noisy) * cpus
        print()
        print(
            "WARNING: other processes used the CPUs during the run; the latencies above are inflated by them:"
        )
        for command, seconds in sorted(spent.items(), key=lambda item: -item[1])[:5]:
            print(f"  {seconds / wall:4.0%}  {command[:100]}")


if __name__ == "__main__":
    main()
