"""The pages that keep the mandated report from slipping: the reporter's own concern page,
triage's due times, the review queue, and the case page's call-then-written report."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safestep.accounts.models import Role, User
from safestep.accounts.testing import signed_in_client
from safestep.audit.services import event_record
from safestep.cases import services
from safestep.cases.models import (
    Case,
    Concern,
    Review,
    ReviewStatus,
    StepRecord,
)
from safestep.web.forms import local_input_value

pytestmark = pytest.mark.django_db


def local(**delta: float) -> str:
    return timezone.localtime(timezone.now() - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def iso(**delta: float) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def rita(district) -> User:
    """A teacher at LIN with a name to look for (and to not find)."""
    user = User.objects.create_user(
        username="rita.ramos",
        password="a long test password",
        role=Role.REPORTER,
        first_name="Rita",
        last_name="Ramos",
    )
    user.schools.set([district.lin])
    return user


@pytest.fixture
def as_user(district, rita):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(User.objects.get(username=username))
        return clients[username]

    return make


@pytest.fixture
def report(district, rita):
    """A concern Rita reports (seen HOURS_AGO), optionally with her own call to CWS."""

    def make(
        *,
        hours_ago: float = 3,
        phoned: bool = False,
        withhold: bool = False,
        sis_id: str = "S-50",
    ) -> Concern:
        return services.concern_submit(
            acting_user=rita,
            school_code="LIN",
            students=[services.StudentInput(sis_id=sis_id, first_name="Ana", last_name="Lopez")],
            observed_at=timezone.now() - timedelta(hours=hours_ago),
            description="An older man waits for her after school.",
            indicators=["older_partner"],
            own_report={"agency": "cws", "phoned_at": iso(hours=hours_ago - 1), "reference": "C-1"}
            if phoned
            else None,
            withhold_identity=withhold,
        )

    return make


def triaged(district, concern: Concern, pathway: str = "suspected_victim") -> Case:
    return services.case_open(
        acting_user=district["site_admin"],
        pathway=pathway,
        suspicion_formed_at=concern.observed_at,
        summary="",
        concern_id=concern.pk,
    )


def waive_report(district, case: Case) -> Case:
    return services.step_mark_not_applicable(
        acting_user=district["site_admin"],
        case_id=case.pk,
        step_id="cws_report",
        reason="The family explained the bruises; nothing points to abuse.",
        expected_version=case.version,
    )


# --- the reporter's own concern page ---------------------------------------------------


def test_it_shows_the_reporter_when_their_written_report_is_due(as_user, report):
    concern = report(phoned=True)
    body = html(as_user("rita.ramos").get(f"/concerns/{concern.pk}/"))
    assert "Written report due by" in body
    assert re.search(r"3[23] hours left", body)
    assert "Phoned Child Welfare Services (CWS), written report not yet recorded" in body
    assert f'href="/concerns/{concern.pk}/ss8572.pdf"' in body
    assert "Download the SS 8572 (pre-filled)" in body
    # Her earlier call fills the form, ready for the written report's time.
    assert re.search(r'name="agency" value="cws"[^>]*checked', body)
    assert 'id="own-written_submitted_at"' in body


def test_it_records_the_reporters_written_report_on_their_concern_page(as_user, report):
    concern = report(phoned=True)
    answer = as_user("rita.ramos").post(
        f"/concerns/{concern.pk}/own-report/",
        {
            "agency": "cws",
            "phoned_at": local(hours=2),
            "written_submitted_at": local(minutes=10),
            "reference": "C-1",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/concerns/{concern.pk}/#own-report"
    concern.refresh_from_db()
    assert concern.own_report["written_submitted_at"]
    body = html(as_user("rita.ramos").get(f"/concerns/{concern.pk}/"))
    assert "Your written report is recorded" in body
    assert "Phoned Child Welfare Services (CWS); written report sent" in body
    assert "Written report sent" in body and "Written report due by" not in body


def test_it_shows_own_report_problems_next_to_their_fields(as_user, report):
    concern = report()
    answer = as_user("rita.ramos").post(
        f"/concerns/{concern.pk}/own-report/",
        {"agency": "school_police", "phoned_at": "", "written_submitted_at": ""},
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'role="alert"' in body
    assert 'id="own-agency-error"' in body and "PC 11165.9" in body
    assert 'id="own-phoned_at-error"' in body
    assert re.search(r'id="own-phoned_at"[^>]*aria-invalid="true"', body)
    # A written report before the call it follows is caught, next to the written report.
    answer = as_user("rita.ramos").post(
        f"/concerns/{concern.pk}/own-report/",
        {"agency": "cws", "phoned_at": local(hours=1), "written_submitted_at": local(hours=2)},
    )
    assert answer.status_code == 400
    assert 'id="own-written_submitted_at-error"' in html(answer)
    concern.refresh_from_db()
    assert concern.own_report is None


def test_it_shows_a_concern_page_to_its_reporter_and_its_triagers_only(as_user, report):
    concern = report(phoned=True)
    for username in ("counselor", "auditor", "outsider_admin", "reporter"):
        answer = as_user(username).get(f"/concerns/{concern.pk}/")
        assert answer.status_code == 404, username
    principal = html(as_user("site_admin").get(f"/concerns/{concern.pk}/"))
    assert "An older man waits for her after school." in principal
    assert "Save your report" not in principal and "Download your SS 8572" not in principal
    # Only the reporter records their own report.
    refused = as_user("site_admin").post(
        f"/concerns/{concern.pk}/own-report/", {"agency": "cws", "phoned_at": local(hours=1)}
    )
    assert refused.status_code == 404


def test_it_tells_the_reporter_their_duty_stands_when_the_concern_is_dismissed(
    as_user, report, district
):
    concern = report()
    services.concern_dismiss(
        acting_user=district["site_admin"], concern_id=concern.pk, reason="Her uncle, verified."
    )
    body = html(as_user("rita.ramos").get(f"/concerns/{concern.pk}/"))
    assert "It was not opened as a case" in body
    assert "Your own duty to report stands (PC 11166)" in body
    assert "Record your own report below" in body
    assert "Her uncle, verified." not in body


def test_it_lists_the_reporters_concerns_with_their_due_time_and_own_report(as_user, report):
    fresh = report(phoned=True)
    old = report(hours_ago=40, sis_id="S-51")
    body = html(as_user("rita.ramos").get("/"))
    assert f'href="/concerns/{fresh.pk}/"' in body and f'href="/concerns/{old.pk}/"' in body
    assert "Phoned Child Welfare Services (CWS), written report not yet recorded" in body
    assert "Not recorded" in body
    assert "Overdue" in body and "overdue by 4 hours" in body


def test_it_submits_a_concern_withholding_the_reporters_name(as_user):
    answer = as_user("rita.ramos").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "900010",
            "first_name": "Ana",
            "last_name": "Lopez",
            "observed_at": local(hours=5),
            "description": "Seen getting into an older man's car after school.",
            "own_agency": "cws",
            "own_phoned_at": local(hours=4),
            "own_written_at": local(hours=1),
            "withhold_identity": "yes",
        },
    )
    assert answer.status_code == 302
    concern = Concern.objects.get()
    assert concern.withhold_identity is True
    assert concern.own_report is not None
    assert concern.own_report["written_submitted_at"]
    form = html(as_user("rita.ramos").get("/concerns/new/"))
    assert "Do not show my name to school staff" in form and "PC 11166(i)(2)" in form


# --- triage --------------------------------------------------------------------------------


def test_it_shows_a_staff_member_instead_of_a_withheld_reporter(as_user, report, district):
    report(withhold=True)
    principal = html(as_user("site_admin").get("/triage/"))
    assert "a staff member" in principal
    assert "Rita" not in principal and "rita.ramos" not in principal
    coordinator = html(as_user("district_coordinator").get("/triage/"))
    assert "Rita Ramos" in coordinator


def test_it_shows_when_the_report_is_due_in_triage_and_says_when_it_is_overdue(as_user, report):
    report(hours_ago=40)
    body = html(as_user("site_admin").get("/triage/"))
    assert "Written report (SS 8572) due" in body
    assert '<strong class="flag flag-overdue">Overdue</strong>' in body
    assert "overdue by 4 hours" in body


def test_it_starts_the_clock_when_the_concern_was_seen_and_refuses_a_later_time(as_user, report):
    concern = report(hours_ago=5)
    queue = html(as_user("site_admin").get("/triage/"))
    # Asked, never pre-filled: the page shows when the reporter saw it, the latest allowed.
    assert f'value="{local_input_value(concern.observed_at)}"' not in queue
    assert f'id="suspicion_formed_at-{concern.pk}-0" name="suspicion_formed_at"' in queue
    answer = as_user("site_admin").post(
        f"/triage/{concern.pk}/open/",
        {"pathway": "suspected_victim", "suspicion_formed_at": local(hours=1)},
    )
    assert answer.status_code == 400
    body = html(answer)
    assert f'id="suspicion_formed_at-{concern.pk}-0-error"' in body
    assert "May not be later than when the concern was observed" in body
    assert f'value="{local(hours=1)}"' in body  # what they typed stays
    assert not Case.objects.exists()


def test_it_says_a_review_follows_when_a_concern_is_dismissed(as_user, report):
    concern = report()
    queue = html(as_user("site_admin").get("/triage/"))
    assert "the reporter will be told that their own duty to report stands" in queue
    answer = as_user("site_admin").post(
        f"/triage/{concern.pk}/dismiss/",
        {"reason": "Her uncle, verified.", "confirm": "1"},
        follow=True,
    )
    body = html(answer)
    assert "The district coordinator will review the decision" in body
    assert Review.objects.filter(concern=concern, status=ReviewStatus.OPEN).exists()


# --- the review queue ---------------------------------------------------------------------


def test_it_shows_the_review_queue_to_the_district_coordinator_only(as_user, report, district):
    concern = report()
    services.concern_dismiss(
        acting_user=district["site_admin"], concern_id=concern.pk, reason="Her uncle, verified."
    )
    for username in ("site_admin", "rita.ramos", "school_police", "auditor"):
        answer = as_user(username).get("/reviews/")
        assert answer.status_code == 403, username
        assert "Not allowed" in html(answer)
        assert 'href="/reviews/"' not in html(as_user(username).get("/"))
    body = html(as_user("district_coordinator").get("/reviews/"))
    assert "1 open review, oldest first" in body
    assert "Concern dismissed without a case" in body
    assert "Lincoln High School" in body
    assert "Her uncle, verified." in body
    assert f'href="/concerns/{concern.pk}/"' in body
    # The navigation says how many wait.
    assert re.search(r'href="/reviews/"[^>]*>Reviews <span class="count"[^>]*>1</span>', body)
    assert "(1 open)" in body


def test_it_overrules_a_waived_report_so_it_is_due_again(as_user, report, district):
    case = waive_report(district, triaged(district, report()))
    review = Review.objects.get(case=case)
    queue = html(as_user("district_coordinator").get("/reviews/"))
    assert "Child abuse report marked as not applicable" in queue
    assert f'href="/cases/{case.pk}/">{case.reference}</a>' in queue
    assert "Overruling makes the child abuse report due again." in queue
    answer = as_user("district_coordinator").post(
        f"/reviews/{review.pk}/decide/",
        {"decision": "overruled", "comment": "Bruises need a report; make it."},
        follow=True,
    )
    assert "Overruled: Child abuse report marked as not applicable." in html(answer)
    assert "Recently decided" in html(answer) and "Bruises need a report" in html(answer)
    page = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert re.search(r'id="step-cws_report" class="step state-pending', page)
    assert "Overruled" in page


def test_it_needs_a_comment_to_overrule(as_user, report, district):
    case = waive_report(district, triaged(district, report()))
    review = Review.objects.get(case=case)
    answer = as_user("district_coordinator").post(
        f"/reviews/{review.pk}/decide/", {"decision": "overruled", "comment": " "}
    )
    assert answer.status_code == 400
    body = html(answer)
    assert f'id="comment-{review.pk}-error"' in body
    assert f'href="#comment-{review.pk}"' in body
    assert re.search(r'value="overruled" checked', body)
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


# --- the case page ------------------------------------------------------------------------


def test_it_records_the_call_then_asks_only_for_the_written_report(as_user, open_case):
    case = open_case("suspected_victim", suspicion_hours_ago=3)
    page = html(as_user("counselor").get(f"/cases/{case.pk}/"))
    assert "Record the call" in page
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/steps/cws_report/progress/",
        {"version": case.version, "agency": "cws", "phoned_at": local(hours=1)},
    )
    assert answer.status_code == 302
    page = html(as_user("counselor").get(f"/cases/{case.pk}/"))
    assert re.search(r'id="step-cws_report" class="step state-in_progress', page)
    assert re.search(r"Phoned in <time[^>]*>[^<]*</time>, written report due <time", page)
    # Completing it now asks only for what is missing: no call fields, no "when it happened".
    assert 'id="done-cws_report-phoned_at"' not in page
    assert 'id="done-cws_report-agency"' not in page
    assert 'id="done-cws_report-occurred_at"' not in page
    assert 'id="done-cws_report-written_submitted_at"' in page
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/steps/cws_report/complete/",
        {"version": case.version + 1, "written_submitted_at": local(minutes=5)},
    )
    assert answer.status_code == 302
    record = StepRecord.objects.get(case=case, step_id="cws_report", reopened_at__isnull=True)
    assert record.details["agency"] == "cws" and record.details["written_submitted_at"]


def test_it_asks_why_a_late_report_was_late(as_user, open_case):
    case = open_case("suspected_victim", suspicion_hours_ago=40)
    page = html(as_user("counselor").get(f"/cases/{case.pk}/"))
    assert "Why was it late?" in page
    sent = {
        "version": case.version,
        "agency": "cws",
        "phoned_at": local(hours=39),
        "written_submitted_at": local(hours=1),
    }
    refused = as_user("counselor").post(f"/cases/{case.pk}/steps/cws_report/complete/", sent)
    assert refused.status_code == 400
    assert 'id="done-cws_report-reason-error"' in html(refused)
    assert "explain why it was late" in html(refused)
    done = as_user("counselor").post(
        f"/cases/{case.pk}/steps/cws_report/complete/",
        {**sent, "reason": "The counselor was out sick; nobody else knew."},
    )
    assert done.status_code == 302
    page = html(as_user("counselor").get(f"/cases/{case.pk}/"))
    assert '<strong class="flag flag-late">Late</strong>' in page
    assert "The counselor was out sick" in page


def test_it_shows_a_cases_reviews_and_will_not_close_while_one_is_open(
    as_user, open_case, district
):
    case = waive_report(district, open_case("suspected_victim"))
    page = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert "Reviews by the district coordinator" in page
    assert "Child abuse report marked as not applicable" in page
    assert "waiting for the district coordinator's decision" in page
    assert "/decide/" not in page  # a site administrator cannot decide
    assert "A review is open: the case can close once the district coordinator" in page
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/close/", {"version": case.version, "outcome": "Done."}
    )
    assert answer.status_code == 409
    assert "The case cannot close while a review is open" in html(answer)


def test_it_does_not_offer_not_applicable_where_the_pathway_always_requires_the_report(
    as_user, open_case
):
    suspected = open_case("suspected_victim", sis_id="S-60")
    confirmed = open_case("confirmed_victim", sis_id="S-61")
    assert "B2 does not apply?" in html(as_user("counselor").get(f"/cases/{suspected.pk}/"))
    page = html(as_user("counselor").get(f"/cases/{confirmed.pk}/"))
    assert "C2 does not apply?" not in page
    assert "C2 is always required" in page


def test_it_offers_the_evidence_question_only_to_those_who_decide_it(as_user, open_case):
    case = open_case("suspected_victim")
    principal = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert 'name="abuse_or_neglect_suspected"' in principal
    assert 'name="reliable_evidence"' not in principal
    assert "School Police decide this." in principal
    police = html(as_user("school_police").get(f"/cases/{case.pk}/"))
    assert 'name="reliable_evidence"' in police
    assert 'name="abuse_or_neglect_suspected"' not in police
    answer = as_user("school_police").post(
        f"/cases/{case.pk}/facts/", {"version": case.version, "reliable_evidence": "yes"}
    )
    assert answer.status_code == 302


def test_it_offers_reopening_a_police_only_step_to_school_police_only(as_user, open_case, district):
    case = open_case("suspected_victim")
    case = services.step_complete(
        acting_user=district["school_police"],
        case_id=case.pk,
        step_id="police_involved",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={"agency": "school_police"},
        expected_version=case.version,
    )
    services.step_complete(
        acting_user=district["school_police"],
        case_id=case.pk,
        step_id="le_trafficking_entry",
        occurred_at=timezone.now() - timedelta(minutes=30),
        details={"le_reference": "LE-1"},
        expected_version=case.version,
    )
    principal = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert "Reopen B1" in principal and "Reopen B4" not in principal
    police = html(as_user("school_police").get(f"/cases/{case.pk}/"))
    assert "Reopen B4" in police


def test_it_corrects_when_the_suspicion_was_formed_with_a_reason(as_user, open_case):
    case = open_case("suspected_victim", suspicion_hours_ago=3)
    assert "Correct when the suspicion was formed" in html(
        as_user("site_admin").get(f"/cases/{case.pk}/")
    )
    assert "Correct when the suspicion was formed" not in html(
        as_user("counselor").get(f"/cases/{case.pk}/")
    )
    refused = as_user("site_admin").post(
        f"/cases/{case.pk}/clock/",
        {"version": case.version, "suspicion_formed_at": local(hours=6), "reason": ""},
    )
    assert refused.status_code == 400
    assert 'id="clock-reason-error"' in html(refused)
    done = as_user("site_admin").post(
        f"/cases/{case.pk}/clock/",
        {
            "version": case.version,
            "suspicion_formed_at": local(hours=6),
            "reason": "The teacher heard of it the evening before.",
        },
    )
    assert done.status_code == 302
    assert Review.objects.filter(case=case, kind="clock_moved").exists()


def test_it_links_the_ss_8572_for_those_who_may_generate_it(as_user, open_case):
    case = open_case("suspected_victim", sis_id="S-70")
    recruiter = open_case("recruitment_by_student", sis_id="S-71")
    link = f'href="/cases/{case.pk}/ss8572.pdf"'
    assert link in html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert link in html(as_user("counselor").get(f"/cases/{case.pk}/"))
    assert link not in html(as_user("school_police").get(f"/cases/{case.pk}/"))
    assert "ss8572.pdf" not in html(as_user("site_admin").get(f"/cases/{recruiter.pk}/"))


def test_it_keeps_a_withheld_reporters_name_off_the_case_page_for_school_staff(
    as_user, report, district, rita
):
    concern = report(withhold=True, phoned=True)
    case = triaged(district, concern)
    # Something she did shows on the case's timeline: her own report to the agency, logged
    # as a disclosure of the student's information.
    event_record(
        actor=rita,
        action="disclosure.record",
        case_id=case.pk,
        payload={"legal_basis": "canra_report", "concern": concern.pk},
    )
    for username in ("site_admin", "counselor"):
        page = html(as_user(username).get(f"/cases/{case.pk}/?events=all"))
        assert "rita.ramos" not in page and "Rita" not in page, username
        assert "a staff member" in page
    coordinator = html(as_user("district_coordinator").get(f"/cases/{case.pk}/?events=all"))
    assert "rita.ramos" in coordinator


def test_it_keeps_the_new_pages_free_of_inline_script_style_and_handlers(as_user, report, district):
    concern = report(phoned=True)
    services.concern_dismiss(
        acting_user=district["site_admin"], concern_id=concern.pk, reason="Her uncle, verified."
    )
    pages = [
        ("rita.ramos", f"/concerns/{concern.pk}/"),
        ("district_coordinator", f"/concerns/{concern.pk}/"),
        ("district_coordinator", "/reviews/"),
        ("site_admin", "/reviews/"),
    ]
    for username, path in pages:
        body = html(as_user(username).get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), path
        assert not re.search(r"\sstyle=", body), path
        assert not re.search(r"\son[a-z]+=", body), path
