from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import imports, lead_report, views, workspace

app_name = "frontend"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="frontend/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    # Django's LogoutView accepts POST only, so a link or a prefetch cannot sign anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("imports/", imports.import_page, name="imports"),
    # The case page is the workspace's: accounts with label status, evidence, coverage, votes.
    path("cases/<int:case_id>/", workspace.case_detail, name="case-detail"),
    path("cases/<int:case_id>/recount/", views.case_recount, name="case-recount"),
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("teams/<slug:team_slug>/networks/", include("frontend.networks")),  # possible networks
    path("settings/tokens/", views.settings_tokens, name="settings-tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.settings_token_revoke, name="settings-token-revoke"),
    # The moderator workspace (frontend/workspace.py).
    path("work/", workspace.my_work, name="my-work"),
    path("work/queues/<int:queue_id>/claim/", workspace.claim_next, name="work-claim"),
    path("work/assignments/<int:assignment_id>/", workspace.review, name="work-review"),
    path("work/assignments/<int:assignment_id>/label/", workspace.label, name="work-label"),
    path("work/assignments/<int:assignment_id>/release/", workspace.release, name="work-release"),
    path("work/assignments/<int:assignment_id>/skip/", workspace.skip, name="work-skip"),
    path("work/accounts/<int:account_id>/posts/", workspace.account_posts, name="work-posts"),
    path("work/accounts/<int:account_id>/avatar/", workspace.account_avatar, name="work-avatar"),
    path("work/techniques/", workspace.techniques, name="work-techniques"),
    path(
        "work/suggestions/<int:suggestion_id>/accept/",
        workspace.suggestion_accept,
        name="work-suggestion-accept",
    ),
    path(
        "work/suggestions/<int:suggestion_id>/dismiss/",
        workspace.suggestion_dismiss,
        name="work-suggestion-dismiss",
    ),
    path("cases/<int:case_id>/vote/", workspace.case_vote, name="case-vote"),
    path("cases/<int:case_id>/evidence/new/", workspace.evidence_new, name="evidence-new"),
    path("evidence/<int:evidence_id>/", workspace.evidence_detail, name="evidence-detail"),
    path("evidence/<int:evidence_id>/retract/", workspace.evidence_retract, name="evidence-retract"),
    path(
        "evidence/files/<int:file_id>/download/",
        workspace.evidence_file_download,
        name="evidence-file-download",
    ),
    path("evidence/files/<int:file_id>/image/", workspace.evidence_file_image, name="evidence-file-image"),
    path(
        "evidence/files/<int:file_id>/preview/", workspace.evidence_file_preview, name="evidence-file-preview"
    ),
    # Lead console, case queue and queue monitor (frontend/lead_queue.py).
    path("leads/", include("frontend.lead_queue")),
    # Lead console, network graph and printable report (frontend/lead_report.py).
    path("cases/<int:case_id>/graph/", lead_report.case_graph, name="case-graph"),
    path("cases/<int:case_id>/report/", lead_report.case_report, name="case-report"),
]

# Browser capture: the bookmarklet's window and the capture settings page (frontend/capture.py).
from . import capture  # noqa: E402

urlpatterns += [
    path("capture/", capture.capture_window, name="capture"),
    path("settings/capture/", capture.settings_capture, name="settings-capture"),
    path("settings/signing-key.pem", capture.signing_key_pem, name="signing-key-pem"),
]

# Lead console, review: agreement and adjudication, decision, outcomes, timeline (frontend/lead_review.py).
from . import lead_review  # noqa: E402

urlpatterns += [
    path("cases/<int:case_id>/agreement/", lead_review.case_agreement, name="lead-agreement"),
    path(
        "cases/<int:case_id>/accounts/<int:account_id>/adjudicate/",
        lead_review.case_adjudicate,
        name="lead-adjudicate",
    ),
    path("leads/queues/<int:queue_id>/agreement/", lead_review.queue_agreement, name="lead-queue-agreement"),
    path("cases/<int:case_id>/decision/", lead_review.case_decision, name="lead-decision"),
    path("cases/<int:case_id>/decision/decide/", lead_review.case_decide, name="lead-decide"),
    path("cases/<int:case_id>/decision/reopen/", lead_review.case_reopen, name="lead-reopen"),
    path("cases/<int:case_id>/outcomes/", lead_review.case_outcomes, name="lead-outcomes"),
    path("cases/<int:case_id>/outcomes/set/", lead_review.case_outcomes_set, name="lead-outcomes-set"),
    path("cases/<int:case_id>/timeline/", lead_review.case_timeline, name="lead-timeline"),
]
