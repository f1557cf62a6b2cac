from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from safestep.api import views
from safestep.attachments import views as attachment_views
from safestep.audit import api as audit_api
from safestep.reports import views as report_views

app_name = "api"

urlpatterns = [
    path("v1/protocols", views.ProtocolList.as_view(), name="protocols"),
    path("v1/concerns", views.ConcernCollection.as_view(), name="concerns"),
    path("v1/concerns/<int:concern_id>", views.ConcernDetail.as_view(), name="concern"),
    path(
        "v1/concerns/<int:concern_id>/own-report",
        views.ConcernOwnReport.as_view(),
        name="concern-own-report",
    ),
    path(
        "v1/concerns/<int:concern_id>/scar.pdf",
        report_views.ConcernScarPdf.as_view(),
        name="concern-scar",
    ),
    path(
        "v1/concerns/<int:concern_id>/attach",
        views.ConcernAttach.as_view(),
        name="concern-attach",
    ),
    path("v1/reviews", views.ReviewCollection.as_view(), name="reviews"),
    path("v1/reviews/<int:review_id>/decide", views.ReviewDecide.as_view(), name="review-decide"),
    path(
        "v1/concerns/<int:concern_id>/dismiss",
        views.ConcernDismiss.as_view(),
        name="concern-dismiss",
    ),
    path("v1/cases", views.CaseCollection.as_view(), name="cases"),
    path("v1/cases/<int:case_id>", views.CaseDetail.as_view(), name="case"),
    path("v1/cases/<int:case_id>/facts", views.CaseFacts.as_view(), name="case-facts"),
    path("v1/cases/<int:case_id>/people", views.CasePeople.as_view(), name="case-people"),
    path(
        "v1/cases/<int:case_id>/people/<int:person_id>",
        views.CasePersonDetail.as_view(),
        name="case-person",
    ),
    path(
        "v1/cases/<int:case_id>/student",
        views.CaseStudentDetails.as_view(),
        name="case-student",
    ),
    path("v1/cases/<int:case_id>/void", views.CaseVoid.as_view(), name="case-void"),
    path("v1/cases/<int:case_id>/transfer", views.CaseTransfer.as_view(), name="case-transfer"),
    path(
        "v1/cases/<int:case_id>/steps/<slug:step_id>/complete",
        views.StepComplete.as_view(),
        name="step-complete",
    ),
    path(
        "v1/cases/<int:case_id>/steps/<slug:step_id>/progress",
        views.StepProgress.as_view(),
        name="step-progress",
    ),
    path("v1/cases/<int:case_id>/clock", views.CaseClock.as_view(), name="case-clock"),
    path(
        "v1/cases/<int:case_id>/steps/<slug:step_id>/not-applicable",
        views.StepNotApplicable.as_view(),
        name="step-not-applicable",
    ),
    path(
        "v1/cases/<int:case_id>/steps/<slug:step_id>/reopen",
        views.StepReopen.as_view(),
        name="step-reopen",
    ),
    path("v1/cases/<int:case_id>/escalate", views.CaseEscalate.as_view(), name="case-escalate"),
    path("v1/cases/<int:case_id>/links", views.CaseLinks.as_view(), name="case-links"),
    path(
        "v1/cases/<int:case_id>/check-in-plan",
        views.CheckInPlanView.as_view(),
        name="check-in-plan",
    ),
    path("v1/cases/<int:case_id>/check-ins", views.CheckIns.as_view(), name="check-ins"),
    path("v1/cases/<int:case_id>/notes", views.Notes.as_view(), name="notes"),
    path("v1/cases/<int:case_id>/timeline", views.CaseTimeline.as_view(), name="timeline"),
    path("v1/cases/<int:case_id>/close", views.CaseClose.as_view(), name="case-close"),
    path("v1/cases/<int:case_id>/reopen", views.CaseReopen.as_view(), name="case-reopen"),
    path(
        "v1/cases/<int:case_id>/attachments",
        attachment_views.AttachmentCollection.as_view(),
        name="attachments",
    ),
    path(
        "v1/cases/<int:case_id>/attachments/<int:attachment_id>",
        attachment_views.AttachmentDownload.as_view(),
        name="attachment",
    ),
    path("v1/cases/<int:case_id>/scar.pdf", report_views.ScarPdf.as_view(), name="case-scar"),
    path("v1/stats", report_views.Stats.as_view(), name="stats"),
    path("v1/stats.csv", report_views.StatsCsv.as_view(), name="stats-csv"),
    path("v1/audit", audit_api.AuditTrail.as_view(), name="audit"),
    path(
        "v1/students/<str:sis_id>/disclosures",
        views.StudentDisclosures.as_view(),
        name="student-disclosures",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script comes from its own URL (no inline script); the page
    # still needs inline styles and data: images, allowed here and nowhere else.
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
]
