from django.urls import path

from safestep.reports import views as report_views
from safestep.web import views
from safestep.web.views import (
    account,
    attachments,
    cases,
    concerns,
    protocol,
    reviews,
    search,
    students,
)
from safestep.web.views.admin import common as admin
from safestep.web.views.admin import protocols as admin_protocols
from safestep.web.views.admin import schools as admin_schools
from safestep.web.views.admin import users as admin_users

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
    path("cases/<int:case_id>/history/<slug:section>/", cases.case_history, name="case-history"),
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
    path(
        "cases/<int:case_id>/links/options/",
        cases.case_link_options,
        name="case-link-options",
    ),
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
    # The pre-filled SS 8572 for signed-in people (the pages' own route, not the API's):
    # the PDF, or a page saying why it cannot be printed.
    path("cases/<int:case_id>/ss8572.pdf", report_views.case_scar_page, name="case-scar"),
    path(
        "concerns/<int:concern_id>/ss8572.pdf",
        report_views.concern_scar_page,
        name="concern-scar",
    ),
    # Attachments, the search, a student's page, my account (issue 14).
    path(
        "cases/<int:case_id>/attachments/",
        attachments.attachment_upload,
        name="case-attachments",
    ),
    path(
        "cases/<int:case_id>/attachments/<int:attachment_id>/",
        attachments.attachment_download,
        name="case-attachment",
    ),
    path("search/", search.search, name="search"),
    path("students/<str:school_code>/<str:sis_id>/", students.student, name="student"),
    path("account/", account.account, name="account"),
    # The district coordinator's administration area.
    path("admin-area/", admin.index, name="admin"),
    path("admin-area/users/", admin_users.user_list, name="admin-users"),
    path("admin-area/users/<str:username>/", admin_users.user_detail, name="admin-user"),
    path(
        "admin-area/users/<str:username>/active/",
        admin_users.user_active,
        name="admin-user-active",
    ),
    path("admin-area/users/<str:username>/role/", admin_users.user_role, name="admin-user-role"),
    path(
        "admin-area/users/<str:username>/schools/",
        admin_users.user_schools,
        name="admin-user-schools",
    ),
    path(
        "admin-area/users/<str:username>/token/revoke/",
        admin_users.user_token_revoke,
        name="admin-user-token",
    ),
    path(
        "admin-area/users/<str:username>/sessions/end/",
        admin_users.user_sessions_end,
        name="admin-user-sessions",
    ),
    path(
        "admin-area/users/<str:username>/password/",
        admin_users.user_password_reset,
        name="admin-user-password",
    ),
    path("admin-area/schools/", admin_schools.school_list, name="admin-schools"),
    path(
        "admin-area/schools/<str:school_code>/",
        admin_schools.school_rename,
        name="admin-school",
    ),
    path("admin-area/protocols/", admin_protocols.protocol_list, name="admin-protocols"),
    path(
        "admin-area/protocols/<int:version_id>/",
        admin_protocols.protocol_version,
        name="admin-protocol",
    ),
    path(
        "admin-area/protocols/<int:version_id>/activate/",
        admin_protocols.protocol_version_activate,
        name="admin-protocol-activate",
    ),
    path("healthz", views.healthz, name="healthz"),
]
