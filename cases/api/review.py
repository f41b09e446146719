"""The review workflow over HTTP: leases on queue items, labels, attribution votes and decisions,
case actions, suggestion review and the leads' queue controls.

Thin like the rest of the API: fetch what the user may see (another team's object is the same
404 as a missing one), parse the body with an input serializer, call one service, render. Roles
and states are the services' own: a moderator asking for a lead's action gets the service's
``NotAllowed`` as a 403; a lapsed lease, a settled case or a missing quorum is its ``Conflict``,
a 409.

Blindness (no anchoring): a reviewer sees another reviewer's label on an account only after
labelling that account, and the vote tally only after voting. Leads and admins see everything,
and so does everyone once the case is decided or closed.

The actions on existing resources (``/api/cases/{id}/close/``, ``/api/queues/{id}/claim/``, …)
are mixins that ``cases.api.views`` adds to those viewsets, so they share their team-scoped
querysets.
"""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.models import (
    Assignment,
    AttributionDecision,
    AttributionVote,
    CaseAccount,
    Label,
    Membership,
    Queue,
)
from cases.review_selectors import (
    get_queue_stats_for_user,
    get_vote_tally_for_user,
    get_votes_for_lead,
    is_review_blind,
)
from cases.selectors import get_case_for_user, list_teams_for_user
from cases.services.access import LEAD_ROLES
from cases.services.case_status import assign_lead, close_case, set_case_priority
from cases.services.decisions import decide_attribution, reopen_case
from cases.services.labels import submit_label
from cases.services.queues import (
    claim_next_item,
    complete_item,
    release_expired_leases,
    release_item,
    set_item_priority,
    set_queue_active,
    skip_item,
)
from cases.services.suggestions import accept_suggestion, dismiss_suggestion
from cases.services.votes import cast_vote

from . import filters, serializers
from .base import ApiViewSet, CaseNestedViewSet, id_parameter

ACTION = {"filter_backends": [], "pagination_class": None}  # actions on one object: no list plumbing

LEADS_ONLY = "Leads and admins of the team only; anyone else gets a 403."
REVIEWABLE = "Only while the case is open or in review (409 once it is decided or closed)."


def list_assignments_for_user(user) -> QuerySet[Assignment]:
    """The user's own leases and, in the teams they lead, everyone's: a lead frees an item a
    reviewer left holding. Another moderator's lease is not found (404)."""
    led = Membership.objects.filter(user=user.pk, role__in=LEAD_ROLES).values("team")
    return (
        Assignment.objects.filter(item__queue__team__in=list_teams_for_user(user))
        .filter(Q(user=user.pk) | Q(item__queue__team__in=led))
        .select_related("user", "item__account", "item__queue__team", "item__case__team")
    )


def _is_lead(user, team) -> bool:
    return Membership.objects.leads().filter(user=user.pk, team=team).exists()


