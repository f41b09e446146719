"""A large sweep reads and compares on two processes (a forked child with its own database
connection); it must store exactly what the one-process sweep stores, and finish when the child
dies.

The sweep forks only in a single-threaded process outside a transaction, and the test process has
other threads (live servers, workers) by the time this runs in the suite: the sweeps run in a
fresh interpreter against this test's committed data.
"""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.similarity.conftest import organic, plant_network
from tests.support import database_url

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = r"""
import json, os, sys
import django
django.setup()
from cases.models import SimilaritySuggestion, Team
from cases.services import similarity
from cases.services.similarity import create_similarity_sweep_job, run_similarity_sweep
from cases.similarity import index as index_module

team = Team.objects.get(pk=int(sys.argv[1]))
mode = sys.argv[2]
used = {}
read_in_two = similarity._read_in_two
def spy_read(*args, **kwargs):
    used["read"] = read_in_two(*args, **kwargs)
    return used["read"]
similarity._read_in_two = spy_read
real_forked = similarity.Forked
def spy_forked(fn, *args):
    used["compare"] = fn.__name__
    if mode == "child-dies" and fn.__name__ == "_sweep_partitions":
        def dying(send, *rest):
            os._exit(9)
        return real_forked(dying, *args)
    return real_forked(fn, *args)
similarity.Forked = spy_forked
index_module.PARALLEL_MIN = 10**9 if mode == "serial" else 10
SimilaritySuggestion.objects.filter(team=team).delete()
job = create_similarity_sweep_job(team=team)
seen = []
result = run_similarity_sweep(job=job, progress=lambda d, t, m="": seen.append((d, t)))
pairs = sorted(
    [s.account_a_id, s.account_b_id, round(s.score, 6), [g["signal"] for g in s.signals]]
    for s in SimilaritySuggestion.objects.filter(team=team)
)
print(json.dumps({"used": used, "pairs": pairs, "done": result["partitions_done"],
                  "progress": [d for d, _ in seen], "total": seen[-1][1]}))
"""


def sweep_in_fresh_process(team, mode: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings", "DATABASE_URL": database_url()}
    output = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(team.pk), mode],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert output.returncode == 0, output.stderr[-3000:]
    return json.loads(output.stdout.strip().splitlines()[-1])


@pytest.fixture
def corpus(team_a):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("an in-memory SQLite test database is not visible to another process")
    first = plant_network(team_a, 6, prefix="alpha", seed=1)
    second = plant_network(team_a, 5, prefix="beta", seed=2)
    organic(team_a, 40)
    return first + second


def test_two_processes_store_exactly_what_one_stores_even_when_the_second_dies(team_a, corpus):
    serial = sweep_in_fresh_process(team_a, "serial")
    parallel = sweep_in_fresh_process(team_a, "parallel")
    survived = sweep_in_fresh_process(team_a, "child-dies")

    assert serial["used"] == {"read": False}
    assert parallel["used"] == {"read": True, "compare": "_sweep_partitions"}
    assert len(serial["pairs"]) == 15 + 10
    assert parallel["pairs"] == serial["pairs"]
    assert parallel["done"] == serial["done"] == list(range(8))
    progress = parallel["progress"]
    assert progress == sorted(progress) and progress[-1] == parallel["total"]
    # the comparing child exits at once: this process compares its partitions itself
    assert survived["used"]["compare"] == "_sweep_partitions"
    assert survived["pairs"] == serial["pairs"] and survived["done"] == list(range(8))
