"""The browser UI through HTTP: access, the one write (recount), escaping, CSP and query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import CaseAccount, Job, JobKind, JobStatus, Priority, Role
from cases.services.evidence import record_evidence, retract_evidence
from tests.factories import AccountFactory, CaseFactory, MembershipFactory, TeamFactory, UserFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture
def case_a(team_a, moderator):
    return CaseFactory(
        team=team_a, title="Spamouflage copy-paste network", summary="Reposts of US politicians."
    )


@pytest.fixture
def job_a(team_a, moderator, case_a):
    return Job.objects.create(
        team=team_a, kind=JobKind.RECOUNT_CASE, params={"case_id": case_a.pk}, created_by=moderator
    )


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


def _html(response) -> str:
    return response.content.decode()


# --- Signing in and out ------------------------------------------------------------------------


def test_login_page_renders(client, db):
    response = client.get(reverse("frontend:login"))
    assert response.status_code == 200
    html = _html(response)
    assert "OSINT Annotator" in html
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_login_with_a_factory_user_redirects_home(client, moderator):
    response = client.post(reverse("frontend:login"), {"username": "mod-a", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:home")
    assert client.get(reverse("frontend:home")).status_code == 200


def test_login_with_a_wrong_password_shows_the_form_again(client, moderator):
    response = client.post(reverse("frontend:login"), {"username": "mod-a", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in _html(response)
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only_and_signs_out(mod_client):
    assert mod_client.get(reverse("frontend:logout")).status_code == 405
    response = mod_client.post(reverse("frontend:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:login")
    assert "_auth_user_id" not in mod_client.session


@pytest.mark.parametrize("name", ["home", "case-detail", "job-detail"])
def test_anonymous_users_are_sent_to_login(client, db, name):
    kwargs = {"case_id": 1} if name == "case-detail" else {"job_id": 1} if name == "job-detail" else {}
    url = reverse(f"frontend:{name}", kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('frontend:login')}?next={url}"


# --- Home ----------------------------------------------------------------------------------------


def test_home_lists_only_the_users_teams_cases(client, moderator, outsider, team_a, team_b):
    CaseFactory(team=team_a, title="Doppelganger media brands")
    CaseFactory(team=team_b, title="Team B private case")

    client.force_login(moderator)
    html = _html(client.get(reverse("frontend:home")))
    assert "Doppelganger media brands" in html
    assert "Team B private case" not in html

    client.force_login(outsider)
    html = _html(client.get(reverse("frontend:home")))
    assert "Team B private case" in html
    assert "Doppelganger media brands" not in html


def test_home_orders_cases_by_priority_first(mod_client, team_a):
    CaseFactory(team=team_a, title="Low case", priority=Priority.LOW)
    CaseFactory(team=team_a, title="Urgent case", priority=Priority.URGENT)
    html = _html(mod_client.get(reverse("frontend:home")))
    assert html.index("Urgent case") < html.index("Low case")


def test_home_shows_an_empty_state_without_teams(client, db):
    client.force_login(UserFactory(username="loner"))
    response = client.get(reverse("frontend:home"))
    assert response.status_code == 200
    assert "No team yet" in _html(response)


def test_home_shows_an_empty_state_without_cases(mod_client):
    assert "No cases yet" in _html(mod_client.get(reverse("frontend:home")))


def test_home_filters_by_team_when_the_user_has_several(client, team_a, team_b, moderator):
    MembershipFactory(user=moderator, team=team_b, role=Role.MODERATOR)
    CaseFactory(team=team_a, title="Alpha case")
    CaseFactory(team=team_b, title="Bravo case")
    client.force_login(moderator)

    html = _html(client.get(reverse("frontend:home")))
    assert 'aria-label="Filter by team"' in html
    assert "Alpha case" in html
    assert "Bravo case" in html

    html = _html(client.get(reverse("frontend:home"), {"team": "team-b"}))
    assert "Bravo case" in html
    assert "Alpha case" not in html


def test_home_team_filter_for_another_team_is_a_404(mod_client, team_b):
    assert mod_client.get(reverse("frontend:home"), {"team": team_b.slug}).status_code == 404
    assert mod_client.get(reverse("frontend:home"), {"team": "no-such-team"}).status_code == 404


def test_home_has_no_team_filter_for_a_single_team(mod_client):
    assert 'aria-label="Filter by team"' not in _html(mod_client.get(reverse("frontend:home")))


def test_home_shows_the_users_recent_jobs(mod_client, job_a, case_a, team_a, lead):
    Job.objects.create(team=team_a, kind=JobKind.SIMILARITY_SWEEP, created_by=lead)
    html = _html(mod_client.get(reverse("frontend:home")))
    assert reverse("frontend:job-detail", args=[job_a.pk]) in html
    assert "Similar-accounts sweep" not in html  # someone else's job


def test_home_pages_cases_at_50(mod_client, team_a):
    CaseFactory.create_batch(51, team=team_a)
    first = _html(mod_client.get(reverse("frontend:home")))
    assert first.count('href="/cases/') == 50
    assert "Page 1 of 2" in first
    second = _html(mod_client.get(reverse("frontend:home"), {"page": 2}))
    assert second.count('href="/cases/') == 1


def test_home_query_count_does_not_grow_with_cases(mod_client, team_a, moderator, lead):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert mod_client.get(reverse("frontend:home")).status_code == 200
        return len(ctx.captured_queries)

    cases = CaseFactory.create_batch(3, team=team_a, lead=lead)
    for case in cases:
        Job.objects.create(
            team=team_a, kind=JobKind.RECOUNT_CASE, params={"case_id": case.pk}, created_by=moderator
        )
    few = count_queries()

    more = CaseFactory.create_batch(27, team=team_a, lead=moderator)
    for case in more:
        Job.objects.create(
            team=team_a, kind=JobKind.RECOUNT_CASE, params={"case_id": case.pk}, created_by=moderator
        )
    many = count_queries()

    assert few == many
    # session, user, teams, case count, case page, recent jobs, their cases
    assert many <= 7


# --- Case page -----------------------------------------------------------------------------------


def test_case_page_shows_the_case(mod_client, case_a, lead):
    case_a.lead = lead
    case_a.priority = Priority.HIGH
    case_a.save()
    html = _html(mod_client.get(reverse("frontend:case-detail", args=[case_a.pk])))
    assert "Spamouflage copy-paste network" in html
    assert "Reposts of US politicians." in html
    assert "High priority" in html
    assert "lead-a" in html
    assert f'action="{reverse("frontend:case-recount", args=[case_a.pk])}"' in html


def test_case_and_job_pages_are_404_for_an_outsider_as_for_a_missing_id(outsider_client, case_a, job_a):
    assert outsider_client.get(reverse("frontend:case-detail", args=[case_a.pk])).status_code == 404
    assert outsider_client.get(reverse("frontend:case-detail", args=[case_a.pk + 1000])).status_code == 404
    assert outsider_client.get(reverse("frontend:job-detail", args=[job_a.pk])).status_code == 404
    assert outsider_client.get(reverse("frontend:job-detail", args=[job_a.pk + 1000])).status_code == 404


def test_case_page_lists_accounts_paged_at_50(mod_client, case_a, team_a):
    accounts = AccountFactory.create_batch(51, team=team_a)
    CaseAccount.objects.bulk_create(CaseAccount(case=case_a, account=account) for account in accounts)
    url = reverse("frontend:case-detail", args=[case_a.pk])

    first = _html(mod_client.get(url))
    assert first.count('class="mono nowrap">@') == 50
    assert "Page 1 of 2" in first
    second = _html(mod_client.get(url, {"accounts_page": 2}))
    assert second.count('class="mono nowrap">@') == 1


def test_case_page_shows_profile_links_defanged_and_isolated(mod_client, case_a, team_a):
    good = AccountFactory(team=team_a, handle="AtlantaOnline", profile_url="https://x.com/AtlantaOnline")
    evil = AccountFactory(team=team_a, handle="evil", profile_url="javascript:alert(1)")
    CaseAccount.objects.create(case=case_a, account=good)
    CaseAccount.objects.create(case=case_a, account=evil)
    html = _html(mod_client.get(reverse("frontend:case-detail", args=[case_a.pk])))

    link = re.search(r'<a class="ext-link mono" href="https://x.com/AtlantaOnline"[^>]*>([^<]*)</a>', html)
    assert link is not None
    assert 'target="_blank"' in link.group(0)
    assert 'rel="noopener noreferrer"' in link.group(0)
    assert link.group(1) == "hxxps://x[.]com/AtlantaOnline"
    assert 'href="javascript:' not in html


def test_case_page_lists_evidence_with_short_hashes_and_retractions(mod_client, case_a, moderator):
    kept = record_evidence(
        case=case_a, kind="link", captured_by=moderator, url="https://bild.pics/article", title="Fake Bild"
    )
    wrong = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="Mistaken note")
    retract_evidence(evidence=wrong, retracted_by=moderator, reason="Wrong account")
    html = _html(mod_client.get(reverse("frontend:case-detail", args=[case_a.pk])))

    assert f'title="{kept.content_sha256}">{kept.content_sha256[:12]}…' in html
    assert "hxxps://bild[.]pics/article" in html
    row = re.search(r'<tr class="is-retracted">.*?</tr>', html, re.S)
    assert row is not None
    assert "Mistaken note" in row.group(0)
    assert "<s>" in row.group(0)
    assert "Retracted" in row.group(0)
    assert "Wrong account" in html


def test_case_title_with_markup_is_escaped(mod_client, team_a):
    case = CaseFactory(team=team_a, title="<script>alert(1)</script>", summary="<img src=x onerror=alert(2)>")
    for url in (reverse("frontend:home"), reverse("frontend:case-detail", args=[case.pk])):
        html = _html(mod_client.get(url))
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html


# --- Recount and the job page --------------------------------------------------------------------


def test_recount_post_creates_a_queued_job_and_redirects_to_it(
    mod_client, case_a, moderator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = mod_client.post(reverse("frontend:case-recount", args=[case_a.pk]))
    job = Job.objects.get()
    assert job.status == JobStatus.QUEUED
    assert job.kind == JobKind.RECOUNT_CASE
    assert job.params == {"case_id": case_a.pk}
    assert job.created_by == moderator
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:job-detail", args=[job.pk])
    assert len(callbacks) == 1  # the task is sent once the job row is committed


def test_recount_get_is_405(mod_client, case_a):
    assert mod_client.get(reverse("frontend:case-recount", args=[case_a.pk])).status_code == 405
    assert not Job.objects.exists()


def test_recount_by_an_outsider_is_404_and_starts_nothing(outsider_client, case_a):
    assert outsider_client.post(reverse("frontend:case-recount", args=[case_a.pk])).status_code == 404
    assert not Job.objects.exists()


def test_job_page_polls_while_the_job_runs(mod_client, job_a, case_a):
    html = _html(mod_client.get(reverse("frontend:job-detail", args=[job_a.pk])))
    assert "Recount a case" in html
    assert case_a.title in html
    assert 'hx-trigger="every 1s"' in html
    assert f'hx-get="{reverse("frontend:job-detail", args=[job_a.pk])}"' in html
    assert "<progress" in html


def test_job_page_htmx_request_gets_only_the_progress_partial(mod_client, job_a):
    response = mod_client.get(
        reverse("frontend:job-detail", args=[job_a.pk]),
        headers={"HX-Request": "true", "HX-Target": "job-progress"},
    )
    html = _html(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="job-progress"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_finished_job_page_stops_polling_and_shows_the_result(mod_client, job_a):
    Job.objects.filter(pk=job_a.pk).update(
        status=JobStatus.SUCCEEDED, progress=3, total=3, message="Counts updated", result={"account_count": 7}
    )
    html = _html(
        mod_client.get(
            reverse("frontend:job-detail", args=[job_a.pk]),
            headers={"HX-Request": "true", "HX-Target": "job-progress"},
        )
    )
    assert "hx-trigger" not in html
    assert "Succeeded" in html
    assert "Counts updated" in html
    assert "Account count" in html
    assert 'value="100"' in html


def test_failed_job_page_shows_the_failure(mod_client, job_a):
    Job.objects.filter(pk=job_a.pk).update(
        status=JobStatus.FAILED, message="DoesNotExist: Case matching query"
    )
    html = _html(mod_client.get(reverse("frontend:job-detail", args=[job_a.pk])))
    assert "hx-trigger" not in html
    assert "Failed" in html
    assert "DoesNotExist: Case matching query" in html


# --- Health, CSP, no inline code -----------------------------------------------------------------


def test_healthz_answers_ok_without_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


@pytest.fixture
def every_page(client, moderator, case_a, job_a):
    """A response from every kind of page: anonymous, signed in, partial, redirect, 404, health."""
    responses = {
        "login": client.get(reverse("frontend:login")),
        "anonymous home": client.get(reverse("frontend:home")),
        "healthz": client.get("/healthz"),
    }
    client.force_login(moderator)
    responses |= {
        "home": client.get(reverse("frontend:home")),
        "case": client.get(reverse("frontend:case-detail", args=[case_a.pk])),
        "job": client.get(reverse("frontend:job-detail", args=[job_a.pk])),
        "job partial": client.get(
            reverse("frontend:job-detail", args=[job_a.pk]),
            headers={"HX-Request": "true", "HX-Target": "job-progress"},
        ),
        "missing case": client.get(reverse("frontend:case-detail", args=[case_a.pk + 1000])),
    }
    return responses


def test_every_response_has_a_strict_content_security_policy(every_page):
    for name, response in every_page.items():
        policy = response.get("Content-Security-Policy")
        assert policy, f"{name}: no Content-Security-Policy header"
        assert "script-src 'self'" in policy, name
        assert "style-src 'self'" in policy, name
        assert "'unsafe-inline'" not in policy, name
        assert "'unsafe-eval'" not in policy, name


def test_pages_carry_no_inline_script_or_style(every_page):
    for name, response in every_page.items():
        if response["Content-Type"].startswith("text/html") and response.status_code == 200:
            html = _html(response)
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{name}: inline <script>"
            assert not re.search(r"\sstyle\s*=", html), f"{name}: style attribute"
            assert "<style" not in html, f"{name}: <style> element"
            assert not re.search(r"\son[a-z]+\s*=", html), f"{name}: inline event handler"


def test_pages_use_the_vendored_htmx_and_csrf_header(mod_client):
    html = _html(mod_client.get(reverse("frontend:home")))
    assert re.search(r'<script src="/static/frontend/vendor/htmx-2\.0\.\d+\.min\.js" defer>', html)
    assert """hx-headers='{"X-CSRFToken": \"""" in html
    assert '"allowEval": false' in html


def test_a_second_team_never_leaks_through_ids(client, team_a):
    """A lead of another team with many objects still sees only their own."""
    other = TeamFactory(slug="team-c")
    other_lead = MembershipFactory(team=other, role=Role.LEAD, user=UserFactory(username="lead-c")).user
    mine = CaseFactory(team=other, title="Team C case")
    theirs = CaseFactory(team=team_a, title="Team A case")
    client.force_login(other_lead)
    assert client.get(reverse("frontend:case-detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("frontend:case-detail", args=[theirs.pk])).status_code == 404
