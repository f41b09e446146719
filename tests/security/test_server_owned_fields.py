"""Server-owned fields: a client names what it asserts, never who did it, when, with which hash,
in which state, or another team's objects.

Three layers of proof:

1. Inventory. Every writable DRF serializer (``cases/api/serializers.py``, ``review.py``,
   ``captures.py``, ``similarity.py``), every Django form of ``frontend/`` and every raw
   ``request.POST`` key a frontend view reads is found by introspection and compared with the
   allow-lists below. A new writable field fails ``test_*_match_the_allow_list`` until someone
   adds it here, deliberately; a writable field whose name says "server-owned" (``*_by``,
   ``*_at``, hashes, ``status``, ``state``, ``team``, ``role``, …) must also carry a written
   reason in ``JUSTIFIED``. Ids in bodies must go through a team-scoped field.
2. End to end through the API: every write route gets a body stuffed with server-owned fields
   (and another team's ids where the route does not take them); the stored row keeps the
   server's values. PUT/PATCH/DELETE of resources are 405.
3. End to end through the UI forms (session, CSRF-exempt test client): the same, plus another
   team's ids in the fields that do take ids are refused and attach nothing.

Related tests elsewhere (not repeated here): tests/api/test_access.py (another team's ids at the
top level of every create and review body: "does not exist"), tests/api/test_resources.py and
tests/api/test_review_endpoints.py (per-endpoint server-owned checks), tests/capture/ (capture
hashes compared with the browser's).
"""

import ast
import datetime
import hashlib
import importlib
import inspect
import pathlib
import pkgutil
import re

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers as drf

import frontend
from cases.api.fields import (
    TeammatePrimaryKeyRelatedField,
    TeamScopedPrimaryKeyRelatedField,
    TechniqueCodeField,
)
from cases.models import (
    Account,
    AccountOutcome,
    Actor,
    ApiToken,
    Assignment,
    AssignmentState,
    AttributionDecision,
    AttributionVote,
    Case,
    CaseAccount,
    CaseStatus,
    Evidence,
    EvidenceKind,
    Job,
    JobStatus,
    Label,
    MediaBrand,
    Membership,
    Post,
    Queue,
    QueueItem,
    QueueReviewer,
    Role,
    SimilaritySuggestion,
    SuggestionStatus,
    Team,
    Technique,
)
from cases.services.votes import cast_vote
from tests.api.conftest import build_world, error_of, png_bytes, token_client
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.support import signed_in

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERIALIZER_MODULES = [
    "cases.api.serializers",
    "cases.api.review",
    "cases.api.captures",
    "cases.api.similarity",
]

# --- 1. inventory ---------------------------------------------------------------------------------

# Names that say "the server decides this". A writable field matching one needs a JUSTIFIED entry.
SERVER_OWNED_NAME = re.compile(
    r"^(id|pk|team|role|status|state|user|author|voter|annotator|kind_of_job|source|handle_normalized"
    r"|capture_method|retracts|retracted_by|suggestion|job|token_hash|prefix|progress|attempts|result"
    r"|score|dismissed_score|is_done|is_active|label_count|.*_count|.*_by|.*_at|.*sha256|.*phash"
    r"|copy_similarity)$"
)

# Every serializer a view parses a request with, and exactly the fields it takes ("a.b" is field
# b of the nested objects of list a; "a[]" the items of list a).
INPUT_FIELDS = {
    "MembershipInput": {"username", "role"},
    "AccountInput": {
        "team",
        "platform",
        "handle",
        "external_id",
        "display_name",
        "bio",
        "profile_url",
        "created_on_platform",
        "followers",
        "following",
        "language",
        "kind",
    },
    "PostInput": {
        "account",
        "text",
        "external_id",
        "url",
        "posted_at",
        "is_repost",
        "links",
        "links[]",
        "copied_from",
        "copy_similarity",
    },
    "MediaBrandInput": {
        "team",
        "name",
        "impersonates",
        "description",
        "domains",
        "domains[]",
        "accounts",
        "accounts.account",
        "accounts.role",
    },
    "CaseInput": {"team", "title", "summary", "priority", "lead"},
    "CaseAccountInput": {"account", "reason"},
    "ExportQuery": {"format"},
    "EvidenceInput": {
        "case",
        "kind",
        "account",
        "post",
        "brand",
        "title",
        "url",
        "captured_text",
        "source_url",
        "source_author",
        "source_text",
        "persona",
        "user_agent",
        "techniques",
        "file",
        "file_role",
    },
    "RetractInput": {"reason"},
    "ActorInput": {"team", "name", "aliases", "aliases[]", "country", "kind", "description"},
    "QueueInput": {"case", "name", "labels_per_item", "lease_minutes"},
    "SkipInput": {"reason"},
    "LabelInput": {"verdict", "techniques", "techniques[]", "note", "seconds_spent"},
    "CompleteInput": {"verdict", "techniques", "techniques[]", "note", "seconds_spent"},
    "VoteInput": {"actor", "confidence", "rationale", "cited_evidence", "cited_evidence[]"},
    "DecisionInput": {"actor", "confidence", "rationale"},
    "ReasonInput": {"reason"},
    "LeadInput": {"lead"},
    "CasePriorityInput": {"priority"},
    "ItemPriorityInput": {"priority"},
    "AcceptSuggestionInput": {"case"},
    "DismissSuggestionInput": {"reason"},
    "BundleImportInput": {"team", "file"},
    "IndicatorImportInput": {"team", "files", "files[]"},
    "ApiTokenInput": {"name", "expires_at"},
    "CaptureInput": {
        "case",
        "action",
        "url",
        "title",
        "selection",
        "source_url",
        "source_text",
        "source_author",
        "captured_at",
        "user_agent",
        "persona",
        "method",
        "platform",
        "handle",
        "screenshot",
        "screenshot_sha256",
        "page",
        "page_sha256",
    },
    "SimilarQuery": {"limit"},
    "SweepInput": {"team", "platform", "case", "threshold"},
}
# Serializers with writable-looking fields that only ever render a response (or document one).
RESPONSE_ONLY = {
    "ErrorDetailSerializer",
    "ErrorSerializer",
    "CaseExportSerializer",
    "_ExportUser",
    "_ExportLabel",
    "_ExportAccount",
    "_ExportFile",
    "_ExportEvidence",
    "_ExportActor",
    "_ExportVote",
    "_ExportDecision",
    "_ExportTeam",
    "_ExportCase",
    "CaptureResultSerializer",
    "_CaptureFile",
    "_CaptureEvidence",
    "_CaptureAccount",
    "_CaptureCase",
    "SignedManifestSerializer",
    "_ManifestSignature",
}
_CHOSEN_TEAM = "which of the caller's own teams to write into: TeamScopedPrimaryKeyRelatedField(team_path='')"
# (serializer or form, field) -> why a server-owned-looking name is the client's to send.
JUSTIFIED = {
    ("AccountInput", "team"): _CHOSEN_TEAM,
    ("MediaBrandInput", "team"): _CHOSEN_TEAM,
    ("CaseInput", "team"): _CHOSEN_TEAM,
    ("ActorInput", "team"): _CHOSEN_TEAM,
    ("BundleImportInput", "team"): _CHOSEN_TEAM,
    ("IndicatorImportInput", "team"): _CHOSEN_TEAM,
    ("SweepInput", "team"): _CHOSEN_TEAM,
    ("ImportForm", "team"): "a choice among the slugs of the user's own teams",
    ("MembershipInput", "role"): "the subject of a team admin's action; the view requires Role.ADMIN "
    "before it reads the body, and add_member checks it again",
    (
        "MediaBrandInput",
        "accounts.role",
    ): "BrandRole (runs / amplifies): a fact about the brand, not a permission",
    ("PostInput", "posted_at"): "when the platform says the post was published: observed data",
    ("PostInput", "copy_similarity"): "the caller's measure of a post it records (imports carry it too); "
    "evidence computes its own",
    (
        "CaptureInput",
        "captured_at",
    ): "the browser's clock at capture (docs/extension.md); refused if more than "
    "10 minutes ahead; the server's own time is kept beside it (created_at, 'stored_at' in the signed "
    "manifest)",
    ("CaptureInput", "screenshot_sha256"): "compared with the hash the server computes (400 hash_mismatch); "
    "only the server's hash is stored",
    ("CaptureInput", "page_sha256"): "compared with the hash the server computes (400 hash_mismatch); "
    "only the server's hash is stored",
    ("ApiTokenInput", "expires_at"): "the owner chooses when their own token stops working",
}
# Ids a client may name, and how each is fenced to the caller's teams.
ID_FIELD_TYPES = (TeamScopedPrimaryKeyRelatedField, TeammatePrimaryKeyRelatedField, TechniqueCodeField)
# CaptureInput.case is a plain integer: the view fetches it with get_case_for_user, so another
# team's case is a 404 (tests/capture/test_capture_api.py), never attached.
PLAIN_INTEGER_IDS = {("CaptureInput", "case")}


