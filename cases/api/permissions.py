"""Permission classes. Team scoping is not here: every queryset starts from the user's teams
(``cases.selectors``), so another team's object is simply not found. Role rules that a service
enforces (lead-only queue creation, admin-only membership) come back as ``NotAllowed`` → 403."""

from rest_framework.permissions import BasePermission

from cases.models import Membership
from cases.services.access import LEAD_ROLES


class CanReadAuditTrail(BasePermission):
    """Leads and admins read the audit trail of the teams they lead; moderators get a 403."""

    message = "Only a lead or admin of a team may read its audit trail."

    def has_permission(self, request, view) -> bool:
        return Membership.objects.filter(user=request.user, role__in=LEAD_ROLES).exists()
