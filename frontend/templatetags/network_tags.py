"""The top bar's "Networks" entry: which team's possible networks it opens."""

from django import template

from cases.models import Membership, Team

register = template.Library()


@register.simple_tag(takes_context=True)
def networks_team_slug(context) -> str:
    """The slug of the team whose possible networks the top bar links to: the team the page is
    about (a networks page, a case, a review) when the user is a member, else the first of the
    user's teams by name; "" for a user in no team (the page would be a 404 for them).

    No query on pages that list the user's teams for the top bar already (``teams``, from
    ``list_teams_for_user``); elsewhere one query per request, kept on the request."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    slugs = getattr(request, "_network_team_slugs", None)
    teams = context.get("teams")
    if slugs is None and isinstance(teams, list | tuple) and all(isinstance(t, Team) for t in teams):
        slugs = [t.slug for t in teams]
    if slugs is None:
        slugs = list(
            Membership.objects.filter(user=user).order_by("team__name").values_list("team__slug", flat=True)
        )
        request._network_team_slugs = slugs
    if not slugs:
        return ""
    for name in ("team", "case"):
        value = context.get(name)
        team = value if isinstance(value, Team) else getattr(value, "team", None)
        if isinstance(team, Team) and team.slug in slugs:
            return team.slug
    return slugs[0]