def _serializer_classes() -> dict[str, type]:
    found = {}
    for name in SERIALIZER_MODULES:
        module = importlib.import_module(name)
        for attr, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, drf.BaseSerializer)
                and cls.__module__ == name
                and not getattr(getattr(cls, "Meta", None), "abstract", False)
                and attr != "OutputSerializer"
            ):
                found[attr] = cls
    return found


def _writable(fields, prefix="") -> dict[str, drf.Field]:
    out = {}
    for name, field in fields.items():
        if field.read_only:
            continue
        out[prefix + name] = field
        if isinstance(field, drf.ListSerializer):
            out.update(_writable(field.child.fields, f"{prefix}{name}."))
        elif isinstance(field, drf.Serializer):
            out.update(_writable(field.fields, f"{prefix}{name}."))
        elif isinstance(field, drf.ListField):
            out[f"{prefix}{name}[]"] = field.child
    return out


def _inputs_used_by_views() -> set[str]:
    """Serializer names the API views parse a request with: ``self.validated(X …)`` or ``X(data=…)``."""
    used = set()
    for path in (ROOT / "cases" / "api").glob("*.py"):
        source = path.read_text()
        used |= set(re.findall(r"validated\(\s*(?:serializers\.)?(\w+)", source))
        used |= set(re.findall(r"(\w+)\(\s*data=", source))
    return used - {"serializer_class", "self"}


def test_every_serializer_is_an_allow_listed_input_or_renders_only():
    classes = _serializer_classes()
    writable = {name for name, cls in classes.items() if _writable(cls().fields)}
    nested = {"BrandAccountInput"}  # MediaBrandInput.accounts: listed there as "accounts.*"
    assert writable - nested == set(INPUT_FIELDS) | RESPONSE_ONLY, (
        "A serializer with writable fields appeared or went: add it to INPUT_FIELDS (with the fields a "
        "client may set) or RESPONSE_ONLY"
    )
    # Every class whose name says "output" has only read-only fields.
    for name, cls in classes.items():
        if name not in writable:
            assert all(f.read_only for f in cls().fields.values()), name


def test_response_only_serializers_never_parse_a_request():
    used = _inputs_used_by_views()
    assert used <= set(INPUT_FIELDS) and not used & RESPONSE_ONLY


@pytest.mark.parametrize("name", sorted(INPUT_FIELDS))
def test_input_serializer_fields_match_the_allow_list(name):
    cls = _serializer_classes()[name]
    assert set(_writable(cls().fields)) == INPUT_FIELDS[name], (
        f"{name} takes a field that is not allow-listed (or lost one): decide whether a client may "
        "set it, then update INPUT_FIELDS"
    )


@pytest.mark.parametrize("name", sorted(INPUT_FIELDS))
def test_input_serializers_take_no_server_owned_field_without_a_reason(name):
    for field in _writable(_serializer_classes()[name]().fields):
        leaf = field.split(".")[-1].removesuffix("[]")
        if SERVER_OWNED_NAME.match(leaf):
            assert (name, field) in JUSTIFIED, f"{name}.{field} looks server-owned"


@pytest.mark.parametrize("name", sorted(INPUT_FIELDS))
def test_ids_in_input_serializers_are_fenced_to_the_callers_teams(name):
    for field_name, field in _writable(_serializer_classes()[name]().fields).items():
        target = field.child_relation if isinstance(field, drf.ManyRelatedField) else field
        if isinstance(target, drf.RelatedField):
            assert isinstance(target, ID_FIELD_TYPES), f"{name}.{field_name} is an unfenced relation"
            if isinstance(target, TeamScopedPrimaryKeyRelatedField) and target.team_path == "":
                assert field_name == "team", f"{name}.{field_name} picks among teams"
        elif field_name in ("case", "account", "post", "brand", "actor", "lead", "team", "user"):
            assert (name, field_name) in PLAIN_INTEGER_IDS, f"{name}.{field_name} names an object unfenced"


@pytest.mark.parametrize("name", sorted(INPUT_FIELDS))
def test_input_serializers_never_write(name):
    """Views hand validated data to a service; a serializer with create()/update() would be a
    second writer that skips the service's checks and audit event."""
    cls = _serializer_classes()[name]
    assert cls.create is drf.Serializer.create and cls.update is drf.Serializer.update


