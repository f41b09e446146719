"""The authorization matrix: every route of the project — pages, API, /healthz, /admin/ — asked by
every kind of caller, about an object of their own team and one of another team.

``MATRIX`` is the one table. A row is a route name (``namespace:name``; an unnamed pattern by its
route) with the status its GET and, where the route accepts one, its write answer on **team A's**
object, for each principal:

* ``anon``: nobody signed in;
* ``mod``, ``lead``, ``admin``: team A's moderator, lead and admin (``cases.models.Role``);
* ``other``: team B's moderator — another team's user — asking for team A's object;
* ``su``: a Django superuser (staff) with no membership: the /admin/ operator, nobody in the app.

Each row is also asked about **team B's** object, by symmetry: team A's members get the ``other``
answer (for them it is another team's object; ``other_lead`` where a lead's differs from a
moderator's), team B's moderator the ``mod`` answer, ``su`` the same as on team A's. Anonymous
callers are refused before any lookup, so they are asked about team A's object only. Objects that
belong to one user (a lease, a token) belong to each team's moderator, a saved filter to its lead,
so the symmetry holds. A row's ``askers`` narrows who is asked only for the public schema and for
the per-model admin pages, which sit behind the one staff gate the admin site's own rows test.

Besides the status, every cell checks:

* a 404 for another team's object has the same body as the 404 for an id that does not exist
  (CSRF token and nonces aside; asked of each team's moderator);
* no answer to one team's user contains a word of the other team (every row of team B carries
  "osprey", every row of team A "kestrel"), and API lists list their own team's row and not the
  other's; the superuser sees neither team in the app;
* a refused request (anonymous, another team's, 401/403/404/405) writes no audit event.

``test_the_matrix_covers_every_route`` fails when a route exists that the table does not name, and
when the table names one that no longer exists. Two smaller tables follow: list filters that name
team B's ids (``PROBES``) and team A's forms posted with team B's ids (``FOREIGN_FORM_BODIES``).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib import admin as django_admin
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from cases.models import Account, AuditEvent, Role, SavedFilter, Technique
from cases.services.evidence import Upload, record_evidence
from cases.services.tokens import create_token
from tests.api.conftest import build_world, png_bytes
from tests.capture.conftest import capture_body
from tests.factories import MembershipFactory, TeamFactory, UserFactory

ANON, MOD, LEAD, ADMIN, OTHER, SU = "anon", "mod", "lead", "admin", "other", "su"
PRINCIPALS = (ANON, MOD, LEAD, ADMIN, OTHER, SU)
MISSING_ID = 987654321
MISSING_SLUG = "no-such-team"


@dataclass(frozen=True)
class Expect:
    """Statuses on team A's object, one per principal."""

    anon: int
    mod: int
    lead: int
    admin: int
    other: int
    su: int
    other_lead: int | None = None  # a lead or admin of another team, when not ``other``

    def on(self, principal: str, target: str) -> int:
        if target == "B":  # the same route, asked about team B's object
            if principal in (LEAD, ADMIN) and self.other_lead is not None:
                return self.other_lead
            principal = {MOD: OTHER, LEAD: OTHER, ADMIN: OTHER, OTHER: MOD}.get(principal, principal)
        return getattr(self, principal)


def page(mod=200, lead=None, admin=None, other=404, su=404, anon=302) -> Expect:
    """A signed-in page: anonymous callers are sent to the login page (302)."""
    lead = mod if lead is None else lead
    return Expect(anon=anon, mod=mod, lead=lead, admin=lead if admin is None else admin, other=other, su=su)


def api(mod=200, lead=None, admin=None, other=404, su=404, anon=401, other_lead=None) -> Expect:
    """An API route: no credentials is a 401."""
    lead = mod if lead is None else lead
    admin = lead if admin is None else admin
    return Expect(anon=anon, mod=mod, lead=lead, admin=admin, other=other, su=su, other_lead=other_lead)


def every(status: int) -> Expect:
    return Expect(*(status,) * 6)


POST_ONLY = every(405)  # the GET of a POST-only page: refused before anything else
API_WRITE_ONLY = api(405, other=405, su=405)  # the GET of a write-only API route: after the 401
ADMIN_SITE = Expect(anon=302, mod=302, lead=302, admin=302, other=302, su=200)  # staff only
ADMIN_REFUSED = Expect(anon=302, mod=302, lead=302, admin=302, other=302, su=403)  # read-only admin


@dataclass(frozen=True)
class Route:
    """``kind``: "team" — the URL names a team's object; "body" — the body names it; "global"."""

    kind: str
    url: Callable
    get: Expect
    write: tuple | None = None  # (method, body builder or None, Expect)
    lists: str | None = None  # API lists: the world attribute whose id must (not) be listed
    askers: tuple = PRINCIPALS  # who is asked (all but a few public or per-model admin rows)


def w_(method, expect, body=None):
    return (method, body, expect)


# Bodies are built from the world of the object asked about.
def _label(w):
    return {"verdict": "inauthentic", "note": "matrix"}


def _vote(w):
    return {"actor": w.actor.pk, "confidence": "high", "rationale": "matrix"}


def _upload(w):
    return {
        "team": w.team.pk,
        "file": SimpleUploadedFile("a.jsonl", b'{"type": "account", "platform": "x", "handle": "m"}\n'),
    }


def _uploads(w):
    return {
        "team": w.team.pk,
        "files": SimpleUploadedFile(
            "i.csv",
            b"indicator_type,indicator_value,comment,ds\ncib_url,https://e[.]cz/p,matrix,2022-09-27\n",
        ),
    }


