from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from cases.errors import Conflict, InvalidInput
from cases.models import Membership, Role, Team

from .access import require_member
from .audit import record_event


@transaction.atomic
def create_team(*, slug: str, name: str, created_by=None) -> Team:
    """Create a team with a unique slug."""
    clean_slug = slugify(slug)
    if not clean_slug or clean_slug != slug:
        raise InvalidInput(f"'{slug}' is not a valid slug: use lower-case letters, digits and hyphens.")
    if Team.objects.filter(slug=slug).exists():
        raise Conflict(f"A team with the slug '{slug}' already exists.")
    team = Team.objects.create(slug=slug, name=name.strip() or slug)
    record_event(
        team=team, user=created_by, verb="team.created", target=team, data={"slug": slug, "name": name}
    )
    return team


@transaction.atomic
def add_member(*, team: Team, user, role: str, added_by=None) -> Membership:
    """Give a user a role in a team; a user already in the team has their role changed.

    Only an admin of the team (or the system) may change membership.
    """
    if role not in Role.values:
        raise InvalidInput(f"'{role}' is not a role: choose one of {', '.join(Role.values)}.")
    require_member(added_by, team, roles=(Role.ADMIN,))
    membership, created = Membership.objects.select_for_update().get_or_create(
        user=user, team=team, defaults={"role": role}
    )
    if created:
        record_event(
            team=team,
            user=added_by,
            verb="member.added",
            target=membership,
            data={"user": user.pk, "role": role},
        )
    elif membership.role != role:
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        record_event(
            team=team,
            user=added_by,
            verb="member.role_changed",
            target=membership,
            data={"user": user.pk, "role": [old, role]},
        )
    return membership


@transaction.atomic
def create_user(*, username: str, password: str, email: str = "", created_by=None):
    """Create a login. Not team-scoped: a user sees nothing until added to a team."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise Conflict(f"The user '{username}' already exists.")
    user = User.objects.create_user(username=username, password=password, email=email)
    record_event(team=None, user=created_by, verb="user.created", target=user, data={"username": username})
    return user


@transaction.atomic
def grant_site_admin(*, user, granted_by=None):
    """Give a login Django's staff and superuser flags: the read-only /admin/ inspection window.
    Team roles stay the app's own permissions; this grants no team."""
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    record_event(
        team=None,
        user=granted_by,
        verb="user.site_admin_granted",
        target=user,
        data={"username": user.username},
    )
    return user