# Frontend forms: form -> fields. ImportForm.team and CaptureForm.case are choices built from
# the user's own teams and cases; EvidenceForm.brand is scoped to the case's team in __init__.
FORM_FIELDS = {
    "LabelForm": {"verdict", "techniques", "note"},
    "SkipForm": {"reason"},
    "RetractForm": {"reason"},
    "EvidenceForm": {
        "kind",
        "account",
        "title",
        "url",
        "captured_text",
        "source_url",
        "source_author",
        "source_text",
        "brand",
        "brand_name",
        "impersonates",
        "domains",
        "screenshot_file",
        "capture_file",
        "logo_file",
        "techniques",
    },
    "VoteForm": {"actor", "new_actor_name", "new_actor_country", "confidence", "rationale", "cited_evidence"},
    "CaptureForm": {
        "case",
        "action",
        "url",
        "title",
        "selection",
        "source_url",
        "source_author",
        "persona",
        "screenshot",
        "page",
    },
    "ImportForm": {"team", "kind", "files"},
    # The login page shown during a sign-in lockout: Django's AuthenticationForm.
    "_LockedOutForm": {"username", "password"},
}
# Raw request.POST keys read by frontend views (module -> keys), outside the forms above.
RAW_POST_KEYS = {
    "lead_queue.py": {
        "action",
        "case",
        "item",
        "labels_per_item",
        "lead",
        "lease_minutes",
        "name",
        "period",
        "priority",
        "query",
        "queue_name",
        "reason",
        "reviewer",
    },
    "lead_review.py": {
        "account",
        "actor",
        "confidence",
        "outcome",
        "page",
        "policy_basis",
        "rationale",
        "reason",
        "verdict",
    },
    "networks.py": {"account", "case", "title"},
    "views.py": {"lifetime", "name"},
    "lockout.py": {"next"},  # put back into the login page's form, never stored
    "workspace.py": {"account", "account_fixed", "action", "case", "next"},
}
# Functions that only look at the whole POST (a guard), never keep any of it.
POST_INSPECTORS = {"_has_nul"}
# Raw keys that are ids, and where each is checked against the user's teams.
RAW_ID_KEYS = {
    ("lead_queue.py", "case"): "get_cases_for_bulk(team=…): a case not of this team is a 404",
    ("lead_queue.py", "lead"): "User filtered by memberships__team=team",
    ("lead_queue.py", "item"): "QueueItem filtered by queue=queue",
    ("lead_queue.py", "reviewer"): "add_queue_reviewer refuses a non-member of the queue's team",
    ("lead_review.py", "actor"): "Actor filtered by team=case.team",
    ("lead_review.py", "account"): "CaseAccount filtered by case=case",
    ("networks.py", "account"): "get_network_containing(team=…)",
    ("networks.py", "case"): "get_case_for_user, and case.team must be the page's team",
    ("workspace.py", "case"): "get_case_for_user (404)",
    ("workspace.py", "account"): "get_account_for_user (404) / get_case_account_by_handle(case=…)",
}


def _frontend_modules():
    for info in pkgutil.iter_modules(frontend.__path__):
        yield importlib.import_module(f"frontend.{info.name}")


def _form_classes() -> dict[str, type]:
    found = {}
    for module in _frontend_modules():
        for attr, cls in vars(module).items():
            if inspect.isclass(cls) and issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found[attr] = cls
    return found


def test_every_frontend_form_is_allow_listed():
    assert set(_form_classes()) == set(FORM_FIELDS)


@pytest.mark.parametrize("name", sorted(FORM_FIELDS))
def test_form_fields_match_the_allow_list(name):
    cls = _form_classes()[name]
    fields = set(cls.base_fields)
    assert fields == FORM_FIELDS[name]
    for field in fields:
        if SERVER_OWNED_NAME.match(field):
            assert (name, field) in JUSTIFIED, f"{name}.{field} looks server-owned"
    for field_name, field in cls.base_fields.items():
        if isinstance(field, forms.ModelChoiceField) and field.queryset.model is not Technique:
            # Only the brand picker, empty until __init__ scopes it to the case's team: a class-level
            # queryset would offer every team's rows (test_the_evidence_form_refuses_another_teams_brand).
            assert (name, field_name) == ("EvidenceForm", "brand") and field.queryset.query.is_empty()


def _post_reads(tree: ast.AST) -> tuple[set[str], list[int]]:
    """Constant keys read from ``request.POST``, and lines where it is used any other way."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    keys, other = set(), []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "POST"):
            continue
        parent = parents[node]
        if isinstance(parent, ast.Attribute) and parent.attr in ("get", "getlist"):
            call = parents[parent]
            if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant):
                keys.add(call.args[0].value)
                continue
        if isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Constant):
            keys.add(parent.slice.value)
            continue
        if isinstance(parent, ast.Compare) and isinstance(parent.left, ast.Constant):
            keys.add(parent.left.value)
            continue
        # Handed whole to one of the forms above, or back to a template to refill the inputs.
        holder = parent
        while isinstance(holder, (ast.BoolOp, ast.IfExp)):
            holder = parents[holder]
        if isinstance(holder, ast.Call) and getattr(holder.func, "id", "") in {
            *FORM_FIELDS,
            *POST_INSPECTORS,
        }:
            continue
        if isinstance(holder, ast.Dict):
            continue
        other.append(node.lineno)
    return keys, other


@pytest.mark.parametrize("path", sorted(p.name for p in (ROOT / "frontend").glob("*.py")))
def test_raw_post_keys_of_frontend_views_match_the_allow_list(path):
    keys, other = _post_reads(ast.parse((ROOT / "frontend" / path).read_text()))
    assert not other, f"frontend/{path} uses request.POST in a way this test cannot check, lines {other}"
    assert keys == RAW_POST_KEYS.get(path, set())
    for key in keys:
        assert not SERVER_OWNED_NAME.match(key), f"frontend/{path} reads {key!r} from the browser"
        if key in ("case", "account", "actor", "lead", "item", "reviewer", "user", "team"):
            assert (path, key) in RAW_ID_KEYS, f"frontend/{path} reads the id {key!r} unchecked"


# --- 2. end to end through the API --------------------------------------------------------------

LONG_AGO = "2001-01-01T00:00:00Z"
FAR_AHEAD = "2099-01-01T00:00:00Z"
ZEROS = "0" * 64


@pytest.fixture
def world_a(team_a, moderator, lead):
    return build_world(team_a, moderator, lead)


@pytest.fixture
def world_b(team_b, outsider):
    lead_b = MembershipFactory(team=team_b, role=Role.LEAD, user=UserFactory(username="lead-b")).user
    return build_world(team_b, outsider, lead_b)


@pytest.fixture
def t0():
    return timezone.now() - datetime.timedelta(seconds=1)


def smuggled(b) -> dict:
    """Everything a client might try to set that the server owns, naming team B's objects and
    people. A route's own body is merged over this, so only what it does not take is smuggled."""
    return {
        "id": 987654,
        "pk": 987654,
        "team": b.team.pk,
        "case": b.case.pk,
        "account": b.account.pk,
        "user": b.lead.pk,
        "author": b.lead.pk,
        "voter": b.lead.pk,
        "annotator": b.lead.pk,
        "captured_by": b.lead.pk,
        "created_by": b.lead.pk,
        "added_by": b.lead.pk,
        "decided_by": b.lead.pk,
        "reviewed_by": b.lead.pk,
        "role": "admin",
        "sha256": ZEROS,
        "content_sha256": ZEROS,
        "phash": "f" * 16,
        "avatar_phash": "f" * 16,
        "logo_phash": "f" * 16,
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
        "captured_at": LONG_AGO,
        "decided_at": LONG_AGO,
        "claimed_at": LONG_AGO,
        "expires_at": FAR_AHEAD,
        "completed_at": LONG_AGO,
        "reviewed_at": LONG_AGO,
        "withdrawn_at": LONG_AGO,
        "counts_updated_at": LONG_AGO,
        "status": "decided",
        "state": "completed",
        "capture_method": "extension",
        "source": "import",
        "handle_normalized": "someone-else",
        "is_done": True,
        "is_active": False,
        "label_count": 99,
        "account_count": 99,
        "evidence_count": 99,
        "progress": 99,
        "total": 99,
        "attempts": 9,
        "result": {"forged": True},
        "score": 0.01,
        "dismissed_score": 0.01,
        "retracts": b.evidence.pk,
        "suggestion": b.suggestion.pk,
        "job": b.job.pk,
        "prefix": "forged",
        "token_hash": ZEROS,
        "revoked_at": LONG_AGO,
        "last_used_at": LONG_AGO,
    }