MATRIX: dict[str, Route] = {
    # --- project wiring ------------------------------------------------------------------------
    "healthz": Route("global", lambda w: "/healthz", every(200)),
    # --- pages: signing in and out, home, settings ----------------------------------------------
    "frontend:login": Route(
        "global",
        lambda w: "/login/",
        Expect(anon=200, mod=302, lead=302, admin=302, other=302, su=302),
        # Signed-in callers are sent on before the form is read.
        w_(
            "post",
            Expect(200, 302, 302, 302, 302, 302),
            lambda w: {"username": "kestrel-mod", "password": "wrong"},
        ),
    ),
    "frontend:logout": Route("global", lambda w: "/logout/", every(405), w_("post", every(302))),
    "frontend:home": Route("global", lambda w: "/", page(other=200, su=200)),
    "frontend:imports": Route(
        "body",
        lambda w: "/imports/",
        page(other=200, su=200),
        # Into another team's slug: not a choice of the form, so it comes back with the error.
        w_(
            "post",
            page(302, other=200, su=200),
            lambda w: {"team": w.team.slug, "kind": "bundle", "files": _upload(w)["file"]},
        ),
    ),
    "frontend:settings-tokens": Route(
        "global",
        lambda w: "/settings/tokens/",
        page(other=200, su=200),
        w_("post", page(200, other=200, su=200), lambda w: {"name": "matrix"}),
    ),
    "frontend:settings-token-revoke": Route(
        "team", lambda w: f"/settings/tokens/{w.token.pk}/revoke/", POST_ONLY, w_("post", page(302, lead=404))
    ),
    "frontend:settings-capture": Route("global", lambda w: "/settings/capture/", page(other=200, su=200)),
    "frontend:signing-key-pem": Route("global", lambda w: "/settings/signing-key.pem", every(200)),
    "frontend:capture": Route(
        "body",
        lambda w: "/capture/",
        page(other=200, su=200),
        w_(
            "post",
            page(200, other=200, su=200),
            lambda w: {"case": w.case.pk, "action": "page", "url": "https://example.com/p", "selection": "x"},
        ),
    ),
    # --- pages: cases, jobs, evidence -----------------------------------------------------------
    "frontend:case-detail": Route("team", lambda w: f"/cases/{w.case.pk}/", page()),
    "frontend:case-recount": Route(
        "team", lambda w: f"/cases/{w.case.pk}/recount/", POST_ONLY, w_("post", page(302))
    ),
    "frontend:job-detail": Route("team", lambda w: f"/jobs/{w.job.pk}/", page()),
    "frontend:case-vote": Route(
        "team", lambda w: f"/cases/{w.case.pk}/vote/", POST_ONLY, w_("post", page(302), _vote)
    ),
    "frontend:evidence-new": Route(
        "team",
        lambda w: f"/cases/{w.case.pk}/evidence/new/",
        page(),
        w_("post", page(302), lambda w: {"kind": "note", "captured_text": "matrix note"}),
    ),
    "frontend:evidence-detail": Route("team", lambda w: f"/evidence/{w.evidence.pk}/", page()),
    "frontend:evidence-retract": Route(
        "team",
        lambda w: f"/evidence/{w.evidence.pk}/retract/",
        POST_ONLY,
        w_("post", page(302), lambda w: {"reason": "matrix"}),
    ),
    "frontend:evidence-file-download": Route(
        "team", lambda w: f"/evidence/files/{w.file.pk}/download/", page()
    ),
    "frontend:evidence-file-image": Route("team", lambda w: f"/evidence/files/{w.file.pk}/image/", page()),
    "frontend:evidence-file-preview": Route(
        "team", lambda w: f"/evidence/files/{w.page_file.pk}/preview/", page()
    ),
    "frontend:case-graph": Route("team", lambda w: f"/cases/{w.case.pk}/graph/", page()),
    "frontend:case-report": Route("team", lambda w: f"/cases/{w.case.pk}/report/", page()),
    # --- pages: possible networks ---------------------------------------------------------------
    "frontend:networks": Route("team", lambda w: f"/teams/{w.team.slug}/networks/", page()),
    "frontend:network-create-case": Route(
        "team",
        lambda w: f"/teams/{w.team.slug}/networks/create-case/",
        POST_ONLY,
        w_("post", page(302), lambda w: {"account": w.account.pk, "title": "matrix"}),
    ),
    "frontend:network-sweep": Route(
        "team", lambda w: f"/teams/{w.team.slug}/networks/sweep/", POST_ONLY, w_("post", page(302))
    ),
    # --- pages: the moderator workspace ---------------------------------------------------------
    "frontend:my-work": Route("global", lambda w: "/work/", page(other=200, su=200)),
    "frontend:work-claim": Route(
        "team", lambda w: f"/work/queues/{w.queue.pk}/claim/", POST_ONLY, w_("post", page(302))
    ),
    # A lease is its holder's (the moderator's): a teammate gets the same 404 as a stranger.
    "frontend:work-review": Route(
        "team", lambda w: f"/work/assignments/{w.assignment.pk}/", page(200, lead=404)
    ),
    "frontend:work-label": Route(
        "team",
        lambda w: f"/work/assignments/{w.assignment.pk}/label/",
        POST_ONLY,
        w_("post", page(302, lead=404), _label),
    ),
    "frontend:work-release": Route(
        "team",
        lambda w: f"/work/assignments/{w.assignment.pk}/release/",
        POST_ONLY,
        w_("post", page(302, lead=404)),
    ),
    "frontend:work-skip": Route(
        "team",
        lambda w: f"/work/assignments/{w.assignment.pk}/skip/",
        POST_ONLY,
        w_("post", page(302, lead=404), lambda w: {"reason": "matrix"}),
    ),
    "frontend:work-posts": Route("team", lambda w: f"/work/accounts/{w.account.pk}/posts/", page()),
    "frontend:work-avatar": Route("team", lambda w: f"/work/accounts/{w.account.pk}/avatar/", page()),
    "frontend:work-techniques": Route("global", lambda w: "/work/techniques/", page(other=200, su=200)),
    "frontend:work-suggestion-accept": Route(
        "team",
        lambda w: f"/work/suggestions/{w.suggestion.pk}/accept/",
        POST_ONLY,
        w_("post", page(302), lambda w: {"case": w.case.pk, "account": w.suggestion.account_a_id}),
    ),
    "frontend:work-suggestion-dismiss": Route(
        "team",
        lambda w: f"/work/suggestions/{w.suggestion.pk}/dismiss/",
        POST_ONLY,
        w_("post", page(302), lambda w: {"case": w.case.pk, "account": w.suggestion.account_a_id}),
    ),
    # --- pages: the lead console ----------------------------------------------------------------
    "frontend:leads": Route("global", lambda w: "/leads/", page(302, other=302, su=404)),
    # Moderators read the case queue and the queue monitor; every action on them is a lead's.
    "frontend:lead-cases": Route("team", lambda w: f"/leads/{w.team.slug}/cases/", page()),
    "frontend:lead-cases-bulk": Route(
        "team",
        lambda w: f"/leads/{w.team.slug}/cases/bulk/",
        POST_ONLY,
        w_(
            "post",
            page(403, lead=302),
            lambda w: {"case": [w.case.pk], "action": "set_priority", "priority": 3},
        ),
    ),
    "frontend:lead-filter-save": Route(
        "team",
        lambda w: f"/leads/{w.team.slug}/filters/",
        POST_ONLY,
        w_("post", page(302), lambda w: {"name": "matrix", "query": "status=open"}),
    ),
    # A saved filter is its owner's (the lead's).
    "frontend:lead-filter-delete": Route(
        "team",
        lambda w: f"/leads/filters/{w.saved_filter.pk}/delete/",
        POST_ONLY,
        w_("post", page(404, lead=302, admin=404)),
    ),
    "frontend:lead-queues": Route("team", lambda w: f"/leads/{w.team.slug}/queues/", page()),
    "frontend:lead-queue-monitor": Route("team", lambda w: f"/leads/queues/{w.queue.pk}/", page()),
    "frontend:lead-queue-release-stale": Route(
        "team",
        lambda w: f"/leads/queues/{w.queue.pk}/release-stale/",
        POST_ONLY,
        w_("post", page(403, lead=302)),
    ),
    "frontend:lead-queue-release-lease": Route(
        "team",
        lambda w: f"/leads/queues/{w.queue.pk}/leases/{w.assignment.pk}/release/",
        POST_ONLY,
        w_("post", page(403, lead=302)),
    ),
    "frontend:lead-queue-priority": Route(
        "team",
        lambda w: f"/leads/queues/{w.queue.pk}/priority/",
        POST_ONLY,
        w_("post", page(403, lead=302), lambda w: {"priority": 3}),
    ),
    "frontend:lead-queue-reviewer-add": Route(
        "team",
        lambda w: f"/leads/queues/{w.queue.pk}/reviewers/",
        POST_ONLY,
        w_("post", page(403, lead=302), lambda w: {"reviewer": w.moderator.pk}),
    ),
    "frontend:lead-queue-reviewer-remove": Route(
        "team",
        lambda w: f"/leads/queues/{w.queue.pk}/reviewers/{w.moderator.pk}/remove/",
        POST_ONLY,
        w_("post", page(403, lead=302)),
    ),
    "frontend:lead-agreement": Route("team", lambda w: f"/cases/{w.case.pk}/agreement/", page(403, lead=200)),
    "frontend:lead-adjudicate": Route(
        "team",
        lambda w: f"/cases/{w.case.pk}/accounts/{w.account.pk}/adjudicate/",
        POST_ONLY,
        w_("post", page(403, lead=302), lambda w: {"verdict": "inauthentic", "reason": "matrix"}),
    ),
    "frontend:lead-queue-agreement": Route(
        "team", lambda w: f"/leads/queues/{w.queue.pk}/agreement/", page(403, lead=200)
    ),
    "frontend:lead-decision": Route("team", lambda w: f"/cases/{w.case.pk}/decision/", page(403, lead=200)),
    "frontend:lead-decide": Route(
        "team",
        lambda w: f"/cases/{w.case.pk}/decision/decide/",
        POST_ONLY,
        w_("post", page(403, lead=200), _vote),  # an open case: the form comes back with the reason
    ),
    "frontend:lead-reopen": Route(
        "team",
        lambda w: f"/cases/{w.case.pk}/decision/reopen/",
        POST_ONLY,
        w_("post", page(403, lead=200), lambda w: {"reason": "matrix"}),
    ),
    "frontend:lead-outcomes": Route("team", lambda w: f"/cases/{w.case.pk}/outcomes/", page(403, lead=200)),
    "frontend:lead-outcomes-set": Route(
        "team",
        lambda w: f"/cases/{w.case.pk}/outcomes/set/",
        POST_ONLY,
        w_("post", page(403, lead=200), lambda w: {"account": [w.account.pk], "outcome": "suspended"}),
    ),
    "frontend:lead-timeline": Route("team", lambda w: f"/cases/{w.case.pk}/timeline/", page(403, lead=200)),
    # --- API: lists and creates (the team is named in the body) --------------------------------
    "api:team-list": Route("global", lambda w: "/api/teams/", api(other=200, su=200), lists="team"),
    "api:account-list": Route(
        "body",
        lambda w: "/api/accounts/",
        api(other=200, su=200),
        w_(
            "post",
            api(201, other=400, su=400),
            lambda w: {"team": w.team.pk, "platform": "x", "handle": "matrix-new"},
        ),
        lists="account",
    ),
    "api:post-list": Route(
        "body",
        lambda w: "/api/posts/",
        api(other=200, su=200),
        w_("post", api(201, other=400, su=400), lambda w: {"account": w.account.pk, "text": "matrix"}),
        lists="post",
    ),
    "api:media-brand-list": Route(
        "body",
        lambda w: "/api/media-brands/",
        api(other=200, su=200),
        w_("post", api(201, other=400, su=400), lambda w: {"team": w.team.pk, "name": "Matrix brand"}),
        lists="brand",
    ),
    "api:case-list": Route(
        "body",
        lambda w: "/api/cases/",
        api(other=200, su=200),
        w_("post", api(201, other=400, su=400), lambda w: {"team": w.team.pk, "title": "Matrix case"}),
        lists="case",
    ),
    "api:evidence-list": Route(
        "body",
        lambda w: "/api/evidence/",
        api(other=200, su=200),
        w_(
            "post",
            api(201, other=400, su=400),
            lambda w: {"case": w.case.pk, "kind": "note", "captured_text": "m"},
        ),
        lists="evidence",
    ),
    "api:actor-list": Route(
        "body",
        lambda w: "/api/actors/",
        api(other=200, su=200),
        w_("post", api(201, other=400, su=400), lambda w: {"team": w.team.pk, "name": "Matrix actor"}),
        lists="actor",
    ),
    "api:queue-list": Route(
        "body",
        lambda w: "/api/queues/",
        api(other=200, su=200),
        w_(
            "post",
            api(403, lead=201, other=400, su=400),
            lambda w: {"case": w.case.pk, "name": "Matrix queue"},
        ),
        lists="queue",
    ),
    "api:job-list": Route("global", lambda w: "/api/jobs/", api(other=200, su=200), lists="job"),
    "api:suggestion-list": Route(
        "global", lambda w: "/api/suggestions/", api(other=200, su=200), lists="suggestion"
    ),
    "api:assignment-list": Route(
        "global", lambda w: "/api/assignments/", api(other=200, su=200), lists="assignment"
    ),
    "api:audit-event-list": Route(
        "global", lambda w: "/api/audit-events/", api(403, lead=200, other=403, su=403)
    ),
    "api:technique-list": Route("global", lambda w: "/api/techniques/", api(other=200, su=200)),
    # The taxonomy is public knowledge shared by every team.
    "api:technique-detail": Route(
        "global", lambda w: f"/api/techniques/{w.technique.pk}/", api(other=200, su=200)
    ),
    "api:token-list": Route(
        "global",
        lambda w: "/api/tokens/",
        api(other=200, su=200),
        w_("post", api(201, other=201, su=201), lambda w: {"name": "matrix"}),
    ),
    "api:import-bundle": Route(
        "body",
        lambda w: "/api/imports/bundle/",
        API_WRITE_ONLY,
        w_("multipart", api(202, other=400, su=400), _upload),
    ),
    "api:import-indicators": Route(
        "body",
        lambda w: "/api/imports/indicators/",
        API_WRITE_ONLY,
        w_("multipart", api(202, other=400, su=400), _uploads),
    ),
    "api:similarity-sweeps": Route(
        "body",
        lambda w: "/api/similarity/sweeps/",
        API_WRITE_ONLY,
        w_("post", api(202, other=400, su=400), lambda w: {"team": w.team.pk}),
    ),
    "api:capture-list": Route(
        "body",
        lambda w: "/api/captures/",
        API_WRITE_ONLY,
        w_("multipart", api(201, other=404, su=404), lambda w: capture_body(w.case)),
    ),
    # Public, and the same for every caller: generated for two (it is the slowest answer here).
    "api:schema": Route("global", lambda w: "/api/schema/", every(200), askers=(ANON, MOD)),
    "api:docs": Route("global", lambda w: "/api/docs/", every(200)),
    # --- API: objects and what hangs under them --------------------------------------------------
    "api:team-detail": Route("team", lambda w: f"/api/teams/{w.team.pk}/", api()),
    "api:account-detail": Route("team", lambda w: f"/api/accounts/{w.account.pk}/", api()),
    "api:account-similar": Route("team", lambda w: f"/api/accounts/{w.account.pk}/similar/", api()),
    "api:post-detail": Route("team", lambda w: f"/api/posts/{w.post.pk}/", api()),
    "api:media-brand-detail": Route("team", lambda w: f"/api/media-brands/{w.brand.pk}/", api()),
    "api:case-detail": Route("team", lambda w: f"/api/cases/{w.case.pk}/", api()),
    "api:case-export": Route("team", lambda w: f"/api/cases/{w.case.pk}/export/", api()),
    "api:case-manifest": Route("team", lambda w: f"/api/cases/{w.case.pk}/manifest/", api()),
    "api:case-votes": Route("team", lambda w: f"/api/cases/{w.case.pk}/votes/", api()),
    "api:case-labels": Route("team", lambda w: f"/api/cases/{w.case.pk}/labels/", api()),
    "api:case-decisions": Route("team", lambda w: f"/api/cases/{w.case.pk}/decisions/", api()),
    "api:case-accounts": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/accounts/",
        api(),
        w_("post", api(201), lambda w: {"account": w.spare_account.pk}),
    ),
    "api:case-account-detail": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/accounts/{w.account.pk}/",
        API_WRITE_ONLY,
        w_("delete", api(204)),
    ),
    "api:case-label-detail": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/labels/{w.account.pk}/",
        API_WRITE_ONLY,
        w_("put", api(201), _label),
    ),
    "api:case-vote": Route(
        "team", lambda w: f"/api/cases/{w.case.pk}/vote/", API_WRITE_ONLY, w_("put", api(201), _vote)
    ),
    "api:case-decision": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/decision/",
        API_WRITE_ONLY,
        w_("post", api(403, lead=409), _vote),  # open: not decidable, after the role check
    ),
    "api:case-close": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/close/",
        API_WRITE_ONLY,
        w_("post", api(403, lead=200), lambda w: {"reason": "m"}),
    ),
    "api:case-reopen": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/reopen/",
        API_WRITE_ONLY,
        w_("post", api(403, lead=409), lambda w: {"reason": "m"}),
    ),
    "api:case-lead": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/lead/",
        API_WRITE_ONLY,
        w_("post", api(403, lead=200), lambda w: {"lead": None}),
    ),
    "api:case-priority": Route(
        "team",
        lambda w: f"/api/cases/{w.case.pk}/priority/",
        API_WRITE_ONLY,
        w_("post", api(200), lambda w: {"priority": 4}),
    ),
    "api:evidence-detail": Route("team", lambda w: f"/api/evidence/{w.evidence.pk}/", api()),
    "api:evidence-retract": Route(
        "team",
        lambda w: f"/api/evidence/{w.evidence.pk}/retract/",
        API_WRITE_ONLY,
        w_("post", api(201), lambda w: {"reason": "m"}),  # a retraction is new evidence
    ),
    "api:actor-detail": Route("team", lambda w: f"/api/actors/{w.actor.pk}/", api()),
    "api:queue-detail": Route("team", lambda w: f"/api/queues/{w.queue.pk}/", api()),
    "api:queue-stats": Route("team", lambda w: f"/api/queues/{w.queue.pk}/stats/", api()),
    "api:queue-claim": Route(
        "team", lambda w: f"/api/queues/{w.queue.pk}/claim/", API_WRITE_ONLY, w_("post", api(201))
    ),
    "api:queue-pause": Route(
        "team", lambda w: f"/api/queues/{w.queue.pk}/pause/", API_WRITE_ONLY, w_("post", api(403, lead=200))
    ),
    "api:queue-resume": Route(
        "team", lambda w: f"/api/queues/{w.queue.pk}/resume/", API_WRITE_ONLY, w_("post", api(403, lead=200))
    ),
    "api:queue-release-expired": Route(
        "team",
        lambda w: f"/api/queues/{w.queue.pk}/release-expired/",
        API_WRITE_ONLY,
        w_("post", api(403, lead=200)),
    ),
    "api:queue-items": Route("team", lambda w: f"/api/queues/{w.queue.pk}/items/", api()),
    "api:queue-item-detail": Route("team", lambda w: f"/api/queues/{w.queue.pk}/items/{w.item.pk}/", api()),
    "api:queue-item-priority": Route(
        "team",
        lambda w: f"/api/queues/{w.queue.pk}/items/{w.item.pk}/priority/",
        API_WRITE_ONLY,
        w_("post", api(403, lead=200), lambda w: {"priority": 9}),
    ),
    "api:job-detail": Route("team", lambda w: f"/api/jobs/{w.job.pk}/", api()),
    "api:suggestion-detail": Route("team", lambda w: f"/api/suggestions/{w.suggestion.pk}/", api()),
    "api:suggestion-accept": Route(
        "team",
        lambda w: f"/api/suggestions/{w.suggestion.pk}/accept/",
        API_WRITE_ONLY,
        w_("post", api(200), lambda w: {"case": w.case.pk}),
    ),
    "api:suggestion-dismiss": Route(
        "team",
        lambda w: f"/api/suggestions/{w.suggestion.pk}/dismiss/",
        API_WRITE_ONLY,
        w_("post", api(200), lambda w: {"reason": "m"}),
    ),
    # A lease is its holder's; a lead of the team sees and frees it, but cannot finish it. A token
    # is its owner's.
    "api:assignment-detail": Route("team", lambda w: f"/api/assignments/{w.assignment.pk}/", api(200)),
    "api:assignment-complete": Route(
        "team",
        lambda w: f"/api/assignments/{w.assignment.pk}/complete/",
        API_WRITE_ONLY,
        w_("post", api(200, lead=403), _label),
    ),
    "api:assignment-release": Route(
        "team",
        lambda w: f"/api/assignments/{w.assignment.pk}/release/",
        API_WRITE_ONLY,
        w_("post", api(200)),
    ),
    "api:assignment-skip": Route(
        "team",
        lambda w: f"/api/assignments/{w.assignment.pk}/skip/",
        API_WRITE_ONLY,
        w_("post", api(200, lead=403), lambda w: {"reason": "m"}),
    ),
    "api:token-detail": Route("team", lambda w: f"/api/tokens/{w.token.pk}/", api(200, lead=404)),
    "api:token-revoke": Route(
        "team", lambda w: f"/api/tokens/{w.token.pk}/revoke/", API_WRITE_ONLY, w_("post", api(200, lead=404))
    ),
    "api:audit-event-detail": Route(
        "team",
        lambda w: f"/api/audit-events/{w.audit_event.pk}/",
        # A moderator is refused before the lookup: the same 403 for any id, so it reveals nothing.
        api(403, lead=200, other=403, su=403, other_lead=404),
    ),
    "api:team-members": Route(
        "team",
        lambda w: f"/api/teams/{w.team.pk}/members/",
        api(),
        w_("post", api(403, admin=201), lambda w: {"username": "newcomer", "role": "moderator"}),
    ),
    # --- the admin site: staff only, and read-only even for them ---------------------------------
    "admin:index": Route("global", lambda w: "/admin/", ADMIN_SITE),
    "admin:login": Route(
        "global", lambda w: "/admin/login/", Expect(anon=200, mod=200, lead=200, admin=200, other=200, su=302)
    ),
    "admin:logout": Route(
        "global", lambda w: "/admin/logout/", Expect(302, 302, 302, 302, 302, 405), w_("post", every(302))
    ),
    "admin:password_change": Route("global", lambda w: "/admin/password_change/", ADMIN_SITE),
    "admin:password_change_done": Route("global", lambda w: "/admin/password_change/done/", ADMIN_SITE),
    "admin:autocomplete": Route(
        "global", lambda w: "/admin/autocomplete/", Expect(302, 302, 302, 302, 302, 403)
    ),
    "admin:jsi18n": Route("global", lambda w: "/admin/jsi18n/", ADMIN_SITE),
    "admin:view_on_site": Route(
        "global", lambda w: f"/admin/r/{w.team_ct}/{w.team.pk}/", Expect(302, 302, 302, 302, 302, 404)
    ),
    "admin:app_list": Route("global", lambda w: "/admin/cases/", ADMIN_SITE),
    "admin/(?P<url>.*)$": Route(
        "global", lambda w: "/admin/no-such-page/", Expect(302, 302, 302, 302, 302, 404)
    ),
}


