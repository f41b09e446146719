"""Fixtures shared by the lead-console tests (case queue, queue monitor, agreement, decisions,
outcomes, graph, report).

Team A has a lead (``lead``), an admin (``admin_user``) and two moderators (``moderator``,
``moderator_2``); team B's ``outsider`` must never see any of it. ``lead_case`` is a case of team
A with four suspect accounts and one reference account, labels from three reviewers (one account
in conflict), two actors and three attribution votes. ``lead_queue`` is a review queue over it.
Other helpers may append fixtures at the end of this file.
"""

import pytest

from cases.models import AccountKind, Confidence, Role, Verdict
from cases.services.cases import add_account_to_case
from cases.services.labels import submit_label
from cases.services.queues import create_queue_from_case
from cases.services.votes import cast_vote
from tests.factories import AccountFactory, ActorFactory, CaseFactory, MembershipFactory, UserFactory
from tests.support import html, signed_in  # noqa: F401 (used by the tests here)


@pytest.fixture
def moderator_2(team_a):
    return MembershipFactory(team=team_a, role=Role.MODERATOR, user=UserFactory(username="mod-a2")).user


@pytest.fixture
def outsider_lead(team_b):
    """A lead of team B: a lead, but of the wrong team — still 404 for everything of team A."""
    return MembershipFactory(team=team_b, role=Role.LEAD, user=UserFactory(username="lead-b")).user


@pytest.fixture
def outsider_lead_client(outsider_lead):
    return signed_in(outsider_lead)


@pytest.fixture
def actors(team_a):
    """Two actors of team A: (state-linked China-based, Russia-based media)."""
    return (
        ActorFactory(team=team_a, name="Spamouflage", country="China"),
        ActorFactory(team=team_a, name="Doppelganger", country="Russia"),
    )


@pytest.fixture
def lead_case(team_a, lead, moderator, moderator_2, actors):
    """A case in review: suspects s0..s3 and reference r0.

    Labels (moderator, moderator_2, lead):
      s0: inauthentic x3 (agree) · s1: inauthentic, authentic, inauthentic (conflict)
      s2: inauthentic, inauthentic (two labels) · s3: unlabeled.
    Votes: moderator Spamouflage high, moderator_2 Spamouflage moderate, lead Doppelganger low.
    """
    case = CaseFactory(team=team_a, title="Spamouflage copy-paste network", lead=lead)
    suspects = [
        AccountFactory(team=team_a, kind=AccountKind.SUSPECT, handle=f"lead_suspect_{n}") for n in range(4)
    ]
    reference = AccountFactory(team=team_a, kind=AccountKind.REFERENCE, handle="real_outlet")
    for account in [*suspects, reference]:
        add_account_to_case(case=case, account=account, added_by=lead)
    plan = {
        0: [Verdict.INAUTHENTIC, Verdict.INAUTHENTIC, Verdict.INAUTHENTIC],
        1: [Verdict.INAUTHENTIC, Verdict.AUTHENTIC, Verdict.INAUTHENTIC],
        2: [Verdict.INAUTHENTIC, Verdict.INAUTHENTIC],
        3: [],
    }
    reviewers = [moderator, moderator_2, lead]
    for n, verdicts in plan.items():
        for reviewer, verdict in zip(reviewers, verdicts, strict=False):
            submit_label(
                case=case, account=suspects[n], annotator=reviewer, verdict=verdict, seconds_spent=30
            )
    spamouflage, doppelganger = actors
    cast_vote(case=case, voter=moderator, actor=spamouflage, confidence=Confidence.HIGH, rationale="Copies.")
    cast_vote(
        case=case, voter=moderator_2, actor=spamouflage, confidence=Confidence.MODERATE, rationale="Timing."
    )
    cast_vote(case=case, voter=lead, actor=doppelganger, confidence=Confidence.LOW, rationale="Brands.")
    case.refresh_from_db()
    case.suspects = suspects
    case.reference = reference
    return case


@pytest.fixture
def lead_queue(lead_case, lead):
    return create_queue_from_case(
        case=lead_case, name="Spamouflage review", created_by=lead, labels_per_item=2
    )


@pytest.fixture
def case_b(team_b):
    """A case of team B with one suspect: its ids must 404 for team A and mixed-in ids must be refused."""
    case = CaseFactory(team=team_b, title="Team B case")
    add_account_to_case(case=case, account=AccountFactory(team=team_b, kind=AccountKind.SUSPECT))
    return case


# --- graph and report (report part) ----------------------------------------------------------------

HOSTILE_BIO = '</script><script>alert("bio")</script><img src=x onerror=alert(1)> \u202egnp.exe'