def _recent(value, t0) -> bool:
    return value is not None and value >= t0


def _member(team, role=Role.MODERATOR):
    return MembershipFactory(team=team, role=role, user=UserFactory()).user


def _in_review_with_votes(a):
    for _ in range(3):
        cast_vote(case=a.case, voter=_member(a.team), actor=a.actor, confidence="high", rationale="r")


# name -> (who, method, url(a), body(a), setup(a) or None, check(a, response, t0))
def _check_account(a, r, t0):
    row = Account.objects.get(pk=r.json()["id"])
    assert (row.team, row.source, row.avatar_phash, row.handle_normalized) == (a.team, "api", "", "smuggled1")
    assert _recent(row.created_at, t0) and _recent(row.updated_at, t0) and row.pk != 987654


def _check_post(a, r, t0):
    row = Post.objects.get(pk=r.json()["id"])
    assert row.account == a.account and _recent(row.created_at, t0) and row.pk != 987654


def _check_brand(a, r, t0):
    row = MediaBrand.objects.get(pk=r.json()["id"])
    assert (row.team, row.logo_phash) == (a.team, "") and _recent(row.created_at, t0)


def _check_case(a, r, t0):
    row = Case.objects.get(pk=r.json()["id"])
    assert (row.team, row.status, row.created_by.username) == (a.team, CaseStatus.OPEN, "mod-a")
    assert (row.account_count, row.evidence_count, row.counts_updated_at) == (0, 0, None)
    assert _recent(row.created_at, t0)


def _check_case_account(a, r, t0):
    row = CaseAccount.objects.get(pk=r.json()["id"])
    assert (row.case, row.added_by.username, row.suggestion) == (a.case, "mod-a", None)
    assert _recent(row.added_at, t0)


def _check_evidence(a, r, t0):
    row = Evidence.objects.get(pk=r.json()["id"])
    assert (row.case, row.captured_by.username, row.capture_method, row.retracts) == (
        a.case,
        "mod-a",
        "api",
        None,
    )
    assert row.kind == EvidenceKind.NOTE and row.copy_similarity is None
    assert _recent(row.captured_at, t0) and _recent(row.created_at, t0)
    assert len(row.content_sha256) == 64 and row.content_sha256 != ZEROS


def _check_retraction(a, r, t0):
    row = Evidence.objects.get(pk=r.json()["id"])
    assert (row.kind, row.retracts, row.captured_by.username) == (
        EvidenceKind.RETRACTION,
        a.evidence,
        "mod-a",
    )
    assert row.case == a.case and _recent(row.captured_at, t0) and row.content_sha256 != ZEROS


def _check_actor(a, r, t0):
    row = Actor.objects.get(pk=r.json()["id"])
    assert (row.team, row.created_by.username) == (a.team, "mod-a") and _recent(row.created_at, t0)


def _check_queue(a, r, t0):
    row = Queue.objects.get(pk=r.json()["id"])
    assert (row.team, row.case, row.created_by.username, row.is_active) == (a.team, a.case, "lead-a", True)
    assert _recent(row.created_at, t0)


def _check_label(a, r, t0):
    row = Label.objects.get(case=a.case, account=a.account)
    assert row.annotator.username == "mod-a" and row.verdict == "inauthentic" and _recent(row.created_at, t0)


def _check_vote(a, r, t0):
    row = AttributionVote.objects.get(pk=r.json()["id"])
    assert (row.case, row.voter.username, row.actor) == (a.case, "mod-a", a.actor) and _recent(
        row.created_at, t0
    )


def _case_is(status, **fields):
    def check(a, r, t0):
        a.case.refresh_from_db()
        assert a.case.status == status and a.case.team_id == a.team.pk
        assert a.case.created_by_id != 987654
        for name, value in fields.items():
            assert getattr(a.case, name) == value

    return check


def _check_decision(a, r, t0):
    row = AttributionDecision.objects.get(pk=r.json()["id"])
    assert (row.case, row.decided_by.username, row.withdrawn_at) == (a.case, "lead-a", None)
    assert _recent(row.decided_at, t0)
    a.case.refresh_from_db()
    assert a.case.status == CaseStatus.DECIDED


def _check_suggestion(status):
    def check(a, r, t0):
        a.suggestion.refresh_from_db()
        s = a.suggestion
        assert (s.status, s.reviewed_by.username, s.score, s.team) == (status, "mod-a", 0.9, a.team)
        assert _recent(s.reviewed_at, t0)
        assert s.dismissed_score == (0.9 if status == SuggestionStatus.DISMISSED else None)

    return check


