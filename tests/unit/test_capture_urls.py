"""The server's URL -> (platform, handle) rules, on the table the extension's tests share."""

import json
from pathlib import Path

import pytest

from cases.capture_urls import parse_account_url
from cases.models import Platform

CASES = json.loads((Path(__file__).parent.parent / "fixtures" / "capture_urls.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["url"] or "<empty>" for c in CASES])
def test_parse_account_url_matches_shared_table(case):
    expected = (case["platform"], case["handle"]) if case["platform"] else None
    assert parse_account_url(case["url"]) == expected


def test_shared_table_covers_every_supported_platform_and_uses_model_values():
    platforms = {c["platform"] for c in CASES if c["platform"]}
    assert platforms == {p.value for p in Platform} - {"other"}
    assert all(set(c) <= {"url", "platform", "handle", "note"} for c in CASES)
