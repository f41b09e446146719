"""The review screen through HTTP: what it shows, blind labelling, labelling, posts, techniques
and similar-account suggestions."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    AccountKind,
    Assignment,
    AssignmentState,
    BrandRole,
    CaseAccount,
    Label,
    SuggestionStatus,
)
from cases.services.accounts import create_media_brand, create_post
from cases.services.cases import add_account_to_case
from cases.services.evidence import record_evidence
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item, create_queue_from_case
from cases.services.suggestions import upsert_suggestion
from tests.factories import AccountFactory, CaseFactory, PostFactory
from tests.services.review_support import member, technique
from tests.support import page_queries
from tests.workspace.conftest import html, signed_in

pytestmark = pytest.mark.django_db

SIGNALS = [
    {"signal": "copy_paste", "score": 0.93, "detail": "12 near-identical posts"},
    {"signal": "handle_shape", "score": 0.41, "detail": "handle shape name + 8 digits, like 31 others"},
]


@pytest.fixture
def lease(queue, moderator):
    return claim_next_item(queue=queue, user=moderator)


@pytest.fixture
def review_url(lease):
    return reverse("frontend:work-review", args=[lease.pk])


def _label(client, lease, **data):
    return client.post(reverse("frontend:work-label", args=[lease.pk]), data)


# --- what the screen shows -------------------------------------------------------------------------


def test_review_screen_shows_the_profile_with_a_defanged_isolated_link(mod_client, lease, review_url):
    account = lease.item.account
    account.display_name = "Emily Walker"
    account.bio = "Truth seeker.\nFollow for daily news."
    account.profile_url = "https://x.com/suspect_0"
    account.followers, account.following, account.language = 12, 345, "en"
    account.created_on_platform = datetime.datetime(2023, 2, 27, 3, 0, tzinfo=datetime.UTC)
    account.save()
    page = html(mod_client.get(review_url))

    assert "@suspect_0" in page
    assert "Emily Walker" in page
    assert "Truth seeker.<br>Follow for daily news." in page
    assert "27 Feb 2023" in page
    assert ">345<" in page and ">12<" in page
    assert "X / Twitter" in page
    assert "Entered by hand" in page
    link = re.search(r'<a class="ext-link mono" href="https://x.com/suspect_0"[^>]*>([^<]*)</a>', page)
    assert link is not None
    assert 'rel="noopener noreferrer"' in link.group(0) and 'target="_blank"' in link.group(0)
    assert link.group(1) == "hxxps://x[.]com/suspect_0"
    assert "Spamouflage suspects" in page
    assert 'data-expires="' in page


def test_review_screen_shows_posts_newest_first_and_a_copy_beside_its_source(
    mod_client, lease, review_url, team_a
):
    account = lease.item.account
    reference = AccountFactory(team=team_a, handle="nytimes", kind=AccountKind.REFERENCE)
    source = create_post(
        account=reference,
        text="The Treasury warned that it could run out of cash by June.",
        posted_at=timezone.now() - datetime.timedelta(days=3),
    )
    create_post(
        account=account, text="Older original post", posted_at=timezone.now() - datetime.timedelta(days=2)
    )
    create_post(
        account=account,
        text="BREAKING the Treasury warned it could run out of cash by June!!",
        posted_at=timezone.now() - datetime.timedelta(days=1),
        copied_from=source,
        copy_similarity=0.87,
    )
    page = html(mod_client.get(review_url))

    assert page.index("BREAKING") < page.index("Older original post")
    assert "Copy · 87% similar" in page
    assert 'Source <span class="mono">@nytimes</span>' in page
    # Shared words are marked on both sides; the words only one side has are not.
    assert "BREAKING <mark>the Treasury warned it could run out of cash by June!!</mark>" in page
    assert "<mark>The Treasury warned </mark>that <mark>it could run out of cash by June.</mark>" in page


def test_review_screen_pages_posts_and_the_pager_asks_for_the_partial(mod_client, lease, review_url):
    for n in range(7):
        PostFactory(
            account=lease.item.account,
            text=f"post number {n}",
            posted_at=timezone.now() - datetime.timedelta(hours=n),
        )
    page = html(mod_client.get(review_url))
    assert "post number 0" in page and "post number 5" not in page
    posts_url = reverse("frontend:work-posts", args=[lease.item.account.pk])
    assert f'hx-get="{posts_url}?page=2"' in page

    partial = mod_client.get(posts_url, {"page": 2}, headers={"HX-Request": "true"})
    body = html(partial)
    assert body.lstrip().startswith('<section id="posts"')
    assert "<html" not in body
    assert "post number 5" in body and "post number 0" not in body
    assert "post number 5" in html(mod_client.get(review_url, {"posts_page": 2}))


def test_posts_partial_is_a_404_for_an_outsider(outsider_client, lease):
    assert (
        outsider_client.get(reverse("frontend:work-posts", args=[lease.item.account.pk])).status_code == 404
    )


def test_review_screen_shows_media_brands_with_defanged_domains(mod_client, lease, review_url, team_a):
    create_media_brand(
        team=team_a,
        name="Bild (clone)",
        impersonates="Bild",
        domains=["bild.pics", "bild.asia"],
        accounts=[(lease.item.account, BrandRole.AMPLIFIES)],
    )
    page = html(mod_client.get(review_url))
    assert "Bild (clone)" in page
    assert "Impersonates <strong>Bild</strong>" in page
    assert "bild[.]pics" in page and "bild[.]asia" in page
    assert "Amplifies" in page


def test_review_screen_shows_the_accounts_evidence_with_hash_and_techniques(
    mod_client, lease, review_url, moderator
):
    item = record_evidence(
        case=lease.item.case,
        kind="link",
        captured_by=moderator,
        account=lease.item.account,
        title="Profile links to bild.pics",
        url="https://bild.pics/x",
        techniques=[technique("0.9.4")],
    )
    page = html(mod_client.get(review_url))
    assert "Profile links to bild.pics" in page
    assert f'title="{item.content_sha256}">{item.content_sha256[:12]}…' in page
    assert ">0.9.4<" in page
    assert reverse("frontend:evidence-detail", args=[item.pk]) in page


def test_review_screen_lists_similar_accounts_with_reasons(mod_client, lease, review_url, team_a):
    other = AccountFactory(team=team_a, handle="shannon81025511", display_name="Shannon")
    upsert_suggestion(team=team_a, account_a=lease.item.account, account_b=other, score=0.82, signals=SIGNALS)
    dismissed = upsert_suggestion(
        team=team_a,
        account_a=lease.item.account,
        account_b=AccountFactory(team=team_a),
        score=0.9,
        signals=[],
    )
    dismissed.status = SuggestionStatus.DISMISSED
    dismissed.save()
    page = html(mod_client.get(review_url))
    assert "@shannon81025511" in page
    assert ">0.82<" in page
    assert "Copy paste" in page and "12 near-identical posts" in page
    assert "handle shape name + 8 digits, like 31 others" in page
    assert "Add to case" in page and "Dismiss" in page
    assert page.count("data-suggestion") == 1


def test_review_screen_query_count_does_not_grow_with_posts_suggestions_and_evidence(
    mod_client, lease, review_url, team_a, moderator
):
    account, case = lease.item.account, lease.item.case
    reference = AccountFactory(team=team_a, kind=AccountKind.REFERENCE)

    def add(n: int) -> None:
        for _ in range(n):
            source = PostFactory(account=reference)
            PostFactory(account=account, copied_from=source, copy_similarity=0.9)
            upsert_suggestion(
                team=team_a,
                account_a=account,
                account_b=AccountFactory(team=team_a),
                score=0.7,
                signals=SIGNALS,
            )
            record_evidence(
                case=case,
                kind="note",
                captured_by=moderator,
                account=account,
                captured_text="seen",
                techniques=[technique("0.9.4")],
            )

    add(3)
    few = page_queries(mod_client, review_url)
    add(27)
    many = page_queries(mod_client, review_url)
    assert few == many, (few, many)
    assert many <= 32, many


# --- blind labelling -------------------------------------------------------------------------------


@pytest.fixture
def double_queue(team_a, lead):
    case = CaseFactory(team=team_a)
    add_account_to_case(case=case, account=AccountFactory(team=team_a, handle="only_one"), added_by=lead)
    return create_queue_from_case(case=case, name="Two labels each", created_by=lead, labels_per_item=2)


def test_other_labels_stay_hidden_until_the_user_submits(team_a, double_queue, moderator):
    first = member(team_a, username="first-labeller")
    taken = claim_next_item(queue=double_queue, user=first)
    submit_label(
        case=taken.item.case,
        account=taken.item.account,
        annotator=first,
        verdict="authentic",
        note="Looks real",
        assignment=taken,
    )
    client = signed_in(moderator)
    response = client.post(reverse("frontend:work-claim", args=[double_queue.pk]))
    mine = Assignment.objects.get(user=moderator)
    assert mine.item_id == taken.item_id
    page = html(client.get(response["Location"]))
    assert "1 other label on this account — hidden until you submit yours." in page
    assert "Looks real" not in page
    assert 'data-testid="agreement"' not in page
    assert "verdict-count" not in page

    _label(client, mine, verdict="inauthentic", action="submit")
    page = html(client.get(reverse("frontend:work-review", args=[mine.pk])))
    assert 'data-testid="agreement"' in page
    assert "2</strong> labels so far, agreement 0%" in page
    assert "Authentic <strong>1</strong>" in page and "Inauthentic <strong>1</strong>" in page


def test_a_lead_is_not_blind(team_a, double_queue, lead):
    # Leads adjudicate: they see every label (the one rule, review_selectors.is_review_blind).
    first = member(team_a, username="first-labeller")
    taken = claim_next_item(queue=double_queue, user=first)
    submit_label(
        case=taken.item.case,
        account=taken.item.account,
        annotator=first,
        verdict="authentic",
        assignment=taken,
    )
    client = signed_in(lead)
    page = html(client.get(client.post(reverse("frontend:work-claim", args=[double_queue.pk]))["Location"]))
    assert "hidden until you submit yours" not in page
    assert "Authentic <strong>1</strong>" in page


# --- labelling -------------------------------------------------------------------------------------


def test_submit_and_next_labels_completes_the_lease_and_claims_the_next(mod_client, moderator, lease):
    response = _label(
        mod_client,
        lease,
        verdict="inauthentic",
        techniques=["0.9.4", "5.4.2"],
        note="Copies NYT",
        action="next",
    )
    label = Label.objects.get(annotator=moderator)
    assert (label.verdict, label.note) == ("inauthentic", "Copies NYT")
    assert sorted(label.techniques.values_list("procedure_code", flat=True)) == ["0.9.4", "5.4.2"]
    lease.refresh_from_db()
    assert lease.state == AssignmentState.COMPLETED
    following = Assignment.objects.get(user=moderator, state=AssignmentState.ACTIVE)
    assert following.item_id != lease.item_id
    assert response["Location"] == reverse("frontend:work-review", args=[following.pk])


def test_submit_and_next_on_the_last_item_returns_to_my_work(mod_client, moderator, queue):
    for _ in range(3):
        lease = Assignment.objects.filter(
            user=moderator, state=AssignmentState.ACTIVE
        ).first() or claim_next_item(queue=queue, user=moderator)
        response = _label(mod_client, lease, verdict="unsure", action="next")
    assert response["Location"] == f"{reverse('frontend:my-work')}?team=team-a"
    page = html(mod_client.get(response["Location"]))
    assert "Nothing is left for you in “Spamouflage suspects”." in page
    assert 'data-testid="labels-today">3<' in page


def test_a_label_without_a_verdict_is_shown_again_with_the_error(mod_client, lease):
    response = _label(mod_client, lease, techniques=["0.9.4"], note="kept", action="next")
    page = html(response)
    assert response.status_code == 200
    assert "Choose a verdict: inauthentic, authentic or unsure." in page
    assert ">kept</textarea>" in page
    assert re.search(r'value="0\.9\.4"[^>]*checked', page), "the chosen technique stays chosen"
    assert not Label.objects.exists()


def test_an_unknown_technique_is_refused(mod_client, lease):
    response = _label(mod_client, lease, verdict="authentic", techniques=["99.99.99"], action="next")
    assert "99.99.99 is not a procedure of the kill chain." in html(response)
    assert not Label.objects.exists()


def test_a_label_after_the_lease_lapsed_is_refused_and_nothing_is_saved(
    mod_client, moderator, queue, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    lease = claim_next_item(queue=queue, user=moderator)
    time_machine.shift(datetime.timedelta(minutes=31))
    response = _label(mod_client, lease, verdict="authentic", action="next")
    page = html(response)
    assert response.status_code == 200
    assert "This lease has ended" in page or "expired" in page
    assert not Label.objects.exists()


def test_submit_keeps_the_user_on_the_item_and_the_label_can_then_change(mod_client, moderator, lease):
    response = _label(mod_client, lease, verdict="authentic", action="submit")
    assert response["Location"] == reverse("frontend:work-review", args=[lease.pk])
    page = html(mod_client.get(response["Location"]))
    assert "You labelled this account <strong>authentic</strong>" in page
    assert "Save label" in page

    _label(mod_client, lease, verdict="inauthentic", action="submit")
    assert Label.objects.get(annotator=moderator).verdict == "inauthentic"
    assert Assignment.objects.filter(user=moderator).count() == 1


def test_the_review_page_carries_the_keyboard_hooks(mod_client, review_url):
    page = html(mod_client.get(review_url))
    for key in ("1", "2", "3", "t", "e", "n"):
        assert f'data-key="{key}"' in page, key
    assert "data-ctrl-enter" in page
    assert 'id="keys-help"' in page
    assert 'data-action="accept"' not in page  # no suggestions here
    assert re.search(r'<script src="/static/frontend/keys\.js" defer>', page)


# --- techniques ------------------------------------------------------------------------------------


def test_technique_search_keeps_the_chosen_and_offers_recent_picks_first(mod_client, moderator, lease):
    _label(mod_client, lease, verdict="inauthentic", techniques=["5.4.2"], action="next")
    url = reverse("frontend:work-techniques")

    body = html(mod_client.get(url, {"prefix": "lbl"}))
    assert body.lstrip().startswith('<div id="lbl-tech-options"')
    recent = body.index("Your recent picks")
    assert recent < body.index('value="5.4.2"') < body.index("Kill chain")
    assert body.count('value="5.4.2"') == 1

    body = html(mod_client.get(url, {"prefix": "lbl", "tq": "domain", "techniques": ["0.9.4"]}))
    assert "Matches for “domain”" in body
    assert 'value="0.6.2"' in body
    assert re.search(r'value="0\.9\.4" id="lbl-t-0-9-4" checked', body)
    assert 'value="5.4.2"' not in body


def test_technique_picker_rejects_an_unknown_prefix(mod_client):
    assert mod_client.get(reverse("frontend:work-techniques"), {"prefix": "x"}).status_code == 404


# --- suggestions -----------------------------------------------------------------------------------


@pytest.fixture
def suggestion(team_a, lease):
    other = AccountFactory(team=team_a, handle="shannon81025511")
    return upsert_suggestion(
        team=team_a, account_a=lease.item.account, account_b=other, score=0.8, signals=SIGNALS
    )


def _act(client, suggestion, lease, action, **headers):
    return client.post(
        reverse(f"frontend:work-suggestion-{action}", args=[suggestion.pk]),
        {"case": lease.item.case_id, "account": lease.item.account_id},
        headers=headers,
    )


def test_accepting_a_suggestion_adds_the_account_and_swaps_the_row(mod_client, suggestion, lease):
    response = _act(mod_client, suggestion, lease, "accept", **{"HX-Request": "true"})
    body = html(response)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<li class="sugg is-decided" id="sugg-{suggestion.pk}"')
    assert "Added to the case" in body
    assert CaseAccount.objects.filter(case=lease.item.case, account__handle="shannon81025511").exists()
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.ACCEPTED


def test_dismissing_a_suggestion_swaps_the_row(mod_client, suggestion, lease):
    body = html(_act(mod_client, suggestion, lease, "dismiss", **{"HX-Request": "true"}))
    assert "Dismissed" in body
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.DISMISSED
    # A second dismiss is a domain error, shown in the row, not a 500.
    again = _act(mod_client, suggestion, lease, "dismiss", **{"HX-Request": "true"})
    assert again.status_code == 200
    assert "already dismissed" in html(again)


def test_suggestion_actions_without_htmx_redirect_back(mod_client, suggestion, lease):
    response = _act(mod_client, suggestion, lease, "accept")
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:case-detail", args=[lease.item.case_id])


def test_suggestion_actions_are_404_for_an_outsider_and_for_a_mismatched_account(
    outsider_client, mod_client, suggestion, lease, team_a
):
    for action in ("accept", "dismiss"):
        assert _act(outsider_client, suggestion, lease, action).status_code == 404
    stranger = AccountFactory(team=team_a)
    response = mod_client.post(
        reverse("frontend:work-suggestion-accept", args=[suggestion.pk]),
        {"case": lease.item.case_id, "account": stranger.pk},
    )
    assert response.status_code == 404
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.NEW
