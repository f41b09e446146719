"""Fixtures of the moderator-workspace page tests: a case with suspect accounts, a queue over it,
and one signed-in client per role."""

import io

import pytest
from PIL import Image

from cases.models import AccountKind
from cases.services.cases import add_account_to_case
from cases.services.queues import create_queue_from_case
from tests.factories import AccountFactory, CaseFactory
from tests.support import html, signed_in  # noqa: F401 (used by the tests here)


@pytest.fixture
def case_a(team_a, lead):
    case = CaseFactory(team=team_a, title="Spamouflage copy-paste network", summary="Copies of US posts.")
    for n in range(3):
        add_account_to_case(
            case=case,
            account=AccountFactory(team=team_a, kind=AccountKind.SUSPECT, handle=f"suspect_{n}"),
            added_by=lead,
        )
    return case


@pytest.fixture
def queue(case_a, lead):
    return create_queue_from_case(case=case_a, name="Spamouflage suspects", created_by=lead)


def png_bytes(color=(200, 30, 30), size=(40, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()
