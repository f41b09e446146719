import csv

import pytest

from cases.models import Technique
from cases.taxonomy import KILL_CHAIN_CSV, split_code

pytestmark = pytest.mark.django_db


def test_every_row_of_the_kill_chain_is_loaded():
    with KILL_CHAIN_CSV.open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if any((v or "").strip() for v in r.values())]
    assert len(rows) == 161  # as Meta published it
    assert Technique.objects.count() == len(rows)
    loaded = set(Technique.objects.values_list("procedure_code", flat=True))
    assert loaded == {" ".join(r["Procedure"].split()).split(" ")[0] for r in rows}


def test_rows_keep_their_hierarchy():
    technique = Technique.objects.get(procedure_code="0.6.1")
    assert (technique.tactic_code, technique.tactic) == ("0", "Acquiring assets")
    assert (technique.technique_code, technique.technique) == ("0.6", "Acquiring domains")
    # The published cell has a line break inside; it is folded, not lost.
    assert technique.procedure == "Acquiring domains to host, deploy, and support malware campaigns"
    assert Technique.objects.values("tactic_code").distinct().count() == 10


def test_the_shipped_file_is_the_published_one():
    assert (
        KILL_CHAIN_CSV.read_bytes()
        == (
            KILL_CHAIN_CSV.parent.parent.parent
            / "tests/fixtures/meta-threat-indicators/Online_Operations_Killchain-TTPs.csv"
        ).read_bytes()
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("0. Acquiring assets", ("0", "Acquiring assets")),
        ("0.9.10.0  Acquiring Pinterest accounts", ("0.9.10.0", "Acquiring Pinterest accounts")),
        ("0.3 Acquiring phone ", ("0.3", "Acquiring phone")),
        ("no code here", ("", "no code here")),
    ],
)
def test_split_code(cell, expected):
    assert split_code(cell) == expected