def _check_claim(a, r, t0):
    row = Assignment.objects.get(pk=r.json()["id"])
    assert (row.user.username, row.state) == ("lead-a", AssignmentState.ACTIVE)
    assert _recent(row.claimed_at, t0) and row.expires_at < timezone.now() + datetime.timedelta(hours=1)
    assert row.completed_at is None


def _assignment_is(state):
    def check(a, r, t0):
        a.assignment.refresh_from_db()
        row = a.assignment
        assert (row.user.username, row.state) == ("mod-a", state)
        assert row.expires_at < timezone.now() + datetime.timedelta(hours=1)
        if state == AssignmentState.COMPLETED:
            assert _recent(row.completed_at, t0)

    return check


def _check_item(a, r, t0):
    row = QueueItem.objects.get(pk=a.item.pk)
    assert (row.priority, row.is_done, row.label_count, row.queue) == (5, False, 0, a.queue)


def _check_queue_paused(a, r, t0):
    a.queue.refresh_from_db()
    assert a.queue.is_active is False and a.queue.team == a.team


def _check_member(a, r, t0):
    newbie = UserFactory(username="newbie")
    row = Membership.objects.get(user=newbie)  # one membership: in team A, none in team B
    assert (row.team, row.role) == (a.team, Role.MODERATOR) and _recent(row.created_at, t0)


def _check_job(kind):
    def check(a, r, t0):
        row = Job.objects.get(pk=r.json()["id"])
        assert (row.team, row.kind, row.created_by.username) == (a.team, kind, "mod-a")
        assert (row.status, row.progress, row.attempts, row.result) == (JobStatus.QUEUED, 0, 0, {})
        assert _recent(row.created_at, t0) and row.finished_at is None

    return check


def _check_token(a, r, t0):
    row = ApiToken.objects.get(pk=r.json()["id"])
    assert row.user.username == "mod-a" and row.revoked_at is None and row.last_used_at is None
    assert row.prefix != "forged" and row.token_hash != ZEROS and _recent(row.created_at, t0)


API_WRITES = {
    "account-create": (
        "mod",
        "post",
        lambda a: "/api/accounts/",
        lambda a: {"team": a.team.pk, "platform": "x", "handle": "smuggled1"},
        None,
        _check_account,
    ),
    "post-create": (
        "mod",
        "post",
        lambda a: "/api/posts/",
        lambda a: {"account": a.account.pk, "text": "t"},
        None,
        _check_post,
    ),
    "brand-create": (
        "mod",
        "post",
        lambda a: "/api/media-brands/",
        lambda a: {"team": a.team.pk, "name": "Smuggled brand"},
        None,
        _check_brand,
    ),
    "case-create": (
        "mod",
        "post",
        lambda a: "/api/cases/",
        lambda a: {"team": a.team.pk, "title": "Smuggled"},
        None,
        _check_case,
    ),
    "case-account-add": (
        "mod",
        "post",
        lambda a: f"/api/cases/{a.case.pk}/accounts/",
        lambda a: {"account": AccountFactory(team=a.team).pk},
        None,
        _check_case_account,
    ),
    "evidence-create": (
        "mod",
        "post",
        lambda a: "/api/evidence/",
        lambda a: {"case": a.case.pk, "kind": "note", "captured_text": "n", "account": None},
        None,
        _check_evidence,
    ),
    "evidence-retract": (
        "mod",
        "post",
        lambda a: f"/api/evidence/{a.evidence.pk}/retract/",
        lambda a: {"reason": "r", "kind": "note"},
        None,
        _check_retraction,
    ),
    "actor-create": (
        "mod",
        "post",
        lambda a: "/api/actors/",
        lambda a: {"team": a.team.pk, "name": "Smuggled actor"},
        None,
        _check_actor,
    ),
    "queue-create": (
        "lead",
        "post",
        lambda a: "/api/queues/",
        lambda a: {"case": a.case.pk, "name": "Smuggled queue"},
        None,
        _check_queue,
    ),
    "label-put": (
        "mod",
        "put",
        lambda a: f"/api/cases/{a.case.pk}/labels/{a.account.pk}/",
        lambda a: {"verdict": "inauthentic"},
        None,
        _check_label,
    ),
    "vote-put": (
        "mod",
        "put",
        lambda a: f"/api/cases/{a.case.pk}/vote/",
        lambda a: {"actor": a.actor.pk, "confidence": "high", "rationale": "r"},
        None,
        _check_vote,
    ),
    "case-priority": (
        "mod",
        "post",
        lambda a: f"/api/cases/{a.case.pk}/priority/",
        lambda a: {"priority": 4},
        None,
        _case_is(CaseStatus.OPEN, priority=4),
    ),
    "case-lead": (
        "lead",
        "post",
        lambda a: f"/api/cases/{a.case.pk}/lead/",
        lambda a: {"lead": None},
        None,
        _case_is(CaseStatus.OPEN, lead=None),
    ),
    "case-close": (
        "lead",
        "post",
        lambda a: f"/api/cases/{a.case.pk}/close/",
        lambda a: {"reason": "r"},
        None,
        _case_is(CaseStatus.CLOSED),
    ),
    "case-decision": (
        "lead",
        "post",
        lambda a: f"/api/cases/{a.case.pk}/decision/",
        lambda a: {"actor": a.actor.pk, "confidence": "high", "rationale": "r"},
        _in_review_with_votes,
        _check_decision,
    ),
    "suggestion-dismiss": (
        "mod",
        "post",
        lambda a: f"/api/suggestions/{a.suggestion.pk}/dismiss/",
        lambda a: {"reason": "r"},
        None,
        _check_suggestion(SuggestionStatus.DISMISSED),
    ),
    "suggestion-accept": (
        "mod",
        "post",
        lambda a: f"/api/suggestions/{a.suggestion.pk}/accept/",
        lambda a: {"case": a.case.pk},
        None,
        _check_suggestion(SuggestionStatus.ACCEPTED),
    ),
    "queue-claim": (
        "lead",
        "post",
        lambda a: f"/api/queues/{a.queue.pk}/claim/",
        lambda a: {},
        None,
        _check_claim,
    ),
    "queue-pause": (
        "lead",
        "post",
        lambda a: f"/api/queues/{a.queue.pk}/pause/",
        lambda a: {},
        None,
        _check_queue_paused,
    ),
    "assignment-release": (
        "mod",
        "post",
        lambda a: f"/api/assignments/{a.assignment.pk}/release/",
        lambda a: {},
        None,
        _assignment_is(AssignmentState.RELEASED),
    ),
    "assignment-skip": (
        "mod",
        "post",
        lambda a: f"/api/assignments/{a.assignment.pk}/skip/",
        lambda a: {"reason": "r"},
        None,
        _assignment_is(AssignmentState.SKIPPED),
    ),
    "assignment-complete": (
        "mod",
        "post",
        lambda a: f"/api/assignments/{a.assignment.pk}/complete/",
        lambda a: {"verdict": "authentic"},
        None,
        _assignment_is(AssignmentState.COMPLETED),
    ),
    "item-priority": (
        "lead",
        "post",
        lambda a: f"/api/queues/{a.queue.pk}/items/{a.item.pk}/priority/",
        lambda a: {"priority": 5},
        None,
        _check_item,
    ),
    "team-member-add": (
        "admin",
        "post",
        lambda a: f"/api/teams/{a.team.pk}/members/",
        lambda a: {"username": UserFactory(username="newbie").username, "role": "moderator"},
        None,
        _check_member,
    ),
    "similarity-sweep": (
        "mod",
        "post",
        lambda a: "/api/similarity/sweeps/",
        lambda a: {"team": a.team.pk, "case": a.case.pk},
        None,
        _check_job("similarity_sweep"),
    ),
    "token-create": ("mod", "post", lambda a: "/api/tokens/", lambda a: {"name": "mine"}, None, _check_token),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(API_WRITES))