# --- leases --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Leases on queue items: yours, and in the teams you lead everyone's",
        description="`?mine=true&is_live=true` is what you hold now.",
    ),
    retrieve=extend_schema(summary="One lease (poll it for `expires_at`)"),
)
class AssignmentApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.AssignmentSerializer
    filterset_class = filters.AssignmentFilter
    search_fields = ["item__account__handle", "item__account__display_name"]
    ordering_fields = ["claimed_at", "expires_at", "completed_at"]

    def get_queryset(self):
        return list_assignments_for_user(self.request.user).order_by("-claimed_at", "-pk")

    @extend_schema(
        summary="Give a leased item back to the queue (the holder, or a lead of the team)",
        description="Only a live lease: one that expired or ended is a 409.",
        request=None,
        responses={200: serializers.AssignmentSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def release(self, request, pk=None):
        assignment = release_item(assignment=self.get_object(), user=request.user)
        return self.fresh(assignment)

    @extend_schema(
        summary="Skip a leased item, with a reason (the holder only)",
        description="The item never comes back to you; other reviewers still get it. A lease that "
        "expired or ended is a 409.",
        request=serializers.SkipInput,
        responses={200: serializers.AssignmentSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def skip(self, request, pk=None):
        assignment = self.get_object()
        data = self.validated(serializers.SkipInput)
        return self.fresh(skip_item(assignment=assignment, user=request.user, reason=data["reason"]))

    @extend_schema(
        summary="Complete a leased item (the holder only), labelling the account in the same step",
        description=(
            "With `verdict` (and optionally `techniques`, `note`, `seconds_spent`) the label is "
            "submitted and the lease completed in one transaction. With an empty body the lease is "
            "completed with the label you already gave the account (409 if you have none). "
            "Fencing: a lease that expired, or was released or skipped, cannot be completed (409) "
            "and nothing is saved — the item may be someone else's by now. " + REVIEWABLE
        ),
        request=serializers.CompleteInput,
        responses={200: serializers.AssignmentSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def complete(self, request, pk=None):
        assignment = self.get_object()
        data = self.validated(serializers.CompleteInput)
        if "verdict" in data:
            item = assignment.item
            submit_label(
                case=item.case, account=item.account, annotator=request.user, assignment=assignment, **data
            )
        else:
            complete_item(assignment=assignment, user=request.user)
        return self.fresh(assignment)


class QueueReviewActions:
    """``/api/queues/{id}/…``: claiming and stats for every member of the queue's team; pausing,
    resuming and sweeping lapsed leases for its leads (the services refuse anyone else)."""

    def _queue(self) -> Queue:
        return get_object_or_404(
            Queue.objects.filter(team__in=self.teams()).select_related("team"), pk=self.kwargs["pk"]
        )

    @extend_schema(
        summary="Claim the next item to label",
        description=(
            "Leases the next item you may label: highest priority first, then oldest; never one "
            "you labelled, skipped or completed; never one whose other leases and labels already "
            "fill the queue's `labels_per_item`. If you already hold a live lease in this queue, "
            "that lease is the answer (so a retried request does not take a second item). "
            "204 when nothing is left for you; 409 when the queue is paused."
        ),
        request=None,
        responses={
            201: OpenApiResponse(serializers.AssignmentSerializer, description="Your lease."),
            204: OpenApiResponse(description="Nothing is left for you in this queue."),
        },
    )
    @action(detail=True, methods=["post"], **ACTION)
    def claim(self, request, pk=None):
        assignment = claim_next_item(queue=self._queue(), user=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        lease = list_assignments_for_user(request.user).get(pk=assignment.pk)
        return Response(serializers.AssignmentSerializer(lease).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Where a queue stands: backlog, live and lapsed leases, labels",
        responses={200: serializers.QueueStatsSerializer},
    )
    @action(detail=True, methods=["get"], **ACTION)
    def stats(self, request, pk=None):
        stats = get_queue_stats_for_user(queue=self._queue(), user=request.user)
        return Response(serializers.QueueStatsSerializer(stats).data)

    @extend_schema(
        summary="Pause a queue: it hands out nothing; leases already held run on",
        description=LEADS_ONLY,
        request=None,
        responses={200: serializers.QueueSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def pause(self, request, pk=None):
        return self.fresh(set_queue_active(queue=self._queue(), is_active=False, set_by=request.user))

    @extend_schema(
        summary="Resume a paused queue",
        description=LEADS_ONLY,
        request=None,
        responses={200: serializers.QueueSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def resume(self, request, pk=None):
        return self.fresh(set_queue_active(queue=self._queue(), is_active=True, set_by=request.user))

    @extend_schema(
        summary="Mark the queue's lapsed leases expired",
        description="Claims already treat a lapsed lease as free; this makes the rows say so. " + LEADS_ONLY,
        request=None,
        responses={200: serializers.ExpiredLeasesSerializer},
    )
    @action(detail=True, methods=["post"], url_path="release-expired", **ACTION)
    def release_expired(self, request, pk=None):
        expired = release_expired_leases(queue=self._queue(), user=request.user)
        return Response(serializers.ExpiredLeasesSerializer({"expired": expired}).data)


class QueueItemReviewActions:
    """``/api/queues/{queue_id}/items/{id}/priority/`` (routed in ``cases.api.urls``)."""

    @extend_schema(
        summary="Change an item's place in its queue (higher first)",
        description=LEADS_ONLY,
        parameters=[id_parameter("queue_id", "queue")],
        request=serializers.ItemPriorityInput,
        responses={200: serializers.QueueItemSerializer},
    )
    def priority(self, request, queue_id=None, pk=None):
        item = self.get_object()
        data = self.validated(serializers.ItemPriorityInput)
        return self.fresh(set_item_priority(item=item, priority=data["priority"], set_by=request.user))


# --- labels --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Labels on a case's accounts, as you may see them",
        description=(
            "Blind review: besides your own labels you see other reviewers' labels only on the "
            "accounts you labelled yourself. Leads and admins see every label, and so does "
            "everyone once the case is decided or closed."
        ),
        parameters=[id_parameter("case_id", "case")],
    ),
    update=extend_schema(
        summary="Label an account of the case, or change your label",
        description="One label per reviewer, account and case: the first PUT creates it (201), "
        "later ones replace it (200) — `techniques` and `note` left out are cleared — while "
        "`seconds_spent` adds up. The account must be on the case (404 otherwise). " + REVIEWABLE,
        parameters=[id_parameter("case_id", "case"), id_parameter("account_id", "account")],
        request=serializers.LabelInput,
        responses={
            201: OpenApiResponse(serializers.LabelSerializer, description="Your label, new."),
            200: OpenApiResponse(serializers.LabelSerializer, description="Your label, changed."),
        },
    ),
)
class CaseLabelApi(mixins.ListModelMixin, CaseNestedViewSet):
    serializer_class = serializers.LabelSerializer
    filterset_class = filters.LabelFilter
    search_fields = ["account__handle", "account__display_name"]
    ordering_fields = ["created_at", "updated_at"]

    def get_queryset(self):
        if self.is_schema_generation:
            return Label.objects.none()
        case, user = self.get_case(), self.request.user
        labels = Label.objects.filter(case=case)
        if is_review_blind(user=user, case=case):
            # Every label on an account the user labelled (their own among them); nothing else.
            labelled = Label.objects.filter(case=case, annotator=user.pk).values("account_id")
            labels = labels.filter(account_id__in=labelled)
        return (
            labels.select_related("account", "annotator")
            .prefetch_related("techniques")
            .order_by("account_id", "created_at", "pk")
        )

    def update(self, request, *args, **kwargs):
        case = self.get_case()
        link = get_object_or_404(
            CaseAccount.objects.filter(case=case).select_related("account"), account_id=kwargs["account_id"]
        )
        data = self.validated(serializers.LabelInput)
        existed = Label.objects.filter(case=case, account=link.account, annotator=request.user).exists()
        label = submit_label(case=case, account=link.account, annotator=request.user, **data)
        return self.fresh(label, code=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


# --- decisions -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="A case's attribution decisions, newest first (withdrawn ones included)",
        parameters=[id_parameter("case_id", "case")],
    ),
)
class CaseDecisionApi(mixins.ListModelMixin, ApiViewSet):
    serializer_class = serializers.DecisionSerializer
    filterset_class = filters.DecisionFilter
    search_fields = ["actor__name", "rationale"]
    ordering_fields = ["decided_at"]

    def get_queryset(self):
        if self.is_schema_generation:
            return AttributionDecision.objects.none()
        case = get_case_for_user(self.request.user, self.kwargs["case_id"])
        return (
            AttributionDecision.objects.filter(case=case)
            .select_related("actor", "decided_by")
            .order_by("-decided_at", "-pk")
        )


# --- case actions --------------------------------------------------------------------------------


def _vote_response(vote: AttributionVote, code: int) -> Response:
    row = (
        AttributionVote.objects.select_related("actor", "voter")
        .prefetch_related("cited_evidence")
        .get(pk=vote.pk)
    )
    return Response(serializers.VoteSerializer(row).data, status=code)


class CaseReviewActions:
    """``/api/cases/{id}/…``: votes, the decision and the case's status, lead and priority.
    Status changes are actions, never a PATCH of ``status``."""

    @extend_schema(
        summary="The attribution votes, as you may see them",
        description=(
            "Blind review: until you have voted (and while the case is open to votes) the tally "
            "is `hidden` — only `vote_count`, `quorum` and your own vote, if any. Once you voted, "
            "or the case is decided or closed, the per-actor tally with confidence-weighted "
            "scores. Leads and admins always get the tally and every vote with its rationale "
            "(`votes`)."
        ),
        responses={200: serializers.VoteTallySerializer},
    )
    @action(detail=True, methods=["get"], **ACTION)
    def votes(self, request, pk=None):
        case = self.get_object()
        if _is_lead(request.user, case.team_id):
            tally = get_votes_for_lead(case=case, user=request.user)
        else:
            tally = get_vote_tally_for_user(case=case, user=request.user)
        return Response(serializers.VoteTallySerializer(tally).data)

    @extend_schema(
        summary="Cast your attribution vote on the case, or change it",
        description="One vote per reviewer and case: the first PUT casts it (201), later ones replace "
        "it (200; `cited_evidence` left out is cleared). Cited evidence must be on this case and not "
        "retracted. " + REVIEWABLE,
        request=serializers.VoteInput,
        responses={
            201: OpenApiResponse(serializers.VoteSerializer, description="Your vote, new."),
            200: OpenApiResponse(serializers.VoteSerializer, description="Your vote, changed."),
        },
    )
    @action(detail=True, methods=["put"], **ACTION)
    def vote(self, request, pk=None):
        case = self.get_object()
        data = self.validated(serializers.VoteInput)
        existed = AttributionVote.objects.filter(case=case, voter=request.user).exists()
        vote = cast_vote(case=case, voter=request.user, **data)
        return _vote_response(vote, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(
        summary="Decide who is behind the case (moves it to `decided`)",
        description=(
            "The case must be in review (409 otherwise; a decided case is reopened first) with at "
            "least the team's `attribution_quorum` votes, and four eyes: a reviewer other than you "
            "must have voted for the actor (409). " + LEADS_ONLY
        ),
        request=serializers.DecisionInput,
        responses={201: serializers.DecisionSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def decision(self, request, pk=None):
        case = self.get_object()
        data = self.validated(serializers.DecisionInput)
        decision = decide_attribution(case=case, lead=request.user, **data)
        row = AttributionDecision.objects.select_related("actor", "decided_by").get(pk=decision.pk)
        return Response(serializers.DecisionSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Close the case, with a reason",
        description="An open or in-review case closes without an attribution; a decided one keeps "
        "its decision. " + LEADS_ONLY,
        request=serializers.ReasonInput,
        responses={200: serializers.CaseSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def close(self, request, pk=None):
        case = self.get_object()
        data = self.validated(serializers.ReasonInput)
        return self.fresh(close_case(case=case, lead=request.user, reason=data["reason"]))

    @extend_schema(
        summary="Reopen a decided or closed case, with a reason (back to `in_review`)",
        description="The standing decision is withdrawn and stays in the history; votes stay and may "
        "change again. " + LEADS_ONLY,
        request=serializers.ReasonInput,
        responses={200: serializers.CaseSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def reopen(self, request, pk=None):
        case = self.get_object()
        data = self.validated(serializers.ReasonInput)
        return self.fresh(reopen_case(case=case, lead=request.user, reason=data["reason"]))

    @extend_schema(
        summary="Make a member of the team the case's lead (null unassigns)",
        description=LEADS_ONLY,
        request=serializers.LeadInput,
        responses={200: serializers.CaseSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def lead(self, request, pk=None):
        case = self.get_object()
        data = self.validated(serializers.LeadInput)
        return self.fresh(assign_lead(case=case, lead=data["lead"], assigned_by=request.user))

    @extend_schema(
        summary="Set the case's priority (any member may triage)",
        request=serializers.CasePriorityInput,
        responses={200: serializers.CaseSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def priority(self, request, pk=None):
        case = self.get_object()
        data = self.validated(serializers.CasePriorityInput)
        return self.fresh(set_case_priority(case=case, priority=data["priority"], set_by=request.user))


# --- suggestions ---------------------------------------------------------------------------------


class SuggestionReviewActions:
    """``/api/suggestions/{id}/accept/`` and ``/dismiss/``: any member of the suggestion's team."""

    @extend_schema(
        summary="Accept a suggestion on a case: the account of the pair not on it joins it",
        description=(
            "One account of the pair must be on the case (400 otherwise). The reason recorded on the "
            "case is written from the suggestion's signals. A dismissed suggestion can still be "
            "accepted. Only while the case is open or in review (409)."
        ),
        request=serializers.AcceptSuggestionInput,
        responses={200: serializers.SuggestionAcceptedSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def accept(self, request, pk=None):
        suggestion = self.get_object()
        data = self.validated(serializers.AcceptSuggestionInput)
        link = accept_suggestion(suggestion=suggestion, case=data["case"], user=request.user)
        body = {
            "suggestion": self.get_queryset().get(pk=suggestion.pk),
            "case_account": CaseAccount.objects.select_related("account", "added_by").get(pk=link.pk),
        }
        return Response(serializers.SuggestionAcceptedSerializer(body).data)

    @extend_schema(
        summary="Dismiss a suggestion",
        description="It is not shown again unless its score later rises clearly above the score it "
        "was dismissed at. An accepted or already dismissed suggestion is a 409.",
        request=serializers.DismissSuggestionInput,
        responses={200: serializers.SuggestionSerializer},
    )
    @action(detail=True, methods=["post"], **ACTION)
    def dismiss(self, request, pk=None):
        suggestion = self.get_object()
        data = self.validated(serializers.DismissSuggestionInput)
        return self.fresh(
            dismiss_suggestion(suggestion=suggestion, user=request.user, reason=data.get("reason", ""))
        )
