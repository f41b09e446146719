"""Role checks that services share. Reads of what a user may see live in ``cases.selectors``."""

from cases.errors import NotAllowed
from cases.models import Membership, Role, Team

LEAD_ROLES = (Role.LEAD, Role.ADMIN)


def require_member(user, team: Team, *, roles: tuple[str, ...] = ()) -> Membership | None:
    """The user's membership of the team, or NotAllowed.

    ``user=None`` is the system itself (management commands, imports run by an operator,
    the demo seeder) and passes.
    """
    if user is None:
        return None
    membership = Membership.objects.filter(user=user, team=team).first()
    if membership is None:
        raise NotAllowed("You are not a member of this team.")
    if roles and membership.role not in roles:
        names = " or ".join(Role(r).label.lower() for r in roles)
        raise NotAllowed(f"Only a {names} of the team may do this.")
    return membership