def test_api_writes_keep_the_servers_values(name, world_a, world_b, moderator, lead, admin_user, t0):
    who, method, url, body, setup, check = API_WRITES[name]
    if setup is not None:
        setup(world_a)
    client = token_client({"mod": moderator, "lead": lead, "admin": admin_user}[who])
    response = getattr(client, method)(url(world_a), {**smuggled(world_b), **body(world_a)}, format="json")
    assert response.status_code in (200, 201, 202), response.content
    check(world_a, response, t0)
    # Nothing of team B was touched or attached.
    assert not CaseAccount.objects.filter(case=world_a.case, account__team=world_b.team).exists()
    assert SimilaritySuggestion.objects.get(pk=world_b.suggestion.pk).status == SuggestionStatus.NEW


def _multipart(values: dict) -> dict:
    return {
        k: ("" if v is None else v if isinstance(v, (str, SimpleUploadedFile)) else str(v))
        for k, v in values.items()
        if not isinstance(v, dict)
    }


@pytest.mark.django_db
def test_an_uploaded_files_hashes_are_the_servers(world_a, world_b, moderator, t0):
    content = png_bytes()
    body = {
        **_multipart(smuggled(world_b)),
        "case": str(world_a.case.pk),
        "kind": "screenshot",
        "account": "",
        "file": SimpleUploadedFile("shot.png", content, content_type="image/png"),
        "size": "1",
        "content_type": "text/html",
    }
    response = token_client(moderator).post("/api/evidence/", body, format="multipart")
    assert response.status_code == 201, response.content
    row = Evidence.objects.get(pk=response.json()["id"])
    (file,) = row.files.all()
    assert file.sha256 == hashlib.sha256(content).hexdigest() and file.phash != "f" * 16
    assert (file.size, file.content_type) == (len(content), "image/png")
    assert (row.captured_by.username, row.capture_method, row.case) == ("mod-a", "api", world_a.case)
    assert row.content_sha256 not in (ZEROS, "") and _recent(row.captured_at, t0)


@pytest.mark.django_db
def test_a_bundle_import_job_is_the_servers(world_a, world_b, moderator, t0):
    body = {
        **_multipart(smuggled(world_b)),
        "team": str(world_a.team.pk),
        "file": SimpleUploadedFile("b.jsonl", b'{"type": "account", "platform": "x", "handle": "a"}\n'),
    }
    response = token_client(moderator).post("/api/imports/bundle/", body, format="multipart")
    assert response.status_code == 202, response.content
    _check_job("import_bundle")(world_a, response, t0)


@pytest.mark.django_db
def test_a_browser_capture_is_attributed_and_hashed_by_the_server(world_a, world_b, moderator, t0):
    content = png_bytes()
    body = {
        **_multipart(smuggled(world_b)),
        "case": str(world_a.case.pk),
        "url": "https://example.com/post/1",
        "screenshot": SimpleUploadedFile("s.png", content, content_type="image/png"),
        "screenshot_sha256": hashlib.sha256(content).hexdigest(),
    }
    body.pop("captured_at")  # the browser's clock is allowed (JUSTIFIED); see the next test
    response = token_client(moderator).post("/api/captures/", body, format="multipart")
    assert response.status_code == 201, response.content
    row = Evidence.objects.get(pk=response.json()["evidence"][0]["id"])
    assert (row.captured_by.username, row.case, row.capture_method) == ("mod-a", world_a.case, "extension")
    assert _recent(row.captured_at, t0) and _recent(row.created_at, t0) and row.content_sha256 != ZEROS
    assert row.files.get().sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db
def test_a_capture_whose_hash_is_not_the_files_is_refused(world_a, moderator):
    body = {
        "case": world_a.case.pk,
        "url": "https://example.com/post/1",
        "screenshot": SimpleUploadedFile("s.png", png_bytes(), content_type="image/png"),
        "screenshot_sha256": ZEROS,
    }
    before = Evidence.objects.count()
    response = token_client(moderator).post("/api/captures/", body, format="multipart")
    assert response.status_code == 400 and error_of(response)["code"] == "hash_mismatch"
    assert Evidence.objects.count() == before


@pytest.mark.django_db
def test_a_capture_in_the_future_is_refused_and_the_server_time_is_kept_beside_the_browsers(
    world_a, moderator, t0
):
    client = token_client(moderator)
    ahead = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    future = client.post(
        "/api/captures/",
        {"case": world_a.case.pk, "url": "https://e.com/a", "captured_at": ahead},
        format="multipart",
    )
    assert future.status_code == 400 and "captured_at" in error_of(future)["fields"]
    past = client.post(
        "/api/captures/",
        {"case": world_a.case.pk, "url": "https://e.com/b", "captured_at": LONG_AGO},
        format="multipart",
    )
    assert past.status_code == 201
    row = Evidence.objects.get(pk=past.json()["evidence"][0]["id"])
    assert row.captured_at.year == 2001 and _recent(row.created_at, t0)  # the browser's claim, and ours