ADMIN_WRITE_OK = Expect(302, 302, 302, 302, 302, 302)  # staff's write goes through, back to a list
# The per-model pages sit behind the one gate of the admin site (staff only) that the site's own rows
# above ask of every principal; per model, anonymous, the team admin (the strongest non-staff user)
# and the superuser are asked.
ADMIN_MODEL_ASKERS = (ANON, ADMIN, SU)


def base_of(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def _admin_rows() -> dict[str, Route]:
    """The same six rows for every model of the admin: lists and pages open to staff, every write
    refused. Written out by model rather than by hand so a new model is covered as it is added."""
    rows = {}
    for model in django_admin.site._registry:
        meta = model._meta
        prefix, base = f"admin:{meta.app_label}_{meta.model_name}", base_of(model)

        def obj(w, m=model, suffix=""):
            return f"{base_of(m)}{w.admin_pk[m]}/{suffix}"

        def row(url, get, write=None):
            return Route("global", url, get, write, askers=ADMIN_MODEL_ASKERS)

        rows[f"{prefix}_changelist"] = row(lambda w, b=base: b, ADMIN_SITE)
        rows[f"{prefix}_add"] = row(
            lambda w, b=base: f"{b}add/", ADMIN_REFUSED, w_("post", ADMIN_REFUSED, lambda w: {})
        )
        rows[f"{prefix}_change"] = row(
            lambda w, o=obj: o(w, suffix="change/"), ADMIN_SITE, w_("post", ADMIN_REFUSED, lambda w: {})
        )
        rows[f"{prefix}_history"] = row(lambda w, o=obj: o(w, suffix="history/"), ADMIN_SITE)
        rows[f"{prefix}_delete"] = row(
            lambda w, o=obj: o(w, suffix="delete/"),
            ADMIN_REFUSED,
            w_("post", ADMIN_REFUSED, lambda w: {"post": "yes"}),
        )
        rows[f"{base[1:]}<path:object_id>/"] = row(lambda w, o=obj: o(w), ADMIN_WRITE_OK)
    return rows


MATRIX.update(_admin_rows())

# Django's own user and group admin stays writable for staff: that is where an operator creates
# accounts and resets passwords. Everything of ``cases`` is read-only (cases/admin.py).
for _name in ("group", "user"):
    _prefix = f"admin:auth_{_name}"
    MATRIX[f"{_prefix}_add"] = replace(
        MATRIX[f"{_prefix}_add"], get=ADMIN_SITE, write=w_("post", ADMIN_SITE, lambda w: {})
    )
    MATRIX[f"{_prefix}_change"] = replace(
        MATRIX[f"{_prefix}_change"], write=w_("post", ADMIN_SITE, lambda w: {})
    )
    MATRIX[f"{_prefix}_delete"] = replace(
        MATRIX[f"{_prefix}_delete"],
        get=ADMIN_SITE,
        # A user with a history (memberships, audit events) is protected: "Cannot delete user".
        write=w_("post", ADMIN_SITE, lambda w: {"post": "yes"}),
    )
MATRIX["admin:auth_user_password_change"] = Route(
    "global", lambda w: f"/admin/auth/user/{w.moderator.pk}/password/", ADMIN_SITE, askers=ADMIN_MODEL_ASKERS
)
# django-axes (login lockout) keeps its own admin: no adding, but staff may delete its records.
for _model in [m for m in django_admin.site._registry if m._meta.app_label == "axes"]:
    _prefix = f"admin:axes_{_model._meta.model_name}"
    MATRIX[f"{_prefix}_change"] = replace(
        MATRIX[f"{_prefix}_change"], write=w_("post", ADMIN_WRITE_OK, lambda w: {})
    )
    MATRIX[f"{_prefix}_delete"] = replace(
        MATRIX[f"{_prefix}_delete"],
        get=ADMIN_SITE,
        write=w_("post", ADMIN_WRITE_OK, lambda w: {"post": "yes"}),
    )


# --- the route names of the project, from Django's resolver --------------------------------------


def project_route_names() -> set[str]:
    """Every URL pattern: ``namespace:name``, or its full route when it has no name."""
    names = set()

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                if pattern.name:
                    names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
                else:
                    names.add(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "", None)
    return names


def test_the_matrix_covers_every_route():
    routes = project_route_names()
    assert not routes - set(MATRIX), f"routes missing from MATRIX: {sorted(routes - set(MATRIX))}"
    assert not set(MATRIX) - routes, (
        f"MATRIX names routes that no longer exist: {sorted(set(MATRIX) - routes)}"
    )
    assert any(name.startswith("frontend:") for name in routes) and any(
        name.startswith("api:") for name in routes
    )


# --- the world: two teams, one of everything each, built once for the module --------------------


@dataclass
class World:
    team: object
    moderator: object
    lead: object
    account: object
    spare_account: object
    post: object
    brand: object
    case: object
    evidence: object
    file: object
    page_file: object
    actor: object
    queue: object
    item: object
    assignment: object
    job: object
    suggestion: object
    audit_event: object
    token: object
    technique: object
    saved_filter: object
    admin_pk: dict
    team_ct: int


def _team_world(slug, *, admin=False):
    team = TeamFactory(slug=slug, name=f"{slug.title()} Cell")
    moderator = MembershipFactory(
        team=team, role=Role.MODERATOR, user=UserFactory(username=f"{slug}-mod")
    ).user
    lead = MembershipFactory(team=team, role=Role.LEAD, user=UserFactory(username=f"{slug}-lead")).user
    if admin:
        MembershipFactory(team=team, role=Role.ADMIN, user=UserFactory(username=f"{slug}-admin"))
    base = build_world(team, moderator, lead)
    from tests.factories import AccountFactory, PostFactory

    spare = AccountFactory(team=team, handle=f"{slug}-spare", display_name=f"{slug} spare")
    # Distinctive text in every row a list or a page may show.
    PostFactory(account=base.account, text=f"{slug} secret post")
    token, _ = create_token(user=moderator, name=f"{slug} token")
    # An avatar and a saved page, so the image and preview routes have something to serve.
    avatar = default_storage.save(f"avatars/{slug}.png", ContentFile(png_bytes()))
    Account.objects.filter(pk=base.account.pk).update(avatar=avatar, avatar_phash="0" * 16)
    page_capture = record_evidence(
        case=base.case,
        kind="page_capture",
        captured_by=moderator,
        files=[Upload("page_capture", "page.html", f"<html><body>{slug} page</body></html>".encode())],
    )
    saved = SavedFilter.objects.create(user=lead, team=team, name=f"{slug} filter", query="status=open")
    return World(
        team=team,
        moderator=moderator,
        lead=lead,
        account=base.account,
        spare_account=spare,
        post=base.post,
        brand=base.brand,
        case=base.case,
        evidence=base.evidence,
        file=base.evidence.files.first(),
        page_file=page_capture.files.get(),
        actor=base.actor,
        queue=base.queue,
        item=base.item,
        assignment=base.assignment,
        job=base.job,
        suggestion=base.suggestion,
        audit_event=base.audit_event,
        token=token,
        technique=Technique.objects.order_by("pk").first(),
        saved_filter=saved,
        admin_pk={},
        team_ct=0,
    )


@dataclass
class Principals:
    users: dict  # principal -> user (None for anon)
    sessions: dict  # principal -> session key
    tokens: dict  # principal -> API secret


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker):
    """Both worlds and the principals' credentials, in one transaction rolled back at the end;
    every test runs in its own savepoint inside it (pytest-django's ``db``)."""
    from django.contrib.contenttypes.models import ContentType

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            worlds = {"A": _team_world("kestrel", admin=True), "B": _team_world("osprey")}
            UserFactory(username="newcomer")
            users = {
                MOD: worlds["A"].moderator,
                LEAD: worlds["A"].lead,
                ADMIN: UserFactory._meta.model.objects.get(username="kestrel-admin"),
                OTHER: worlds["B"].moderator,
                SU: UserFactory(username="root-operator", is_staff=True, is_superuser=True),
            }
            sessions, tokens = {}, {}
            for principal, user in users.items():
                client = Client()
                client.force_login(user)
                sessions[principal] = client.cookies[settings.SESSION_COOKIE_NAME].value
                tokens[principal] = create_token(user=user, name="matrix")[1]
            for world in worlds.values():
                world.team_ct = ContentType.objects.get_for_model(world.team).pk
                # The admin is asked about the first row of each model; a model the world has no
                # row of is asked about a missing id (see ``_admin_expected``).
                world.admin_pk = {
                    model: model.objects.order_by("pk").values_list("pk", flat=True).first() or MISSING_ID
                    for model in django_admin.site._registry
                }
            yield worlds, Principals({ANON: None, **users}, sessions, tokens)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- the cells ------------------------------------------------------------------------------------


