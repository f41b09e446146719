"""Load (issue 8): 50 moderators working the review queues at once through the API, on the whole
stack — gunicorn, PostgreSQL, Redis and two Celery workers, all on loopback — then SQL on the
tables to prove that the load broke no rule: no double claim, no lost item, one label per
completed claim.

    python -m bench load_moderators                   # needs PostgreSQL, Redis and locust
    LOAD_SECONDS=60 python -m bench load_moderators   # a short run

Like bench.api_list, it never touches the database DATABASE_URL names: it connects to that server
(default ``postgres://postgres@127.0.0.1:5432/``), creates a scratch database (BENCH_DB, default
``bench_load_moderators``), seeds it in bulk and drops it at the end (BENCH_KEEP_DB=1 keeps it).
The Celery workers use the broker of CELERY_BROKER_URL (default ``redis://127.0.0.1:6379/15``):
give the benchmark a Redis database nobody else uses. Every server listens on 127.0.0.1 only, and
every Locust run is bounded in time.

Data: two teams, 60 users (the measured team: 50 moderators with API tokens, 3 leads, an admin;
the other team: 6 people), 12,000 accounts, 2,000 cases, 2,000 evidence notes, and 10,000 queue
items in 5 queues of 2,000 (one of them wants two labels per item).

Load: Locust, headless. First a baseline: the same request mix by 1 moderator who does not pause
(LOAD_BASELINE_SECONDS, 20), i.e. each endpoint's latency with nothing else going on. Then
LOAD_USERS (50) moderators for LOAD_SECONDS (300), each reading an item for LOAD_THINK seconds on
average (2; a person takes longer, so this is a compressed day). What a moderator does is in
bench/_locust_moderators.py.

Report: claims per second, p50/p95/p99 per endpoint and its p95 against the baseline's, the count
of 5xx answers (must be 0) and of any other unexpected status, where the CPU went, and the SQL
oracle. Exit status 1 on any 5xx, any unexpected status or any oracle failure.

Environment besides the above: LOAD_WORKERS (3 gunicorn workers) x LOAD_THREADS (4 threads each),
LOAD_SPAWN_RATE (10 moderators a second), BENCH_SEED (20240229).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.api_list import (
    LAST,
    CpuSampler,
    account_rows,
    busy_cpu,
    env_int,
    free_port,
    served_scratch,
    wait_healthy,
)

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().with_name("_locust_moderators.py")
QUEUES = 5
ITEMS_PER_QUEUE = 2_000
ACCOUNTS_PER_CASE = 10
MODERATORS = 50
SEARCH_TERMS = ("walker", "garcia", "news", "truth", "patel", "daily")


def locust_command() -> str | None:
    beside = Path(sys.executable).with_name("locust")
    return str(beside) if beside.exists() else shutil.which("locust")


# --- seeding ------------------------------------------------------------------------------------


def seed(rng: random.Random) -> dict:
    """Everything in bulk, except the queues and tokens, which their services make (both are bulk
    inside). Returns the plan the Locust process reads: one token and home queue per moderator."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from cases.models import (
        Account,
        AccountKind,
        Case,
        CaseAccount,
        Evidence,
        EvidenceKind,
        Membership,
        Priority,
        Role,
        Team,
    )
    from cases.models.cases import CaptureMethod
    from cases.services.evidence import _content_hash
    from cases.services.lead_cases import create_queue_from_cases
    from cases.services.tokens import create_token

    user_model = get_user_model()
    measured = Team.objects.create(slug="bench-load", name="Bench: moderators under load")
    other = Team.objects.create(slug="bench-load-other", name="Bench: another team")

    people = [
        *(("moderator", measured, Role.MODERATOR, n) for n in range(MODERATORS)),
        *(("lead", measured, Role.LEAD, n) for n in range(3)),
        ("admin", measured, Role.ADMIN, 0),
        ("other-lead", other, Role.LEAD, 0),
        *(("other-moderator", other, Role.MODERATOR, n) for n in range(5)),
    ]
    users = []
    for kind, _, _, n in people:
        user = user_model(username=f"bench-{kind}-{n:02d}")
        user.set_unusable_password()
        users.append(user)
    users = user_model.objects.bulk_create(users)
    Membership.objects.bulk_create(
        Membership(user=user, team=team, role=role)
        for user, (_, team, role, _) in zip(users, people, strict=True)
    )
    moderators, leads = users[:MODERATORS], users[MODERATORS : MODERATORS + 3]

    def accounts(team, suspects: int) -> list:
        rows = account_rows(team, count=int(suspects * 1.2), rng=rng)
        chosen = [a for a in rows if a.kind == AccountKind.SUSPECT][:suspects]
        chosen += [a for a in rows if a.kind != AccountKind.SUSPECT][: suspects // 20]
        return Account.objects.bulk_create(chosen, batch_size=2000)

    measured_accounts = [
        a for a in accounts(measured, QUEUES * ITEMS_PER_QUEUE) if a.kind == AccountKind.SUSPECT
    ]
    other_accounts = accounts(other, 1_905)

    def cases(team, count: int, lead) -> list:
        return Case.objects.bulk_create(
            Case(
                team=team,
                title=f"Network {n:04d}: {rng.choice(LAST).title()} cluster",
                priority=rng.choice(Priority.values),
                lead=lead if n % 3 == 0 else None,
            )
            for n in range(count)
        )

    measured_cases = cases(measured, 1_600, leads[0])
    other_cases = cases(other, 400, users[-6])
    queued_cases = measured_cases[: QUEUES * ITEMS_PER_QUEUE // ACCOUNTS_PER_CASE]
    links = [
        CaseAccount(case=case, account=measured_accounts[n * ACCOUNTS_PER_CASE + k], added_by=leads[0])
        for n, case in enumerate(queued_cases)
        for k in range(ACCOUNTS_PER_CASE)
    ]
    links += [
        CaseAccount(case=case, account=other_accounts[n * ACCOUNTS_PER_CASE + k])
        for n, case in enumerate(other_cases[:190])
        for k in range(ACCOUNTS_PER_CASE)
    ]
    CaseAccount.objects.bulk_create(links, batch_size=5000)

    now = timezone.now()
    notes = []
    for n, case in enumerate(queued_cases):
        for k in range(2):
            note = Evidence(
                case=case,
                kind=EvidenceKind.NOTE,
                account=measured_accounts[n * ACCOUNTS_PER_CASE + k],
                title=f"Observation {k + 1}",
                captured_text=f"Posts in bursts in {rng.choice(('Moscow', 'Tehran'))} office hours.",
                captured_by=leads[0],
                captured_at=now,
                capture_method=CaptureMethod.MANUAL,
            )
            note.content_sha256 = _content_hash(note, [], [])
            notes.append(note)
    Evidence.objects.bulk_create(notes, batch_size=2000)

    case_t, link_t, evidence_t = (
        connection.ops.quote_name(m._meta.db_table) for m in (Case, CaseAccount, Evidence)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {case_t} c SET "  # noqa: S608
            f"account_count = (SELECT count(*) FROM {link_t} l WHERE l.case_id = c.id), "
            f"evidence_count = (SELECT count(*) FROM {evidence_t} e WHERE e.case_id = c.id)"
        )

    queues = []
    per_queue = ITEMS_PER_QUEUE // ACCOUNTS_PER_CASE
    for q in range(QUEUES):
        queue = create_queue_from_cases(
            team=measured,
            cases=queued_cases[q * per_queue : (q + 1) * per_queue],
            name=f"Triage {q + 1}" + (" (two reviewers)" if q == QUEUES - 1 else ""),
            created_by=leads[0],
            labels_per_item=2 if q == QUEUES - 1 else 1,
        )
        queues.append(queue.pk)
    plan = {
        "queues": queues,
        "search_terms": list(SEARCH_TERMS),
        "moderators": [
            {"token": create_token(user=user, name="bench load")[1], "home_queue": queues[n % QUEUES]}
            for n, user in enumerate(moderators)
        ],
        "team": measured.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have, long before a working day
    return plan


# --- the stack ----------------------------------------------------------------------------------


def start_gunicorn(
    *, port: int, workers: int, threads: int, env: dict[str, str], log: Path
) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "annotator.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--graceful-timeout",
        "5",
        # Longer than a moderator's pause: with gunicorn's 2 s default, a request sent just as the
        # server closes the idle connection gets a reset (no HTTP status), which a browser would
        # retry but Locust does not. Behind a proxy the proxy holds the connections anyway.
        "--keep-alive",
        "30",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def start_celery(name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "annotator", "worker", "--pool", "solo"]
    command += ["--hostname", f"{name}@%h", "--loglevel", "WARNING"]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@dataclass
class Run:
    label: str
    users: int
    seconds: float
    latencies: dict[str, list[float]]
    statuses: dict[str, dict[str, int]]
    outcomes: dict[str, int]
    cpu: dict[str, float]

    def count(self, name: str) -> int:
        return len(self.latencies.get(name, ()))

    def status_count(self, predicate) -> int:
        return sum(
            n for counts in self.statuses.values() for code, n in counts.items() if predicate(int(code))
        )


def run_locust(
    *, label: str, base: str, users: int, seconds: int, think: float, workdir: Path, env: dict, pids: dict
) -> Run:
    result = workdir / f"{label}.json"
    command = [
        locust_command(),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(env_int("LOAD_SPAWN_RATE", 10)),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "30",  # a moderator finishes the item in hand: no label is left half-done by the stop
        "--host",
        base,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    run_env = {**env, "LOAD_RESULT": str(result), "LOAD_THINK": str(think)}
    sampler = CpuSampler()
    busy_before, started = busy_cpu(), time.monotonic()
    sampler.start()
    with (workdir / f"{label}.locust.log").open("wb") as out:
        done = subprocess.run(
            command, cwd=ROOT, env=run_env, stdout=out, stderr=subprocess.STDOUT, timeout=seconds + 120
        )
    spent = sampler.finish()
    wall, busy = time.monotonic() - started, busy_cpu() - busy_before
    if not result.exists():
        log = (workdir / f"{label}.locust.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"locust wrote no results (exit {done.returncode}):\n{log}")
    raw = json.loads(result.read_text())
    cpu = {"app": 0.0, "celery": 0.0, "postgres": 0.0, "locust": 0.0, "others": 0.0}
    for pid, (command_line, seconds_spent) in spent.items():
        if pid in pids["app"]:
            cpu["app"] += seconds_spent
        elif pid in pids["celery"]:
            cpu["celery"] += seconds_spent
        elif command_line.startswith("postgres:") and pids["db"] in command_line.split():
            cpu["postgres"] += seconds_spent
        elif "locust" in command_line:
            cpu["locust"] += seconds_spent
        elif pid != os.getpid() and seconds_spent > 0:
            cpu["others"] += seconds_spent
    cpu["wall"], cpu["busy"] = wall, busy
    for error in raw["errors"]:
        print(f"  {label}: no answer: {error}")
    return Run(label, users, seconds, raw["latencies_ms"], raw["statuses"], raw["outcomes"], cpu)


# --- the oracle ---------------------------------------------------------------------------------


def oracle(team_id: int) -> tuple[list[str], dict[str, int]]:
    """SQL over the lease, item and label tables after the load. Failures, and the counts."""
    from django.db import connection

    from cases.models import Assignment, Case, Label, Queue, QueueItem

    item_t, lease_t, label_t, queue_t, case_t = (
        connection.ops.quote_name(m._meta.db_table) for m in (QueueItem, Assignment, Label, Queue, Case)
    )
    live = "a.state = 'active' AND a.expires_at > now()"
    items = f"{item_t} i JOIN {queue_t} q ON q.id = i.queue_id"  # the measured team's items: q.team_id
    leases = f"{lease_t} a JOIN {items} ON i.id = a.item_id"
    completed = f"SELECT count(*) FROM {lease_t} a WHERE a.item_id = i.id AND a.state = 'completed'"  # noqa: S608
    has_label = (
        f"SELECT 1 FROM {label_t} l WHERE l.case_id = i.case_id AND l.account_id = i.account_id "  # noqa: S608
        "AND l.annotator_id = a.user_id"
    )

    def one(sql: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, [team_id])
            return cursor.fetchone()[0]

    # S608: every name interpolated below is a table name from the models, quoted; the team is a parameter.
    counts = {
        "items": one(f"SELECT count(*) FROM {items} WHERE q.team_id = %s"),  # noqa: S608
        # An item with more live-or-completed leases than its queue asks labels for, or two of one person.
        "double_claims": one(
            f"SELECT count(*) FROM (SELECT i.id FROM {leases} WHERE q.team_id = %s "  # noqa: S608
            f"AND (a.state = 'completed' OR ({live})) GROUP BY i.id, q.labels_per_item "
            "HAVING count(*) > q.labels_per_item OR count(DISTINCT a.user_id) < count(*)) d"
        ),
        # Every item is done (its label count reached the queue's), claimed (a live lease) or
        # available; lost is anything else: a count that disagrees with its completed leases, a
        # done flag that disagrees with the count.
        "lost_items": one(
            f"SELECT count(*) FROM {items} WHERE q.team_id = %s AND (i.label_count <> ({completed}) "  # noqa: S608
            "OR i.is_done <> (i.label_count >= q.labels_per_item))"
        ),
        "done": one(f"SELECT count(*) FROM {items} WHERE q.team_id = %s AND i.is_done"),  # noqa: S608
        "claimed_live": one(
            f"SELECT count(*) FROM {items} WHERE q.team_id = %s AND NOT i.is_done "  # noqa: S608
            f"AND EXISTS (SELECT 1 FROM {lease_t} a WHERE a.item_id = i.id AND {live})"
        ),
        "leases": one(f"SELECT count(*) FROM {leases} WHERE q.team_id = %s"),  # noqa: S608
        "completed_claims": one(
            f"SELECT count(*) FROM {leases} WHERE q.team_id = %s AND a.state = 'completed'"  # noqa: S608
        ),
        "skipped_claims": one(f"SELECT count(*) FROM {leases} WHERE q.team_id = %s AND a.state = 'skipped'"),  # noqa: S608
        "labels": one(
            f"SELECT count(*) FROM {label_t} l JOIN {case_t} c ON c.id = l.case_id WHERE c.team_id = %s"  # noqa: S608
        ),
        # A completed lease whose holder has no label on the item's account.
        "completed_without_label": one(
            f"SELECT count(*) FROM {leases} WHERE q.team_id = %s AND a.state = 'completed' "  # noqa: S608
            f"AND NOT EXISTS ({has_label})"
        ),
    }
    counts["available"] = counts["items"] - counts["done"] - counts["claimed_live"]
    failures = []
    if counts["double_claims"]:
        failures.append(f"{counts['double_claims']} item(s) claimed beyond labels_per_item")
    if counts["lost_items"]:
        failures.append(f"{counts['lost_items']} lost item(s)")
    if counts["labels"] != counts["completed_claims"]:
        failures.append(f"{counts['labels']} labels but {counts['completed_claims']} completed claims")
    if counts["completed_without_label"]:
        failures.append(f"{counts['completed_without_label']} completed claim(s) without their label")
    return failures, counts


# --- the benchmark ------------------------------------------------------------------------------


def main() -> None:
    if locust_command() is None:
        raise SystemExit(
            "bench.load_moderators needs Locust (requirements-dev.txt: pip install -r requirements-dev.txt)."
        )
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        broker = "redis://127.0.0.1:6379/15"
    scratch = served_scratch(
        "bench.load_moderators", "bench_load_moderators", "bench-load-", {"CELERY_BROKER_URL": broker}
    )
    with scratch as (workdir, servers):
        ok = run(workdir, servers, os.environ["DATABASE_URL"].rsplit("/", 1)[1])
    if not ok:
        sys.exit(1)


def run(workdir: Path, servers: list[subprocess.Popen], db_name: str) -> bool:
    import django

    seconds = env_int("LOAD_SECONDS", 300)
    baseline_seconds = env_int("LOAD_BASELINE_SECONDS", 20)
    users = env_int("LOAD_USERS", MODERATORS)
    workers, threads = env_int("LOAD_WORKERS", 3), env_int("LOAD_THREADS", 4)
    think = float(os.environ.get("LOAD_THINK", "2"))

    started = time.perf_counter()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - started
    started = time.perf_counter()
    plan = seed(random.Random(env_int("BENCH_SEED", 20240229)))
    seeded = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    connection.close()
    plan_path = workdir / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")  # tokens: in the temp dir, removed at the end
    print(
        f"PostgreSQL {server_version}, {os.cpu_count()} CPUs; scratch database migrated in {migrated:.1f} s, "
        f"seeded in {seeded:.1f} s: 2 teams, 60 users, 2,000 cases, {QUEUES * ITEMS_PER_QUEUE:,} queue items "
        f"in {QUEUES} queues (one with 2 labels per item)"
    )

    env = dict(os.environ)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "gunicorn.log"
    server = start_gunicorn(port=port, workers=workers, threads=threads, env=env, log=log)
    servers.append(server)
    celery = [start_celery(f"load{n}", env, workdir / f"celery{n}.log") for n in (1, 2)]
    servers.extend(celery)
    wait_healthy(base, server, log)
    import psutil

    pids = {
        "app": {server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))},
        "celery": {
            p.pid for w in celery for p in (psutil.Process(w.pid), *psutil.Process(w.pid).children(True))
        },
        "db": db_name,
    }
    locust_env = {**env, "LOAD_PLAN": str(plan_path), "LOAD_SEED": str(env_int("BENCH_SEED", 20240229))}
    print(
        f"stack: gunicorn {workers} gthread workers x {threads} threads on {base}, "
        "2 Celery workers (solo) on "
        f"{env['CELERY_BROKER_URL'].rsplit('@', 1)[-1]}, Locust {users} moderators"
    )
    baseline = run_locust(
        label="baseline",
        base=base,
        users=1,
        seconds=baseline_seconds,
        think=0,
        workdir=workdir,
        env=locust_env,
        pids=pids,
    )
    load = run_locust(
        label="load",
        base=base,
        users=users,
        seconds=seconds,
        think=think,
        workdir=workdir,
        env=locust_env,
        pids=pids,
    )
    for process in [server, *celery]:
        if process.poll() is not None:
            print(
                f"WARNING: a server process exited during the run (pid {process.pid}, "
                f"exit {process.returncode})"
            )
    failures, counts = oracle(plan["team"])
    return report(baseline, load, counts, failures, think=think)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(baseline: Run, load: Run, counts: dict[str, int], failures: list[str], *, think: float) -> bool:
    print()
    print(
        f"baseline: 1 moderator, no pauses, {baseline.seconds} s: "
        f"{sum(map(len, baseline.latencies.values())):,} requests, "
        f"{baseline.outcomes.get('claimed', 0)} claims"
    )
    requests = sum(map(len, load.latencies.values()))
    claims = load.outcomes.get("claimed", 0)
    print(
        f"load: {load.users} moderators, {load.seconds} s, reading ~{think:g} s per item: "
        f"{requests:,} requests "
        f"({requests / load.seconds:.1f}/s), {claims:,} claims = {claims / load.seconds:.2f} claims/s, "
        f"{load.outcomes.get('completed', 0):,} completed, {load.outcomes.get('skipped', 0):,} skipped"
    )
    print()
    header = f"{'endpoint':40}{'requests':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"
    print(f"{header}{'1-user p95':>11}{'p95 ratio':>10}")
    for name in sorted(load.latencies, key=lambda n: -len(load.latencies[n])):
        values = load.latencies[name]
        base = baseline.latencies.get(name) or []
        base95 = percentile(base, 0.95) if base else float("nan")
        print(
            f"{name:40}{len(values):>9,}{statistics.median(values):>8.1f}{percentile(values, 0.95):>8.1f}"
            f"{percentile(values, 0.99):>8.1f}{max(values):>8.1f}{base95:>11.1f}"
            f"{percentile(values, 0.95) / base95 if base else float('nan'):>9.1f}x"
        )
    every = [v for values in load.latencies.values() for v in values]
    every_base = [v for values in baseline.latencies.values() for v in values]
    print(
        f"{'all':40}{len(every):>9,}{statistics.median(every):>8.1f}{percentile(every, 0.95):>8.1f}"
        f"{percentile(every, 0.99):>8.1f}{max(every):>8.1f}{percentile(every_base, 0.95):>11.1f}"
        f"{percentile(every, 0.95) / percentile(every_base, 0.95):>9.1f}x"
    )
    server_errors = load.status_count(lambda c: c >= 500) + baseline.status_count(lambda c: c >= 500)
    unexpected = {}
    for run in (baseline, load):
        for name, statuses in run.statuses.items():
            allowed = {
                "POST /api/queues/{id}/claim/": {201, 204},
                "PUT /api/cases/{id}/labels/{account}/": {200, 201},
            }
            for code, n in statuses.items():
                if int(code) not in allowed.get(name, {200}) and int(code) < 500:
                    unexpected[f"{name} -> {code}"] = unexpected.get(f"{name} -> {code}", 0) + n
    print()
    print(f"5xx answers: {server_errors} (must be 0); other unexpected statuses: {unexpected or 'none'}")
    cpu = load.cpu
    cpus = os.cpu_count() or 1
    share = {key: value / (cpu["wall"] * cpus) for key, value in cpu.items() if key != "wall"}
    print(
        f"CPU during the load, share of the machine's {cpus} CPUs: gunicorn {share['app']:.0%}, "
        f"PostgreSQL {share['postgres']:.0%}, Locust {share['locust']:.0%}, Celery {share['celery']:.0%}, "
        f"other processes {share['others']:.0%}; machine busy {share['busy']:.0%}"
    )
    if cpu["others"] / (cpu["wall"] * cpus) > 0.05:
        print(
            "WARNING: other processes used the CPUs during the run; the latencies above are inflated by them."
        )
    print()
    print(
        "oracle (SQL after the run): "
        f"{counts['items']:,} items = {counts['done']:,} done + {counts['claimed_live']:,} claimed "
        f"(live lease) + {counts['available']:,} available; {counts['double_claims']} double claims; "
        f"{counts['lost_items']} lost items; {counts['labels']:,} labels for "
        f"{counts['completed_claims']:,} completed claims "
        f"({counts['completed_without_label']} without a label); {counts['leases']:,} leases in all, "
        f"{counts['skipped_claims']:,} skipped"
    )
    ok = not failures and server_errors == 0 and not unexpected
    if ok:
        print(
            "PASS: no 5xx, no unexpected status, no double claim, no lost item, one label per completed claim"
        )
    else:
        print(
            "FAIL: "
            + "; ".join(
                failures
                + ([f"{server_errors} 5xx"] if server_errors else [])
                + ([f"unexpected statuses {unexpected}"] if unexpected else [])
            )
        )
    return ok


if __name__ == "__main__":
    main()