# Detail routes of resources: none takes PUT, PATCH or DELETE (label and vote PUTs are their own
# routes, above). name -> URL of team A's object.
DETAIL_ROUTES = {
    "team": lambda a: f"/api/teams/{a.team.pk}/",
    "account": lambda a: f"/api/accounts/{a.account.pk}/",
    "post": lambda a: f"/api/posts/{a.post.pk}/",
    "brand": lambda a: f"/api/media-brands/{a.brand.pk}/",
    "case": lambda a: f"/api/cases/{a.case.pk}/",
    "evidence": lambda a: f"/api/evidence/{a.evidence.pk}/",
    "actor": lambda a: f"/api/actors/{a.actor.pk}/",
    "queue": lambda a: f"/api/queues/{a.queue.pk}/",
    "queue-item": lambda a: f"/api/queues/{a.queue.pk}/items/{a.item.pk}/",
    "job": lambda a: f"/api/jobs/{a.job.pk}/",
    "suggestion": lambda a: f"/api/suggestions/{a.suggestion.pk}/",
    "assignment": lambda a: f"/api/assignments/{a.assignment.pk}/",
    "audit-event": lambda a: f"/api/audit-events/{a.audit_event.pk}/",
}


@pytest.mark.django_db
def test_resources_cannot_be_overwritten_or_deleted(world_a, world_b, admin_user):
    """One test over every route and method: the world is built once (it is the slow part)."""
    client = token_client(admin_user)
    for name, url in DETAIL_ROUTES.items():
        url = url(world_a)
        before = client.get(url).json()
        for method in ("put", "patch", "delete"):
            response = getattr(client, method)(url, smuggled(world_b), format="json")
            assert response.status_code == 405, (name, method, response.status_code)
            error_of(response)
        assert client.get(url).json() == before, name


# Another team's ids nested in bodies (the top-level ones are in tests/api/test_access.py).
NESTED_FOREIGN_IDS = {
    "evidence about team B's account": lambda a, b: (
        "/api/evidence/",
        {"case": a.case.pk, "kind": "note", "captured_text": "n", "account": b.account.pk},
        "account",
    ),
    "evidence about team B's post": lambda a, b: (
        "/api/evidence/",
        {"case": a.case.pk, "kind": "note", "captured_text": "n", "post": b.post.pk},
        "post",
    ),
    "evidence about team B's brand": lambda a, b: (
        "/api/evidence/",
        {"case": a.case.pk, "kind": "note", "captured_text": "n", "brand": b.brand.pk},
        "brand",
    ),
    "brand run by team B's account": lambda a, b: (
        "/api/media-brands/",
        {"team": a.team.pk, "name": "X", "accounts": [{"account": b.account.pk, "role": "runs"}]},
        "accounts.0.account",
    ),
    "post copying team B's post": lambda a, b: (
        "/api/posts/",
        {"account": a.account.pk, "copied_from": b.post.pk},
        "copied_from",
    ),
    "case led by team B's lead": lambda a, b: (
        "/api/cases/",
        {"team": a.team.pk, "title": "X", "lead": b.lead.pk},
        "lead",
    ),
    "sweep of team B's case": lambda a, b: (
        "/api/similarity/sweeps/",
        {"team": a.team.pk, "case": b.case.pk},
        "case",
    ),
    "case account from team B": lambda a, b: (
        f"/api/cases/{a.case.pk}/accounts/",
        {"account": b.account.pk},
        "account",
    ),
}


@pytest.mark.django_db
def test_another_teams_ids_nested_in_a_body_do_not_exist(world_a, world_b, moderator):
    client = token_client(moderator)
    models = (Evidence, MediaBrand, Post, Job, CaseAccount, Case)
    for name, scenario in NESTED_FOREIGN_IDS.items():
        url, body, field = scenario(world_a, world_b)
        counts = [m.objects.count() for m in models]
        response = client.post(url, body, format="json")
        assert response.status_code == 400, (name, response.content)
        problems = str(error_of(response)["fields"][field])
        assert "does not exist" in problems or "Not a member" in problems, (name, problems)
        assert counts == [m.objects.count() for m in models], name


# --- 3. end to end through the UI forms -----------------------------------------------------------


@pytest.mark.django_db
def test_the_evidence_form_keeps_the_servers_values(world_a, world_b, moderator, t0):
    data = {
        **_multipart(smuggled(world_b)),
        "kind": "note",
        "captured_text": "seen",
        "account": "",
        "brand": "",
    }
    response = signed_in(moderator).post(reverse("frontend:evidence-new", args=[world_a.case.pk]), data)
    assert response.status_code == 302
    row = Evidence.objects.filter(case=world_a.case, captured_text="seen").get()
    assert (row.captured_by.username, row.capture_method, row.retracts, row.brand) == (
        "mod-a",
        "manual",
        None,
        None,
    )
    assert _recent(row.captured_at, t0) and row.content_sha256 != ZEROS


@pytest.mark.django_db
def test_the_evidence_form_refuses_another_teams_brand(world_a, world_b, moderator):
    data = {"kind": "media_brand", "brand": world_b.brand.pk}
    before = Evidence.objects.count()
    response = signed_in(moderator).post(reverse("frontend:evidence-new", args=[world_a.case.pk]), data)
    assert response.status_code == 200 and "brand" in response.context["evidence_form"].errors
    assert (
        Evidence.objects.count() == before and not world_b.brand.evidence.filter(case=world_a.case).exists()
    )


@pytest.mark.django_db
def test_the_label_form_takes_no_annotator_and_no_time_from_the_browser(world_a, world_b, moderator, t0):
    data = {**_multipart(smuggled(world_b)), "verdict": "unsure", "seconds_spent": "99999", "action": "save"}
    response = signed_in(moderator).post(reverse("frontend:work-label", args=[world_a.assignment.pk]), data)
    assert response.status_code == 302
    row = Label.objects.get(case=world_a.case, account=world_a.assignment.item.account)
    assert row.annotator.username == "mod-a" and row.seconds_spent <= world_a.queue.lease_minutes * 60
    assert _recent(row.created_at, t0)


@pytest.mark.django_db
def test_the_skip_and_retract_forms_keep_the_servers_state(world_a, world_b, moderator, t0):
    client = signed_in(moderator)
    client.post(
        reverse("frontend:work-skip", args=[world_a.assignment.pk]),
        {**_multipart(smuggled(world_b)), "reason": "r"},
    )
    world_a.assignment.refresh_from_db()
    assert (world_a.assignment.state, world_a.assignment.user.username) == (AssignmentState.SKIPPED, "mod-a")
    client.post(
        reverse("frontend:evidence-retract", args=[world_a.evidence.pk]),
        {**_multipart(smuggled(world_b)), "reason": "r"},
    )
    retraction = Evidence.objects.get(retracts=world_a.evidence)
    assert (retraction.kind, retraction.captured_by.username) == (EvidenceKind.RETRACTION, "mod-a")
    assert not Evidence.objects.filter(retracts=world_b.evidence).exists()