def _cells(route: Route):
    """(method, principal, target) of one row: GET and its write, every principal, both teams."""
    targets = ("A", "B") if route.kind in ("team", "body") else ("A",)
    methods = [("get", route.get)] + ([(route.write[0], route.write[2])] if route.write else [])
    # Anonymous callers are refused before any lookup: team A's object is enough to show it.
    return [
        (m, expect, p, t)
        for m, expect in methods
        for p in route.askers
        for t in targets
        if not (p == ANON and t == "B")
    ]


MATRIX_SIZE = sum(len(_cells(route)) for route in MATRIX.values())
MARKERS = {"A": "kestrel", "B": "osprey"}
TEAM_OF = {MOD: "A", LEAD: "A", ADMIN: "A", OTHER: "B"}


def _client_for(principals: Principals, principal: str, url: str):
    if url.startswith("/api/") and principal != ANON:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {principals.tokens[principal]}")
        return client
    client = APIClient() if url.startswith("/api/") else Client()
    if principal != ANON:
        client.cookies[settings.SESSION_COOKIE_NAME] = principals.sessions[principal]
    return client


def _send(client, method, url, body):
    if method == "get":
        return client.get(url)
    if method == "multipart":
        return client.post(url, body or {}, format="multipart")
    if isinstance(client, APIClient):
        return getattr(client, method)(url, body, format="json")
    return getattr(client, method)(url, body or {})


