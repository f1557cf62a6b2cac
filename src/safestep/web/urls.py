from django.urls import path

from safestep.web import views
from safestep.web.views import cases, concerns, protocol, reviews

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("concerns/new/", views.concern_new, name="concern-new"),
    path("concerns/students/", concerns.student_search, name="student-search"),
    path("concerns/<int:concern_id>/", concerns.concern_detail, name="concern"),
    path(
        "concerns/<int:concern_id>/own-report/",
        concerns.concern_own_report,
        name="concern-own-report",
    ),
    path("reviews/", reviews.review_queue, name="reviews"),
    path("reviews/<int:review_id>/decide/", reviews.review_decide, name="review-decide"),
    path("triage/", concerns.triage, name="triage"),
    path("triage/<int:concern_id>/open/", concerns.triage_open, name="triage-open"),
    path("triage/<int:concern_id>/attach/", concerns.triage_attach, name="triage-attach"),
    path("triage/<int:concern_id>/dismiss/", concerns.triage_dismiss, name="triage-dismiss"),
    path("protocol/", protocol.protocol, name="protocol"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/protocol/", protocol.case_protocol, name="case-protocol"),
    path("cases/<int:case_id>/facts/", cases.case_facts, name="case-facts"),
    path(
        "cases/<int:case_id>/steps/<slug:step_id>/complete/",
        cases.step_complete,
        name="step-complete",
    ),
    path(
        "cases/<int:case_id>/steps/<slug:step_id>/progress/",
        cases.step_progress,
        name="step-progress",
    ),
    path(
        "cases/<int:case_id>/steps/<slug:step_id>/not-applicable/",
        cases.step_not_applicable,
        name="step-not-applicable",
    ),
    path(
        "cases/<int:case_id>/steps/<slug:step_id>/reopen/",
        cases.step_reopen,
        name="step-reopen",
    ),
    path("cases/<int:case_id>/escalate/", cases.case_escalate, name="case-escalate"),
    path("cases/<int:case_id>/clock/", cases.case_clock_move, name="case-clock"),
    path("cases/<int:case_id>/links/", cases.case_link, name="case-link"),
    path("cases/<int:case_id>/check-in-plan/", cases.checkin_plan, name="check-in-plan"),
    path("cases/<int:case_id>/check-ins/", cases.checkin_add, name="check-in-add"),
    path("cases/<int:case_id>/notes/", cases.note_add, name="note-add"),
    path("cases/<int:case_id>/people/", cases.person_add, name="case-people"),
    path(
        "cases/<int:case_id>/people/<int:person_id>/",
        cases.person_update,
        name="case-person",
    ),
    path(
        "cases/<int:case_id>/student-details/",
        cases.victim_details,
        name="case-student-details",
    ),
    path("cases/<int:case_id>/void/", cases.case_void, name="case-void"),
    path("cases/<int:case_id>/transfer/", cases.case_transfer, name="case-transfer"),
    path("cases/<int:case_id>/close/", cases.case_close, name="case-close"),
    path("cases/<int:case_id>/reopen/", cases.case_reopen, name="case-reopen"),
    path("healthz", views.healthz, name="healthz"),
]
