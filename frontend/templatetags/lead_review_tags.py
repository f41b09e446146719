"""Template helpers of the lead console's review pages: the case timeline's wording."""

from django import template

from cases.lead_review_selectors import is_lead_of

register = template.Library()

PHRASES = {
    "case.created": "opened the case",
    "case.account_added": "put an account on the case",
    "case.account_removed": "took an account off the case",
    "case.status_changed": "changed the case's status",
    "case.closed": "closed the case",
    "case.reopened": "reopened the case",
    "case.decided": "decided the attribution",
    "case.lead_assigned": "assigned the case's lead",
    "case.priority_changed": "changed the priority",
    "case.summary_set": "set the summary",
    "case.recounted": "recounted the case",
    "case.outcomes_set": "set account outcomes",
    "label.submitted": "labelled an account",
    "label.changed": "changed a label",
    "vote.cast": "voted on attribution",
    "vote.changed": "changed their vote",
    "evidence.recorded": "attached evidence",
    "evidence.retracted": "retracted evidence",
    "account.adjudicated": "adjudicated an account",
    "suggestion.accepted": "accepted a suggested account",
    "suggestion.dismissed": "dismissed a suggested account",
    "queue.created": "created a review queue",
    "queue.item_claimed": "claimed a review item",
}
# Data keys worth a line in the timeline, in this order, with their label.
DETAILS = (
    ("status", "Status"),
    ("verdict", "Verdict"),
    ("actor", "Actor"),
    ("confidence", "Confidence"),
    ("outcome", "Outcome"),
    ("policy_basis", "Policy basis"),
    ("reason", "Reason"),
    ("rationale", "Rationale"),
    ("name", "Name"),
)


@register.filter
def event_family(verb: str) -> str:
    """``label.submitted`` -> ``label``, for the marker's colour."""
    return str(verb).split(".", 1)[0]


@register.filter
def event_phrase(verb: str) -> str:
    return PHRASES.get(str(verb), str(verb).replace("_", " ").replace(".", ": "))


def _text(value) -> str:
    if isinstance(value, list) and len(value) == 2 and not any(isinstance(v, (list, dict)) for v in value):
        before, after = value
        return f"{'—' if before in (None, '') else before} → {'—' if after in (None, '') else after}"
    if isinstance(value, dict):
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    return str(value)


@register.simple_tag
def event_details(event, actor_names=None) -> list[tuple[str, str]]:
    """The interesting parts of an event's data as (label, text), escaped by the template. Actor
    ids are shown by name when ``actor_names`` (id -> name) knows them."""
    data = event.data if isinstance(event.data, dict) else {}
    names = actor_names or {}

    def named(key, value):
        if key != "actor":
            return value
        if isinstance(value, list):
            return [names.get(v, v) for v in value]
        return names.get(value, value)

    rows = [
        (label, _text(named(key, data[key]))) for key, label in DETAILS if data.get(key) not in (None, "", [])
    ]
    if event.verb == "case.outcomes_set" and isinstance(data.get("accounts"), dict):
        rows.append(("Accounts", str(len(data["accounts"]))))
    return rows


@register.simple_tag(takes_context=True)
def leads_team(context, team) -> bool:
    """Whether the signed-in user is a lead or admin of ``team`` (for lead-only links)."""
    request = context.get("request")
    return is_lead_of(getattr(request, "user", None), team)
