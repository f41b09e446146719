"""The hostile corpus (tests/fixtures/hostile/), put in through every way in — the import page
(both bundle formats and a Meta indicator file, run by a real worker), the REST API, the HTML
forms and the extension's capture endpoint — then every page that shows it, opened in Chromium.

The ``page`` fixture already fails on a dialog (``alert``), a console error, a CSP violation and
a request to any other host; on top of that every page is checked for ``window.__pwned`` (set by
every payload that could run), for markup that became elements, and for links with script
schemes. tests/e2e/test_hostile_content.py covers the review screen's keyboard paths and the
sandboxed capture preview; this file covers the breadth of pages.
"""

import threading
import time

import pytest
from celery.signals import task_postrun
from playwright.sync_api import expect

from cases.models import Job, JobKind, JobStatus, Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.security.hostile import markup, seed_api, seed_capture, seed_forms, start_imports

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.postgres]

UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


def _wait_for_jobs(team, timeout: float = 45) -> None:
    """Until every job of the team (imports, and the similar-account refreshes they start) has
    finished on the worker. Woken by the worker's task_postrun, never by sleeping."""
    ran = threading.Event()

    def on_postrun(**kwargs):
        ran.set()

    task_postrun.connect(on_postrun, weak=False)
    deadline = time.monotonic() + timeout
    try:
        while Job.objects.filter(team=team, status__in=UNFINISHED).exists():
            assert time.monotonic() < deadline, list(Job.objects.filter(team=team).values("kind", "status"))
            ran.wait(timeout=1)
            ran.clear()
    finally:
        task_postrun.disconnect(on_postrun)


@pytest.fixture
def world(celery_worker):
    team = TeamFactory(slug="hostile-corpus", name="Hostile corpus")
    moderator = MembershipFactory(team=team, role=Role.MODERATOR, user=UserFactory(username="hc-mod")).user
    lead = MembershipFactory(team=team, role=Role.LEAD, user=UserFactory(username="hc-lead")).user
    seeded = seed_api(team=team, moderator=moderator, lead=lead)
    seed_capture(seeded=seeded, moderator=moderator)
    seed_forms(seeded=seeded, moderator=moderator, lead=lead)
    start_imports(seeded=seeded, moderator=moderator)
    _wait_for_jobs(team)
    seeded.jobs = list(Job.objects.filter(team=team).order_by("pk").values_list("pk", flat=True))
    assert Job.objects.filter(team=team, status=JobStatus.SUCCEEDED).count() == len(seeded.jobs)
    seeded.indicator_case = team.cases.exclude(pk=seeded.case.pk).get()
    return seeded, moderator, lead


def _nothing_ran(page, url: str) -> None:
    """The page rendered, and nothing in it was interpreted as markup or ran."""
    expect(page.locator("main")).to_be_visible()  # not hidden by an injected style
    assert page.evaluate("typeof window.__pwned") == "undefined", url
    # json_script data blocks (the graph's) are ours, and Django escapes their markup.
    scripts = "main script:not([type='application/json'])"
    assert page.locator(f"{scripts}, main iframe:not(.capture-frame), main svg[onload]").count() == 0, url
    assert page.locator("img[src='x'], input[autofocus][onfocus], details[ontoggle], base").count() == 0, url
    assert page.locator("[hx-trigger='load'][hx-get='/logout/']").count() == 0, url
    bad_links = page.locator(
        "a[href^='javascript:' i], a[href^='data:' i], a[href^='vbscript:' i], a[href^=' javascript:' i]"
    )
    assert bad_links.count() == 0, url
    assert page.locator("link[href*='evil.example'], meta[http-equiv='refresh']").count() == 0, url


def _pages(seeded, team_slug: str) -> list[str]:
    case, indicator_case = seeded.case, seeded.indicator_case
    return [
        "/",
        "/work/",
        "/imports/",
        *[f"/jobs/{pk}/" for pk in seeded.jobs],  # import results, with their rejected lines
        *[f"/cases/{c.pk}/{tab}" for c in (case, indicator_case) for tab in ("", "graph/", "report/")],
        f"/cases/{case.pk}/evidence/new/",
        f"/cases/{case.pk}/agreement/",
        f"/cases/{case.pk}/decision/",
        f"/cases/{case.pk}/outcomes/",
        f"/cases/{case.pk}/timeline/",
        *[f"/evidence/{pk}/" for pk in seeded.evidence],
        *[f"/evidence/{pk}/" for pk in indicator_case.evidence.values_list("pk", flat=True)],
        "/leads/",
        f"/leads/{team_slug}/cases/",
        f"/leads/{team_slug}/queues/",
        f"/leads/queues/{seeded.queue_id}/",
        f"/leads/queues/{seeded.queue_id}/agreement/",
        f"/teams/{team_slug}/networks/",
        "/capture/?url=" + markup()["script"] + "&title=" + markup()["img_onerror"].replace(";", "%3B"),
    ]


def test_every_page_showing_the_hostile_corpus_runs_nothing(page, log_in, world):
    seeded, _moderator, lead = world
    log_in(lead)
    visited = 0
    for url in _pages(seeded, seeded.team.slug):
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        _nothing_ran(page, url)
        visited += 1
    assert visited >= 30

    # The lead's own review screen: claim the queue's first item and read it.
    page.goto("/work/")
    page.get_by_role("button", name="Claim next").first.click()
    expect(page.locator(".profile-name")).to_be_visible()
    expect(page.locator(".bio").first).to_contain_text(markup()["css_close_style"])
    _nothing_ran(page, "review")
    # The case page shows the markup as text, where it was typed.
    page.goto(f"/cases/{seeded.case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(markup()["script"])
    # A job page shows each rejected line with its number and the hostile value quoted as text.
    jsonl = Job.objects.filter(team=seeded.team, kind=JobKind.IMPORT_BUNDLE, result__format="jsonl").get()
    page.goto(f"/jobs/{jsonl.pk}/")
    expect(page.locator(".rejected-lines")).to_contain_text("line 4")
    expect(page.locator(".rejected-lines")).to_contain_text("unknown type '<script>")
    _nothing_ran(page, "job")
