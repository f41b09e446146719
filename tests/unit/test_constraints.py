"""The database itself refuses what the domain forbids, whatever code path tries it."""

import pytest
from django.db import IntegrityError, transaction

from cases.models import (
    AttributionVote,
    Label,
    Membership,
    Post,
    Queue,
    SimilaritySuggestion,
    Team,
)
from tests.factories import AccountFactory, ActorFactory, CaseFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(**kwargs):
    return pytest.raises(IntegrityError, **kwargs)


def test_same_handle_twice_in_a_team_is_refused(team_a):
    AccountFactory(team=team_a, handle="AtlantaOnline")
    with refused(), transaction.atomic():
        AccountFactory(team=team_a, handle="atlantaonline")


def test_same_handle_in_two_teams_or_two_platforms_is_allowed(team_a, team_b):
    AccountFactory(team=team_a, handle="AtlantaOnline")
    AccountFactory(team=team_b, handle="AtlantaOnline")
    AccountFactory(team=team_a, handle="AtlantaOnline", platform="facebook")


def test_duplicate_label_is_refused(team_a):
    case, account, user = CaseFactory(team=team_a), AccountFactory(team=team_a), UserFactory()
    Label.objects.create(case=case, account=account, annotator=user, verdict="inauthentic")
    with refused(), transaction.atomic():
        Label.objects.create(case=case, account=account, annotator=user, verdict="authentic")


def test_unknown_verdict_is_refused(team_a):
    case, account, user = CaseFactory(team=team_a), AccountFactory(team=team_a), UserFactory()
    with refused(), transaction.atomic():
        Label.objects.create(case=case, account=account, annotator=user, verdict="probably")


def test_duplicate_vote_is_refused(team_a):
    case, actor, user = CaseFactory(team=team_a), ActorFactory(team=team_a), UserFactory()
    AttributionVote.objects.create(case=case, voter=user, actor=actor, confidence="high", rationale="r")
    with refused(), transaction.atomic():
        AttributionVote.objects.create(case=case, voter=user, actor=actor, confidence="low", rationale="r2")


def test_vote_without_rationale_is_refused(team_a):
    case, actor, user = CaseFactory(team=team_a), ActorFactory(team=team_a), UserFactory()
    with refused(), transaction.atomic():
        AttributionVote.objects.create(case=case, voter=user, actor=actor, confidence="high", rationale="")


@pytest.mark.parametrize("score", [-0.01, 1.01, 7])
def test_suggestion_score_outside_0_1_is_refused(team_a, score):
    a, b = sorted([AccountFactory(team=team_a), AccountFactory(team=team_a)], key=lambda x: x.pk)
    with refused(), transaction.atomic():
        SimilaritySuggestion.objects.create(team=team_a, account_a=a, account_b=b, score=score)


def test_suggestion_pair_is_stored_once_lower_id_first(team_a):
    a, b = sorted([AccountFactory(team=team_a), AccountFactory(team=team_a)], key=lambda x: x.pk)
    SimilaritySuggestion.objects.create(team=team_a, account_a=a, account_b=b, score=0.5)
    with refused(), transaction.atomic():
        SimilaritySuggestion.objects.create(team=team_a, account_a=b, account_b=a, score=0.5)
    with refused(), transaction.atomic():
        SimilaritySuggestion.objects.create(team=team_a, account_a=a, account_b=b, score=0.7)


@pytest.mark.parametrize("field", ["followers", "following"])
def test_negative_counts_are_refused(team_a, field):
    with refused(), transaction.atomic():
        AccountFactory(team=team_a, **{field: -1})


def test_copy_similarity_outside_0_1_is_refused(team_a):
    with refused(), transaction.atomic():
        PostFactory(account=AccountFactory(team=team_a), copy_similarity=1.5)


def test_post_external_id_is_unique_per_account_but_blank_ids_repeat(team_a):
    account = AccountFactory(team=team_a)
    PostFactory(account=account, external_id="1")
    Post.objects.create(account=account, text="a")
    Post.objects.create(account=account, text="b")
    with refused(), transaction.atomic():
        PostFactory(account=account, external_id="1")


def test_one_membership_per_user_and_team(team_a):
    user = UserFactory()
    Membership.objects.create(user=user, team=team_a, role="moderator")
    with refused(), transaction.atomic():
        Membership.objects.create(user=user, team=team_a, role="lead")


def test_unknown_role_is_refused(team_a):
    with refused(), transaction.atomic():
        Membership.objects.create(user=UserFactory(), team=team_a, role="owner")


def test_team_slug_is_unique(team_a):
    with refused(), transaction.atomic():
        Team.objects.create(slug="team-a", name="Again")


def test_queue_needs_at_least_one_label_per_item(team_a):
    with refused(), transaction.atomic():
        Queue.objects.create(team=team_a, name="q", labels_per_item=0)
