from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from . import review, views

app_name = "api"

router = SimpleRouter()
router.register("teams", views.TeamApi, basename="team")
router.register("accounts", views.AccountApi, basename="account")
router.register("posts", views.PostApi, basename="post")
router.register("media-brands", views.MediaBrandApi, basename="media-brand")
router.register("cases", views.CaseApi, basename="case")
router.register("evidence", views.EvidenceApi, basename="evidence")
router.register("techniques", views.TechniqueApi, basename="technique")
router.register("actors", views.ActorApi, basename="actor")
router.register("queues", views.QueueApi, basename="queue")
router.register("jobs", views.JobApi, basename="job")
router.register("audit-events", views.AuditEventApi, basename="audit-event")
router.register("suggestions", views.SuggestionApi, basename="suggestion")
router.register("imports", views.ImportApi, basename="import")
router.register("tokens", views.TokenApi, basename="token")
router.register("assignments", review.AssignmentApi, basename="assignment")

urlpatterns = [
    path("", include(router.urls)),
    path("", include("cases.api.similarity")),  # similar accounts, sweeps
    path(
        "teams/<int:team_id>/members/",
        views.TeamMemberApi.as_view({"get": "list", "post": "create"}),
        name="team-members",
    ),
    path(
        "cases/<int:case_id>/accounts/",
        views.CaseAccountApi.as_view({"get": "list", "post": "create"}),
        name="case-accounts",
    ),
    path(
        "cases/<int:case_id>/accounts/<int:account_id>/",
        views.CaseAccountApi.as_view({"delete": "destroy"}),
        name="case-account-detail",
    ),
    path(
        "cases/<int:case_id>/labels/",
        review.CaseLabelApi.as_view({"get": "list"}),
        name="case-labels",
    ),
    path(
        "cases/<int:case_id>/labels/<int:account_id>/",
        review.CaseLabelApi.as_view({"put": "update"}),
        name="case-label-detail",
    ),
    path(
        "cases/<int:case_id>/decisions/",
        review.CaseDecisionApi.as_view({"get": "list"}),
        name="case-decisions",
    ),
    path("queues/<int:queue_id>/items/", views.QueueItemApi.as_view({"get": "list"}), name="queue-items"),
    path(
        "queues/<int:queue_id>/items/<int:pk>/",
        views.QueueItemApi.as_view({"get": "retrieve"}),
        name="queue-item-detail",
    ),
    path(
        "queues/<int:queue_id>/items/<int:pk>/priority/",
        views.QueueItemApi.as_view({"post": "priority"}),
        name="queue-item-priority",
    ),
    path("schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    # The page and its init script are two requests, so the page needs no inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="cases/api/swagger_ui.html"),
        name="docs",
    ),
]

# Browser capture and signed evidence manifests (cases/api/captures.py, docs/extension.md).
from . import captures  # noqa: E402

urlpatterns += [
    path("captures/", captures.CaptureApi.as_view({"post": "create"}), name="capture-list"),
    path(
        "cases/<int:case_id>/manifest/",
        captures.CaseManifestApi.as_view({"get": "retrieve"}),
        name="case-manifest",
    ),
]