def _text(response) -> str | None:
    kind = response.get("Content-Type", "")
    if getattr(response, "streaming", False) or not kind.startswith(("text/", "application/json")):
        return None
    return response.content.decode()


def _missing(url: str, world) -> str:
    """The same URL with its first id (or the team's slug) replaced by one that does not exist."""
    if f"/{world.team.slug}/" in url:
        return url.replace(f"/{world.team.slug}/", f"/{MISSING_SLUG}/", 1)
    return re.sub(r"/\d+/", f"/{MISSING_ID}/", url, count=1)


def _normal(response, url: str) -> str:
    """An answer's body without what differs from one request to the next."""
    text = response.content.decode().replace(url, "<url>")
    text = re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', text)
    return re.sub(r'(nonce|value)="[^"]*"', r'\1=""', text)


def _admin_expected(name: str, url: str, method: str, expected: int) -> int:
    """A model with no row in the world: its object pages answer Django's "does not exist"
    redirect to staff instead of the page; the refusals (403) come first and stay."""
    if name.startswith("admin") and f"/{MISSING_ID}/" in url and expected == 200:
        return 302
    return expected


def _check_cell(worlds, principals, name, route, method, expect, principal, target) -> list[str]:
    """One request; what is wrong with its answer (nothing: an empty list)."""
    world = worlds[target]
    expected = expect.on(principal, target)
    body_of = route.write[1] if method != "get" and route.write else None
    url = route.url(world)
    expected = _admin_expected(name, url, method, expected)
    foreign = principal in TEAM_OF and route.kind in ("team", "body") and TEAM_OF[principal] != target
    where = f"{method.upper()} {url} as {principal} on team {target}'s"
    events = AuditEvent.objects.count()

    response = _send(
        _client_for(principals, principal, url), method, url, body_of(world) if body_of else None
    )

    if response.status_code != expected:
        return [f"{where}: {response.status_code}, expected {expected}: {response.content[:200]!r}"]
    problems = []
    page_302 = expected == 302 and principal == ANON and not name.startswith(("admin", "frontend:log"))
    if page_302 and not response["Location"].startswith("/login/?next="):
        problems.append(f"{where}: sent to {response['Location']}, not to the login page")
    admin_302 = name.startswith("admin") and expected == 302 and principal != SU
    if admin_302 and name != "admin:logout" and not response["Location"].startswith("/admin/login/"):
        problems.append(f"{where}: sent to {response['Location']}, not to the admin login")
    # Refused: nothing written.
    if (
        principal == ANON or foreign or expected in (401, 403, 404, 405)
    ) and AuditEvent.objects.count() != events:
        problems.append(f"{where}: refused, yet an audit event was written")
    # Another team's object is the same 404 as one that does not exist.
    # (Asked of one principal each way: team B's moderator, and team A's moderator.)
    if foreign and principal in (MOD, OTHER) and expected == 404 and route.kind == "team":
        missing_url = _missing(url, world)
        missing = _send(
            _client_for(principals, principal, missing_url),
            method,
            missing_url,
            body_of(world) if body_of else None,
        )
        if missing.status_code != 404 or _normal(missing, missing_url) != _normal(response, url):
            problems.append(f"{where}: its 404 differs from a missing id's ({missing.status_code})")
    # No word of another team reaches a team's user; the superuser sees no team's rows in the app.
    text = _text(response)
    for value in (body_of(world) if body_of else {}).values() if text is not None else ():
        if isinstance(value, str):
            text = text.replace(value, "")
    if text is not None and principal != ANON and not (principal == SU and name.startswith("admin")):
        for team, marker in MARKERS.items():
            if (principal == SU or team != TEAM_OF[principal]) and marker in text.lower():
                problems.append(f"{where}: shows {marker!r}, a word of team {team}")
    # API lists: the caller's own team's rows are there, the other team's are not.
    if route.lists and method == "get" and principal in TEAM_OF:
        ids = {row["id"] for row in response.json()["results"]}
        own, other = TEAM_OF[principal], "B" if TEAM_OF[principal] == "A" else "A"
        if getattr(worlds[own], route.lists).pk not in ids or getattr(worlds[other], route.lists).pk in ids:
            problems.append(f"{where}: lists {sorted(ids)}, not its own team's {route.lists} alone")
    return problems


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_the_matrix(matrix, db, name):
    """Every cell of one row. Each request runs in a savepoint rolled back after it, so every
    cell starts from the same world (a write by one principal never changes the next one's)."""
    worlds, principals = matrix
    route = MATRIX[name]
    problems = []
    for method, expect, principal, target in _cells(route):
        cache.clear()  # throttle counters
        with transaction.atomic():
            problems += _check_cell(worlds, principals, name, route, method, expect, principal, target)
            transaction.set_rollback(True)
    assert not problems, "\n".join(problems)