@pytest.fixture
def network_case(lead_case, lead, moderator, team_a, actors):
    """``lead_case`` made into a network worth drawing and reporting, then decided.

    - s0 (hostile bio, 12,000 followers) ~ s1: accepted suggestion (copy_paste, bio);
      s1 ~ s2: strong pending suggestion (0.9, co_timing); s2 ~ s3: weak pending (0.1, not drawn);
      s0 ~ s3: dismissed (not drawn).
    - brand "Bild Fake" (domain bild.pics) amplified by s0 and s2.
    - s1 copied two posts of r0 (on the case); s2 copied one post of an outside outlet.
    - evidence: a link whose URL carries a quote, a retracted note, the brand's site.
    - s1 adjudicated authentic; Spamouflage decided with high confidence; s0 removed.
    """
    from cases.models import AccountKind, SuggestionStatus
    from cases.services.accounts import create_media_brand, create_post
    from cases.services.adjudication import adjudicate_account
    from cases.services.case_status import set_case_status
    from cases.services.decisions import decide_attribution
    from cases.services.evidence import record_evidence, retract_evidence
    from cases.services.outcomes import set_account_outcomes
    from cases.services.suggestions import upsert_suggestion
    from tests.factories import raw_update

    s0, s1, s2, s3 = lead_case.suspects
    ref = lead_case.reference
    raw_update(type(s0), s0.pk, bio=HOSTILE_BIO, followers=12000, display_name="<b>Jordan</b>")
    raw_update(type(ref), ref.pk, followers=2_500_000)

    def suggest(a, b, score, signals, status=None):
        row = upsert_suggestion(
            team=team_a,
            account_a=a,
            account_b=b,
            score=score,
            signals=[{"signal": s, "score": v, "detail": f"{s} detail"} for s, v in signals],
        )
        if status:
            raw_update(type(row), row.pk, status=status)
        return row

    suggest(s0, s1, 0.95, [("copy_paste", 0.9), ("bio", 0.8), ("name", 0.1)], SuggestionStatus.ACCEPTED)
    suggest(s1, s2, 0.9, [("co_timing", 0.7)])
    suggest(s2, s3, 0.1, [("handle", 0.2)])
    suggest(s0, s3, 0.95, [("avatar", 0.9)], SuggestionStatus.DISMISSED)
    brand = create_media_brand(
        team=team_a,
        name="Bild Fake",
        impersonates="Bild",
        domains=["bild[.]pics"],
        accounts=[(s0, "runs"), (s2, "amplifies")],
        created_by=lead,
    )
    outlet = AccountFactory(team=team_a, kind=AccountKind.REFERENCE, handle="real_news_outlet")
    originals = [create_post(account=ref, text=f"Original {n}", created_by=lead) for n in range(2)]
    for original in originals:
        create_post(
            account=s1, text=original.text, copied_from=original, copy_similarity=1.0, created_by=lead
        )
    outside_post = create_post(account=outlet, text="Outlet story", created_by=lead)
    create_post(
        account=s2, text="Outlet story", copied_from=outside_post, copy_similarity=0.97, created_by=lead
    )
    link = record_evidence(
        case=lead_case,
        kind="link",
        captured_by=moderator,
        account=s2,
        title="Fake article",
        url="https://bild.pics/artikel?id=1&q=it's",
    )
    note = record_evidence(
        case=lead_case, kind="note", captured_by=moderator, account=s0, captured_text="Posts at 9:00 Beijing"
    )
    retract_evidence(evidence=note, retracted_by=moderator, reason="Wrong time zone")
    brand_item = record_evidence(
        case=lead_case, kind="media_brand", captured_by=lead, brand=brand, title="Bild Fake site"
    )
    adjudicate_account(
        case=lead_case, account=s1, lead=lead, verdict="authentic", reason="The profile is a real person."
    )
    lead_case.refresh_from_db()
    if lead_case.status != "in_review":  # labelling already moved it there
        set_case_status(case=lead_case, status="in_review", user=lead)
    spamouflage, _ = actors
    decide_attribution(
        case=lead_case, lead=lead, actor=spamouflage, confidence="high", rationale="Two reviewers agree."
    )
    set_account_outcomes(
        case=lead_case, accounts=[s0], outcome="removed", policy_basis="CIB policy 4.2", set_by=lead
    )
    lead_case.refresh_from_db()
    lead_case.suspects = [s0, s1, s2, s3]
    lead_case.reference = ref
    lead_case.outlet = outlet
    lead_case.brand = brand
    lead_case.link_evidence = link
    lead_case.brand_evidence = brand_item
    return lead_case