@pytest.mark.django_db
def test_the_vote_form_keeps_the_voter_and_refuses_another_teams_actor_and_evidence(
    world_a, world_b, moderator, t0
):
    client = signed_in(moderator)
    url = reverse("frontend:case-vote", args=[world_a.case.pk])
    base = {"confidence": "high", "rationale": "r"}
    for bad in (
        {"actor": world_b.actor.pk},
        {"actor": world_a.actor.pk, "cited_evidence": [world_b.evidence.pk]},
    ):
        response = client.post(url, {**base, **bad})
        assert response.status_code == 200 and response.context["vote_form"].errors
    assert not AttributionVote.objects.exists()
    response = client.post(url, {**_multipart(smuggled(world_b)), **base, "actor": world_a.actor.pk})
    assert response.status_code == 302
    vote = AttributionVote.objects.get()
    assert (vote.voter.username, vote.case, vote.actor) == ("mod-a", world_a.case, world_a.actor)


@pytest.mark.django_db
def test_the_capture_window_sets_method_time_and_author_itself(world_a, world_b, moderator, t0):
    client = signed_in(moderator)
    data = {
        **_multipart(smuggled(world_b)),
        "action": "page",
        "url": "https://example.com/x",
        "method": "extension",
    }
    refused = client.post(reverse("frontend:capture"), {**data, "case": world_b.case.pk})
    assert refused.status_code == 200 and "case" in refused.context["form"].errors
    assert not world_b.case.evidence.filter(url="https://example.com/x").exists()
    response = client.post(reverse("frontend:capture"), {**data, "case": world_a.case.pk})
    assert response.status_code == 200
    row = Evidence.objects.get(case=world_a.case, url="https://example.com/x")
    assert (row.captured_by.username, row.capture_method) == ("mod-a", "bookmarklet")
    assert _recent(row.captured_at, t0) and row.content_sha256 != ZEROS


@pytest.mark.django_db
def test_the_import_form_refuses_another_team_and_owns_the_job(world_a, world_b, moderator, t0):
    client = signed_in(moderator)
    upload = lambda: SimpleUploadedFile("b.jsonl", b'{"type": "account", "platform": "x", "handle": "a"}\n')  # noqa: E731
    before = Job.objects.count()
    refused = client.post(
        reverse("frontend:imports"), {"team": world_b.team.slug, "kind": "bundle", "files": upload()}
    )
    assert (
        refused.status_code == 200
        and "team" in refused.context["form"].errors
        and Job.objects.count() == before
    )
    data = {**_multipart(smuggled(world_b)), "team": world_a.team.slug, "kind": "bundle", "files": upload()}
    response = client.post(reverse("frontend:imports"), data)
    assert response.status_code == 302
    job = Job.objects.exclude(pk=world_a.job.pk).get(team=world_a.team)
    assert (job.created_by.username, job.status, job.progress, job.result) == (
        "mod-a",
        JobStatus.QUEUED,
        0,
        {},
    )


@pytest.mark.django_db
def test_the_token_form_makes_the_users_own_token(world_a, world_b, moderator):
    data = {**_multipart(smuggled(world_b)), "name": "laptop", "lifetime": "30"}
    assert signed_in(moderator).post(reverse("frontend:settings-tokens"), data).status_code == 200
    token = ApiToken.objects.get(name="laptop")
    assert token.user.username == "mod-a" and token.revoked_at is None and token.prefix != "forged"


@pytest.mark.django_db
def test_lead_bulk_actions_refuse_another_teams_cases_and_people(world_a, world_b, lead):
    client = signed_in(lead)
    url = reverse("frontend:lead-cases-bulk", args=[world_a.team.slug])
    foreign_case = client.post(
        url, {"case": [world_a.case.pk, world_b.case.pk], "action": "set_priority", "priority": "4"}
    )
    assert foreign_case.status_code == 404
    foreign_lead = client.post(
        url, {"case": [world_a.case.pk], "action": "assign_lead", "lead": world_b.lead.pk}
    )
    assert foreign_lead.status_code == 302
    world_a.case.refresh_from_db()
    world_b.case.refresh_from_db()
    assert world_a.case.lead == lead and world_a.case.priority != 4 and world_b.case.priority != 4


@pytest.mark.django_db
def test_a_lead_cannot_add_another_teams_user_as_a_reviewer(world_a, world_b, lead):
    url = reverse("frontend:lead-queue-reviewer-add", args=[world_a.queue.pk])
    assert signed_in(lead).post(url, {"reviewer": world_b.lead.pk}).status_code == 302
    assert not QueueReviewer.objects.filter(queue=world_a.queue).exists()


@pytest.mark.django_db
def test_a_lead_cannot_decide_for_another_teams_actor(world_a, world_b, lead):
    _in_review_with_votes(world_a)
    url = reverse("frontend:lead-decide", args=[world_a.case.pk])
    response = signed_in(lead).post(url, {"actor": world_b.actor.pk, "confidence": "high", "rationale": "r"})
    assert response.status_code == 200 and response.context["form_error"]
    assert not AttributionDecision.objects.exists()


@pytest.mark.django_db
def test_lead_outcomes_refuse_another_teams_account(world_a, world_b, lead):
    url = reverse("frontend:lead-outcomes-set", args=[world_a.case.pk])
    response = signed_in(lead).post(
        url, {"account": [world_b.account.pk], "outcome": "removed", "policy_basis": "x"}
    )
    assert response.status_code == 200 and response.context["error"]
    assert not AccountOutcome.objects.filter(account=world_b.account).exists()


@pytest.mark.django_db
def test_ui_suggestion_and_network_actions_refuse_another_teams_ids(world_a, world_b, moderator):
    client = signed_in(moderator)
    accept = reverse("frontend:work-suggestion-accept", args=[world_a.suggestion.pk])
    assert client.post(accept, {"case": world_b.case.pk, "account": world_a.account.pk}).status_code == 404
    assert client.post(accept, {"case": world_a.case.pk, "account": world_b.account.pk}).status_code == 404
    sweep = reverse("frontend:network-sweep", args=[world_a.team.slug])
    assert client.post(sweep, {"case": world_b.case.pk}).status_code == 404
    before = Case.objects.count()
    create = reverse("frontend:network-create-case", args=[world_a.team.slug])
    assert client.post(create, {"account": world_b.account.pk}).status_code == 302
    assert Case.objects.count() == before
    world_a.suggestion.refresh_from_db()
    assert world_a.suggestion.status == SuggestionStatus.NEW
    assert (
        Team.objects.count() == 2
        and not Job.objects.filter(team=world_a.team, kind="similarity_sweep").exists()
    )