# --- lists asked to find the other team's rows ------------------------------------------------------

# URLs of team A's lists and pages whose query names team B's ids, slug, handles or words. Asked by
# team A's moderator and lead: a list narrows what the caller may see and never widens it, so each
# answers an error or finds nothing of team B.
PROBES = {
    "accounts by team": lambda a, b: f"/api/accounts/?team={b.team.pk}",
    "accounts by case": lambda a, b: f"/api/accounts/?case={b.case.pk}",
    "accounts by handle": lambda a, b: f"/api/accounts/?handle={b.account.handle}",
    "accounts by search": lambda a, b: "/api/accounts/?search=osprey",
    "posts by account": lambda a, b: f"/api/posts/?account={b.account.pk}",
    "posts by search": lambda a, b: "/api/posts/?search=osprey",
    "brands by team": lambda a, b: f"/api/media-brands/?team={b.team.pk}",
    "cases by team": lambda a, b: f"/api/cases/?team={b.team.pk}",
    "cases by lead": lambda a, b: f"/api/cases/?lead={b.lead.pk}",
    "cases by search": lambda a, b: "/api/cases/?search=osprey",
    "evidence by case": lambda a, b: f"/api/evidence/?case={b.case.pk}",
    "evidence by author": lambda a, b: f"/api/evidence/?captured_by={b.moderator.pk}",
    "actors by team": lambda a, b: f"/api/actors/?team={b.team.pk}",
    "queues by case": lambda a, b: f"/api/queues/?case={b.case.pk}",
    "jobs by team": lambda a, b: f"/api/jobs/?team={b.team.pk}",
    "suggestions by team": lambda a, b: f"/api/suggestions/?team={b.team.pk}",
    "assignments by queue": lambda a, b: f"/api/assignments/?queue={b.queue.pk}",
    "audit trail by team": lambda a, b: f"/api/audit-events/?team={b.team.pk}",
    "members by search": lambda a, b: f"/api/teams/{a.team.pk}/members/?search=osprey",
    "case accounts by search": lambda a, b: f"/api/cases/{a.case.pk}/accounts/?search=osprey",
    "home of team B": lambda a, b: f"/?team={b.team.slug}",
    "work of team B": lambda a, b: f"/work/?team={b.team.slug}",
    "case queue by B's lead": lambda a, b: f"/leads/{a.team.slug}/cases/?lead={b.lead.pk}",
    "evidence form for B's account": lambda a, b: (
        f"/cases/{a.case.pk}/evidence/new/?account={b.account.handle}"
    ),
    "review with B's posts page": lambda a, b: f"/work/accounts/{a.account.pk}/posts/?page=2",
}


