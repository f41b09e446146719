"""The simulated moderators of ``bench.load_moderators``: a Locust file, run by that benchmark in a
Locust process of its own (``locust -f bench/_locust_moderators.py --headless …``). Not a benchmark
itself (its name starts with ``_``, so ``python -m bench`` does not list it).

Each simulated user is one moderator of the measured team, signed in with an API token, working
through the review API as a person does: claim the next item of their queue (another queue when
theirs is empty), read the account, the case's evidence and the item, then label it and complete
the lease — in one request, or as a label (PUT) and a completion — or skip it with a reason. Now
and then they list or search instead.

Input (environment): LOAD_PLAN (a JSON file written by the benchmark: one token and home queue per
moderator, the queue ids, search terms), LOAD_RESULT (where to write the raw results), LOAD_THINK
(mean seconds a moderator reads an item before deciding; 0 for the baseline), LOAD_SEED.

Output: LOAD_RESULT, a JSON file: every request's latency in ms by endpoint, the count of each
status by endpoint, and the count of claims, completions and skips that the server accepted.
"""

import itertools
import json
import os
import random
from collections import Counter, defaultdict

import gevent
from locust import HttpUser, events, task
from locust.exception import StopUser

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())  # noqa: SIM115
THINK = float(os.environ.get("LOAD_THINK", "2"))
SEED = int(os.environ.get("LOAD_SEED", "20240229"))
SKIP_SHARE = 0.08  # items a moderator skips ("not my language")
TWO_STEP_SHARE = 0.3  # of the rest: label (PUT), then complete with an empty body
VERDICTS = ("inauthentic", "inauthentic", "authentic", "unsure")
SKIP_REASONS = ("Not my language", "Need more context", "Conflict of interest")

identities = itertools.count()
latencies: dict[str, list[float]] = defaultdict(list)
statuses: dict[str, Counter] = defaultdict(Counter)
outcomes: Counter = Counter()
errors: list[str] = []  # the first few requests that got no answer, and why

# What each endpoint may answer in this workload; anything else counts as a failure.
EXPECTED = {"POST /api/queues/{id}/claim/": {201, 204}, "PUT /api/cases/{id}/labels/{account}/": {200, 201}}


@events.request.add_listener
def record(request_type, name, response_time, response_length, response=None, exception=None, **kwargs):
    latencies[name].append(response_time)
    code = getattr(response, "status_code", 0) or 0  # 0: no answer (connection error, timeout)
    statuses[name][str(code)] += 1
    if not code and len(errors) < 20:
        errors.append(f"{name}: {exception!r}")


@events.quitting.add_listener
def write_results(environment, **kwargs):
    with open(os.environ["LOAD_RESULT"], "w", encoding="utf-8") as out:
        json.dump(
            {
                "latencies_ms": latencies,
                "statuses": {name: dict(counts) for name, counts in statuses.items()},
                "outcomes": dict(outcomes),
                "errors": errors,
            },
            out,
        )


class Moderator(HttpUser):
    wait_time = staticmethod(lambda: 0)  # pauses are part of the work below

    def on_start(self):
        index = next(identities)
        if index >= len(PLAN["moderators"]):
            raise StopUser()
        me = PLAN["moderators"][index]
        self.client.headers["Authorization"] = f"Bearer {me['token']}"
        self.rng = random.Random(SEED * 1000 + index)
        queues = PLAN["queues"]
        start = queues.index(me["home_queue"])
        self.queues = queues[start:] + queues[:start]  # home first, then the others in turn
        self.empty: set[int] = set()

    def pause(self, mean: float) -> None:
        if THINK > 0:
            gevent.sleep(self.rng.uniform(0.5 * mean, 1.5 * mean))

    def call(self, method: str, path: str, name: str, body=None):
        """One request; a status this workload should never see is a failure. The answer, or None."""
        with self.client.request(method, path, name=name, json=body, catch_response=True) as response:
            if response.status_code in EXPECTED.get(name, {200}):
                response.success()
                return response
            response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            return None

    def claim(self):
        for queue in self.queues:
            if queue in self.empty:
                continue
            response = self.call("POST", f"/api/queues/{queue}/claim/", "POST /api/queues/{id}/claim/")
            if response is None:
                return None
            if response.status_code == 201:
                outcomes["claimed"] += 1
                return response.json()
            self.empty.add(queue)  # 204: nothing left for me here
        return None

    @task(9)
    def review_next_item(self):
        lease = self.claim()
        if lease is None:
            self.browse()
            return
        case, account = lease["case"], lease["account"]["id"]
        self.call("GET", f"/api/accounts/{account}/", "GET /api/accounts/{id}/")
        self.call("GET", f"/api/evidence/?case={case}&page_size=20", "GET /api/evidence/?case=")
        self.call(
            "GET", f"/api/queues/{lease['queue']}/items/{lease['item']}/", "GET /api/queues/{id}/items/{id}/"
        )
        self.pause(THINK)
        seconds = self.rng.randint(20, 240)
        verdict = self.rng.choice(VERDICTS)
        roll = self.rng.random()
        if roll < SKIP_SHARE:
            reason = self.rng.choice(SKIP_REASONS)
            if self.call(
                "POST",
                f"/api/assignments/{lease['id']}/skip/",
                "POST /api/assignments/{id}/skip/",
                {"reason": reason},
            ):
                outcomes["skipped"] += 1
            return
        if roll < SKIP_SHARE + TWO_STEP_SHARE:
            labelled = self.call(
                "PUT",
                f"/api/cases/{case}/labels/{account}/",
                "PUT /api/cases/{id}/labels/{account}/",
                {"verdict": verdict, "seconds_spent": seconds},
            )
            if labelled is None:
                return
            body = {}
        else:
            body = {"verdict": verdict, "seconds_spent": seconds}
        if self.call(
            "POST", f"/api/assignments/{lease['id']}/complete/", "POST /api/assignments/{id}/complete/", body
        ):
            outcomes["completed"] += 1

    @task(1)
    def browse(self):
        term = self.rng.choice(PLAN["search_terms"])
        self.call("GET", f"/api/accounts/?search={term}&page_size=50", "GET /api/accounts/?search=")
        self.call("GET", "/api/cases/?page_size=50", "GET /api/cases/")
        self.call("GET", f"/api/queues/{self.queues[0]}/stats/", "GET /api/queues/{id}/stats/")
        self.call("GET", "/api/assignments/?mine=true&is_live=true", "GET /api/assignments/?mine=true")
        self.pause(THINK / 2)
