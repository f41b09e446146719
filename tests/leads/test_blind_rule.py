"""One blind-review rule (review_selectors.is_review_blind) for the labels API, the export, the
review screen and the case page: moderators are blind until they label; leads and admins are not;
nobody is once the case is settled."""

import pytest

from cases.exporters.case import review_visible_to
from cases.models import CaseStatus
from cases.review_selectors import (
    get_label_agreement_for_user,
    is_review_blind,
    list_label_agreement_for_accounts,
    list_label_agreement_for_user,
)
from cases.services.case_status import close_case
from cases.services.labels import submit_label
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_moderators_are_blind_leads_and_admins_are_not(lead_case, moderator, lead, admin_user, outsider):
    assert is_review_blind(user=moderator, case=lead_case) is True
    assert is_review_blind(user=lead, case=lead_case) is False
    assert is_review_blind(user=admin_user, case=lead_case) is False
    assert is_review_blind(user=outsider, case=lead_case) is True
    assert is_review_blind(user=None, case=lead_case) is True


def test_nobody_is_blind_on_a_settled_case(lead_case, moderator, lead):
    close_case(case=lead_case, lead=lead, reason="done")
    assert lead_case.status == CaseStatus.CLOSED
    assert is_review_blind(user=moderator, case=lead_case) is False


def test_every_reader_agrees_with_the_rule(lead_case, moderator, moderator_2, lead):
    # s3 gets one label, from moderator_2: the moderator has not labelled it, the lead has not either.
    s3 = lead_case.suspects[3]
    submit_label(case=lead_case, account=s3, annotator=moderator_2, verdict="authentic")
    for user, blind in ((lead, False), (moderator, True)):
        assert review_visible_to(user, lead_case) is (not blind)
        assert get_label_agreement_for_user(case=lead_case, account=s3, user=user).hidden is blind
        listed = list_label_agreement_for_user(case=lead_case, user=user)[s3.pk]
        assert listed.verdicts == ({} if blind else {"authentic": 1})
        counts = list_label_agreement_for_accounts(case=lead_case, user=user, account_ids=[s3.pk])[s3.pk]
        assert counts.hidden is blind


def test_the_labels_api_follows_the_rule(lead_case, moderator, moderator_2, lead):
    s3 = lead_case.suspects[3]
    submit_label(case=lead_case, account=s3, annotator=moderator_2, verdict="authentic")
    url = f"/api/cases/{lead_case.pk}/labels/"
    mine = {
        row["account"]["id"] for row in token_client(moderator).get(url, {"page_size": 100}).json()["results"]
    }
    everyone = {
        row["account"]["id"] for row in token_client(lead).get(url, {"page_size": 100}).json()["results"]
    }
    assert s3.pk not in mine and s3.pk in everyone