@pytest.mark.postgres
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_a_list_never_finds_another_teams_rows(matrix, db, probe):
    worlds, principals = matrix
    url = PROBES[probe](worlds["A"], worlds["B"])
    for principal in (MOD, LEAD):
        response = _client_for(principals, principal, url).get(url)
        assert response.status_code in (200, 400, 403, 404), (principal, response.status_code)
        # What the caller typed may come back (a form or a filter echoes it); nothing else of team B.
        text = response.content.decode().lower()
        for values in parse_qs(urlsplit(url).query).values():
            for value in values:
                text = text.replace(value.lower(), "")
        assert "osprey" not in text, (principal, url)
        if response.status_code == 200 and url.startswith("/api/"):
            assert response.json()["results"] == [], (principal, url)


# --- forms of team A's pages that name team B's objects -----------------------------------------------

# Team A's lead posts to team A's own pages, naming team B's objects in the body: each is refused
# (a 404, or the form again with its error) and writes nothing. (The API's are in tests/api/test_access.py.)
FOREIGN_FORM_BODIES = {
    "vote for B's actor": (lambda a: f"/cases/{a.case.pk}/vote/", lambda a, b: _vote(b)),
    "decide for B's actor": (lambda a: f"/cases/{a.case.pk}/decision/decide/", lambda a, b: _vote(b)),
    "B's moderator as a reviewer": (
        lambda a: f"/leads/queues/{a.queue.pk}/reviewers/",
        lambda a, b: {"reviewer": b.moderator.pk},
    ),
    "remove B's moderator as a reviewer": (
        lambda a: f"/leads/queues/{a.queue.pk}/reviewers/{{b}}/remove/",
        None,
    ),
    "priority of B's item": (
        lambda a: f"/leads/queues/{a.queue.pk}/priority/",
        lambda a, b: {"item": b.item.pk, "priority": 1},
    ),
    "release B's lease from A's queue": (
        lambda a: f"/leads/queues/{a.queue.pk}/leases/{{b_assignment}}/release/",
        None,
    ),
    "bulk priority on B's case": (
        lambda a: f"/leads/{a.team.slug}/cases/bulk/",
        lambda a, b: {"case": [a.case.pk, b.case.pk], "action": "set_priority", "priority": 1},
    ),
    "bulk lead B's lead": (
        lambda a: f"/leads/{a.team.slug}/cases/bulk/",
        lambda a, b: {"case": [a.case.pk], "action": "assign_lead", "lead": b.lead.pk},
    ),
    "outcome of B's account": (
        lambda a: f"/cases/{a.case.pk}/outcomes/set/",
        lambda a, b: {"account": [b.account.pk], "outcome": "suspended"},
    ),
    "adjudicate B's account": (lambda a: f"/cases/{a.case.pk}/accounts/{{b_account}}/adjudicate/", None),
    "accept A's suggestion onto B's case": (
        lambda a: f"/work/suggestions/{a.suggestion.pk}/accept/",
        lambda a, b: {"case": b.case.pk, "account": a.suggestion.account_a_id},
    ),
    "evidence on B's account": (
        lambda a: f"/cases/{a.case.pk}/evidence/new/",
        lambda a, b: {"kind": "note", "captured_text": "x", "account": b.account.handle},
    ),
    "evidence with B's brand": (
        lambda a: f"/cases/{a.case.pk}/evidence/new/",
        lambda a, b: {"kind": "media_brand", "brand": b.brand.pk, "url": "https://bild.example/a"},
    ),
    "case from B's network": (
        lambda a: f"/teams/{a.team.slug}/networks/create-case/",
        lambda a, b: {"account": b.account.pk},
    ),
    "sweep around B's case": (
        lambda a: f"/teams/{a.team.slug}/networks/sweep/",
        lambda a, b: {"case": b.case.pk},
    ),
    "capture into B's case": (
        lambda a: "/capture/",
        lambda a, b: {"case": b.case.pk, "action": "page", "url": "https://example.com/p"},
    ),
}


@pytest.mark.postgres
@pytest.mark.parametrize("scenario", sorted(FOREIGN_FORM_BODIES))
def test_a_form_naming_another_teams_object_changes_nothing(matrix, db, scenario):
    worlds, principals = matrix
    a, b = worlds["A"], worlds["B"]
    url_of, body_of = FOREIGN_FORM_BODIES[scenario]
    url = url_of(a).format(b=b.moderator.pk, b_assignment=b.assignment.pk, b_account=b.account.pk)
    body = body_of(a, b) if body_of else {}
    events = AuditEvent.objects.count()
    response = _client_for(principals, LEAD, url).post(url, body)
    assert response.status_code in (200, 302, 404), response.status_code
    assert AuditEvent.objects.count() == events, f"{scenario}: written"
    text = response.content.decode().lower()
    for value in body.values():
        text = text.replace(str(value).lower(), "")
    assert "osprey" not in text, scenario
