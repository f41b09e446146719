"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis).

For every operation in /api/schema/, schemathesis generates valid and invalid requests and
checks the answers: never a 5xx, status codes, content types, headers and bodies as the schema
documents them, invalid input rejected. The app is called in-process through WSGI, with a
lead's token, over a seeded team.

Random ids almost never name a row, which would leave every operation on an object at "404". So
half the generated ids (the even ones) are swapped for the ids of the seeded team's objects, in
paths and in bodies: claims, labels, votes, decisions and case actions then run for real, and
their 200s, 201s, 204s and 409s are checked against the schema too.
"""

import re
import tempfile
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cases.services.queues import claim_next_item
from cases.services.tokens import create_token
from tests.api.conftest import build_world

MAX_EXAMPLES = 15
# Hypothesis keeps caches in ./.hypothesis; keep them out of the work tree.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))


@pytest.fixture
def _keep_test_connection():
    """The WSGI handler closes "old" connections around each request, which would close the test's
    own transaction on PostgreSQL. Django's test client unhooks it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_token(db, _keep_test_connection, team_a, moderator, lead, settings):
    # Schemathesis sends far more than a person would; the throttle has its own tests.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"},
    }
    world = build_world(team_a, moderator, lead)
    WORLD_IDS.clear()
    WORLD_IDS.update({kind: getattr(world, kind).pk for kind in KIND_OF_COLLECTION.values()})
    # A lease of the caller's own, so release, skip and complete can succeed (and then conflict).
    WORLD_IDS["assignment"] = claim_next_item(queue=world.queue, user=lead).pk
    WORLD_IDS["lead"] = moderator.pk  # a member of the team other than the caller
    _, secret = create_token(user=lead, name="schemathesis")
    return secret


# Loaded once, at collection: the schema endpoint is public and reads no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# The seeded team's ids by kind of object, set by the fixture before any request is generated.
WORLD_IDS: dict[str, int] = {}
# The collection a path's `{id}` belongs to: the last `/name/{id}` in the path.
_COLLECTION = re.compile(r"/([a-z-]+)/\{id\}")
KIND_OF_COLLECTION = {
    "teams": "team",
    "accounts": "account",
    "posts": "post",
    "media-brands": "brand",
    "cases": "case",
    "evidence": "evidence",
    "actors": "actor",
    "queues": "queue",
    "items": "item",
    "jobs": "job",
    "audit-events": "audit_event",
    "suggestions": "suggestion",
    "assignments": "assignment",
}
# Path parameters and body fields that name an object, by the kind of object they name.
KIND_OF_NAME = {
    "team_id": "team",
    "case_id": "case",
    "account_id": "account",
    "queue_id": "queue",
    "team": "team",
    "case": "case",
    "account": "account",
    "actor": "actor",
    "post": "post",
    "copied_from": "post",
    "brand": "brand",
    "lead": "lead",
    "cited_evidence": "evidence",
}


def _real(kind: str | None, value: Any) -> Any:
    """An even generated id becomes the seeded object's id; anything else stays as generated.
    Router ids are documented as digit strings, nested ones as integers: both are mapped."""
    if kind not in WORLD_IDS or isinstance(value, bool):
        return value
    if isinstance(value, int) and value % 2 == 0:
        return WORLD_IDS[kind]
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) % 2 == 0:
        return str(WORLD_IDS[kind])
    return value


@schema.hook
def map_path_parameters(context, path_parameters):
    if not path_parameters:
        return path_parameters
    match = _COLLECTION.search(context.operation.path)
    for name, value in path_parameters.items():
        kind = KIND_OF_COLLECTION.get(match.group(1)) if name == "id" and match else KIND_OF_NAME.get(name)
        path_parameters[name] = _real(kind, value)
    return path_parameters


@schema.hook
def map_body(context, body):
    if isinstance(body, dict):
        for name, value in body.items():
            kind = KIND_OF_NAME.get(name)
            body[name] = [_real(kind, v) for v in value] if isinstance(value, list) else _real(kind, value)
    return body


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,  # each run starts fresh: no examples replayed from an earlier run
)
def test_api_conforms_to_its_schema(case, api_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_token}"},
        # A request the schema allows may still be refused with a 400 for a reason no schema can
        # state: an id that does not exist (or is another team's), an expiry in the past, a
        # "screenshot" whose bytes are not an image. Every other check stays on, including the
        # reverse one: a request the schema forbids must be refused.
        excluded_checks=[positive_data_acceptance],
    )
