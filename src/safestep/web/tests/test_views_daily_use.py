"""Daily use of the pages (issue 14): the SS 8572 reached from the flow, times people enter
themselves, human words, a second click for what is hard to undo, and the concern's
confirmation. Through Django's test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateformat import format as date_format

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import (
    Case,
    CaseStatus,
    CheckIn,
    Concern,
    ConcernStatus,
    Review,
)
from safestep.core.moment_text import MOMENT_FORMAT
from safestep.reports.scar import scar_concern_form, scar_form
from safestep.testing import ago, complete

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def local(**delta: float) -> str:
    return timezone.localtime(timezone.now() - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def html(response) -> str:
    return response.content.decode()


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def as_user(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


@pytest.fixture
def concern(district) -> Concern:
    return services.concern_submit(
        acting_user=district["counselor"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="S-20", first_name="Ana", last_name="Lopez")],
        observed_at=ago(hours=5),
        description="An older man waits for her after school.",
        indicators=["older_partner"],
    )


# --- 1. the SS 8572 in the flow -------------------------------------------------------------


def test_it_offers_the_ss_8572_on_the_report_step_and_in_the_header(as_user, open_case):
    case = open_case("suspected_victim")
    link = f'href="/cases/{case.pk}/ss8572.pdf"'
    for username in ("site_admin", "counselor", "district_coordinator"):
        body = html(as_user(username).get(f"/cases/{case.pk}/"))
        assert body.count(link) == 2, username
        assert "Download the SS 8572 (pre-filled)" in body
        top = body.index('id="top"')
        header = body[top : body.index("</header>", top)]
        assert link in header
        # The other one sits in the step whose role is the child abuse report.
        steps = body[body.index('id="steps-heading"') :]
        report_step = re.search(
            r'<li id="step-[^"]+"[^>]*>(?:(?!</li>).)*' + re.escape(link), steps, re.S
        )
        assert report_step is not None and "SS 8572" in report_step.group(0)
    assert link not in html(as_user("school_police").get(f"/cases/{case.pk}/"))


def test_it_downloads_the_case_ss_8572_from_the_page_route_and_audits_it(as_user, open_case):
    case = open_case("suspected_victim")
    answer = as_user("counselor").get(f"/cases/{case.pk}/ss8572.pdf")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert f"SS8572-{case.reference}.pdf" in answer["Content-Disposition"]
    assert answer["Cache-Control"] == "no-store"
    event = Event.objects.get(action="scar.generate", case_id=case.pk)
    assert event.payload["via"] == "page"


def test_it_says_in_words_why_the_ss_8572_is_refused_never_json(as_user, open_case):
    recruiter = open_case("recruitment_by_student", sis_id="S-21")
    refused = as_user("site_admin").get(f"/cases/{recruiter.pk}/ss8572.pdf")
    assert refused.status_code == 409
    assert refused["Content-Type"].startswith("text/html")
    body = html(refused)
    assert "<h1>The SS 8572 cannot be printed for" in body
    assert "makes no report to Child Welfare Services" in body
    assert f'href="/cases/{recruiter.pk}/"' in body
    assert "{" not in body.split("<main", 1)[1].split("</main>", 1)[0].replace("{%", "")
    case = open_case("suspected_victim", sis_id="S-22")
    police = as_user("school_police").get(f"/cases/{case.pk}/ss8572.pdf")
    assert police.status_code == 403
    assert police["Content-Type"].startswith("text/html")
    assert "Your role (School Police) does not print the SS 8572" in html(police)
    # A case out of reach does not exist, as everywhere else.
    assert as_user("outsider_admin").get(f"/cases/{case.pk}/ss8572.pdf").status_code == 404
    assert not Event.objects.filter(action="scar.generate").exists()


def test_it_refuses_an_ss_8572_that_another_site_asked_for(as_user, open_case, concern):
    case = open_case("suspected_victim", sis_id="S-23")
    counselor = as_user("counselor")
    counselor.get("/")  # signed in (an event of its own) before counting
    before = Event.objects.count()
    for path in (f"/cases/{case.pk}/ss8572.pdf", f"/concerns/{concern.pk}/ss8572.pdf"):
        answer = counselor.get(path, HTTP_SEC_FETCH_SITE="cross-site")
        assert answer.status_code == 403, path
    # Printing it is recorded under the person's name: nothing was, nor printed.
    assert Event.objects.count() == before


def test_it_offers_the_reporter_their_own_ss_8572_on_their_concern_page(as_user, concern):
    body = html(as_user("counselor").get(f"/concerns/{concern.pk}/"))
    assert f'href="/concerns/{concern.pk}/ss8572.pdf"' in body
    assert "Download the SS 8572 (pre-filled)" in body
    answer = as_user("counselor").get(f"/concerns/{concern.pk}/ss8572.pdf")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    assert as_user("site_admin").get(f"/concerns/{concern.pk}/ss8572.pdf").status_code == 404
    assert "ss8572.pdf" not in html(as_user("site_admin").get(f"/concerns/{concern.pk}/"))


def test_it_puts_the_observation_time_on_the_ss_8572_as_the_incident_time(
    district, open_case, concern
):
    shown = date_format(timezone.localtime(concern.observed_at), "Y-m-d H:i")
    own = scar_concern_form(concern, now=timezone.now())
    assert own.text("E.incident_at").startswith(shown)
    case = services.case_open(
        acting_user=district["site_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=concern.observed_at,
        summary="",
        concern_id=concern.pk,
    )
    form = scar_form(fresh(case), user=district["site_admin"], now=timezone.now())
    assert form.text("E.incident_at").startswith(shown)


# --- 2. times people enter ------------------------------------------------------------------


def test_it_asks_when_it_was_seen_without_a_default(as_user):
    body = html(as_user("reporter").get("/concerns/new/"))
    field = re.search(r'<input id="observed_at"[^>]*>', body)
    assert field is not None
    assert 'value=""' in field.group(0)
    assert 'aria-required="true"' in field.group(0)


def test_it_shows_every_problem_of_the_concern_form_at_once(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {"school": "LIN", "sis_id": "", "first_name": "Ana", "last_name": "", "description": ""},
    )
    assert answer.status_code == 400
    body = html(answer)
    for control in ("observed_at", "description", "sis_id", "last_name"):
        assert f'id="{control}-error"' in body, control
        assert f'href="#{control}"' in body, control
    assert "Enter when you saw or heard it." in body
    assert "Describe what you saw or heard." in body
    assert "Enter the student&#x27;s SIS id." in body
    assert 'id="first_name-error"' not in body
    assert not Concern.objects.exists()


def test_it_names_each_students_missing_field_in_its_own_fieldset(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "S-30",
            "first_name": "Ana",
            "last_name": "Lopez",
            "sis_id_2": "",
            "first_name_2": "Bea",
            "last_name_2": "Ruiz",
            "observed_at": local(hours=1),
            "description": "Both got into a car.",
        },
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="sis_id_2-error"' in body and 'id="sis_id-error"' not in body


def test_it_refuses_a_time_seen_in_the_future_with_the_rest(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "S-31",
            "first_name": "Ana",
            "last_name": "Lopez",
            "observed_at": local(hours=-3),
            "description": "",
        },
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="observed_at-error"' in body and "May not be in the future." in body
    assert 'id="description-error"' in body


def test_it_asks_when_the_suspicion_was_formed_at_triage_without_a_default(as_user, concern):
    queue = html(as_user("site_admin").get("/triage/"))
    field = re.search(rf'<input id="suspicion_formed_at-{concern.pk}-0"[^>]*>', queue)
    assert field is not None and 'value=""' in field.group(0)
    answer = as_user("site_admin").post(f"/triage/{concern.pk}/open/", {"summary": ""})
    assert answer.status_code == 400
    body = html(answer)
    key = f"{concern.pk}-0"
    assert f'id="suspicion_formed_at-{key}-error"' in body
    assert "Enter when the suspicion was first formed." in body
    # Both at once, and in words: never "Unknown pathway ''".
    assert f'id="pathway-{key}-error"' in body and "Choose the pathway the case follows." in body
    assert "Unknown pathway" not in body
    assert not Case.objects.exists()


# --- 3. human words -------------------------------------------------------------------------


def test_it_tells_every_event_on_the_timeline_in_words(as_user, open_case):
    case = open_case("suspected_victim")
    as_user("site_admin").get(f"/cases/{case.pk}/ss8572.pdf")
    body = html(as_user("site_admin").get(f"/cases/{case.pk}/?events=all"))
    timeline = body[body.index('id="timeline"') :]
    assert "Printed the SS 8572 (child abuse report) form." in timeline
    assert "scar.generate" not in timeline and "case.read" not in timeline
    assert "Viewed the case." in timeline


def test_it_never_shows_the_statistics_error_as_html_source(as_user):
    answer = as_user("district_coordinator").get(
        "/api/v1/stats?from=bad", HTTP_ACCEPT=BROWSER_ACCEPT
    )
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert "<html" not in html(answer).lower()
    assert answer.json()["errors"]["from"]


# --- 4. a second click for what is hard to undo --------------------------------------------


@pytest.fixture
def worked_case(district, open_case) -> Case:
    """A suspected victim's case with B1, B2 and B3 done."""
    case = open_case("suspected_victim")
    complete(district, case, "police_involved", {"agency": "school_police"}, by="school_police")
    services.case_facts_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": True},
        expected_version=fresh(case).version,
    )
    complete(
        district,
        case,
        "cws_report",
        {
            "agency": "cws",
            "phoned_at": ago(hours=1).isoformat(),
            "written_submitted_at": ago(minutes=30).isoformat(),
        },
    )
    complete(
        district,
        case,
        "campus_impact",
        {"findings": "None found.", "other_students_involved": False},
    )
    return fresh(case)


def test_it_asks_before_escalating_and_says_what_is_kept_and_added(as_user, worked_case):
    case = worked_case
    sent = {"version": case.version, "pathway": "confirmed_victim", "reason": "SDPD confirmed."}
    as_user("site_admin").get("/")  # signed in (an event of its own) before counting
    events = Event.objects.count()
    asked = as_user("site_admin").post(f"/cases/{case.pk}/escalate/", sent)
    assert asked.status_code == 200
    body = html(asked)
    assert "B1, B2 and B3 are kept; C4 and C7 are added." in body
    assert "Yes, move the case to C" in body
    assert 'name="confirm" value="1"' in body
    assert 'name="reason" value="SDPD confirmed."' in body
    # Nothing happened yet: not the move, not a single event.
    assert fresh(case).pathway == "suspected_victim"
    assert Event.objects.count() == events
    moved = as_user("site_admin").post(f"/cases/{case.pk}/escalate/", {**sent, "confirm": "1"})
    assert moved.status_code == 302
    assert fresh(case).pathway == "confirmed_victim"


def test_it_asks_the_same_way_with_htmx(as_user, worked_case):
    case = worked_case
    sent = {"version": case.version, "pathway": "confirmed_victim", "reason": "SDPD confirmed."}
    asked = as_user("site_admin").post(f"/cases/{case.pk}/escalate/", sent, **HTMX)
    assert asked.status_code == 200
    body = html(asked)
    assert "<html" not in body and 'id="case-body"' in body
    assert 'id="escalate-confirm"' in body and "data-focus" in body
    done = as_user("site_admin").post(
        f"/cases/{case.pk}/escalate/", {**sent, "confirm": "1"}, **HTMX
    )
    assert done.status_code == 200 and "The case has moved" in html(done)
    assert fresh(case).pathway == "confirmed_victim"


def test_it_refuses_on_the_first_click_as_the_change_itself_would(as_user, worked_case, open_case):
    case = worked_case
    no_reason = as_user("site_admin").post(
        f"/cases/{case.pk}/escalate/", {"version": case.version, "pathway": "confirmed_victim"}
    )
    assert no_reason.status_code == 400 and 'id="escalate-reason-error"' in html(no_reason)
    stale = as_user("site_admin").post(
        f"/cases/{case.pk}/escalate/",
        {"version": case.version - 1, "pathway": "confirmed_victim", "reason": "x"},
    )
    assert stale.status_code == 409
    counselor = as_user("counselor").post(
        f"/cases/{case.pk}/escalate/",
        {"version": case.version, "pathway": "confirmed_victim", "reason": "x"},
    )
    assert counselor.status_code == 403
    assert "Yes, move the case" not in html(no_reason) + html(stale) + html(counselor)
    early = open_case("recruitment_by_student", sis_id="S-40")
    close = as_user("site_admin").post(
        f"/cases/{early.pk}/close/", {"version": early.version, "outcome": "Done."}
    )
    assert close.status_code == 409 and "not resolved" in html(close)


def test_it_says_a_closed_case_takes_its_outcome(as_user, district, open_case):
    case = open_case("recruitment_by_student", sis_id="S-41")
    complete(district, case, "police_involved", {"agency": "school_police"}, by="school_police")
    complete(
        district, case, "campus_impact", {"findings": "None.", "other_students_involved": False}
    )
    complete(
        district,
        case,
        "school_consequences",
        {
            "consequence": "None: a first warning.",
            "expulsion_recommended": False,
            "referred_for_criminal_investigation": False,
        },
    )
    case = fresh(case)
    sent = {"version": case.version, "outcome": "Moved out of the district."}
    asked = as_user("site_admin").post(f"/cases/{case.pk}/close/", sent)
    assert asked.status_code == 200, html(asked)
    body = html(asked)
    assert "The case closes with this outcome: “Moved out of the district.”" in body
    assert "Yes, close the case" in body
    assert fresh(case).status == CaseStatus.OPEN
    done = as_user("site_admin").post(f"/cases/{case.pk}/close/", {**sent, "confirm": "1"})
    assert done.status_code == 302 and fresh(case).status == CaseStatus.CLOSED


def test_it_says_a_voided_case_is_reviewed_and_leaves_every_list(as_user, open_case):
    case = open_case()
    sent = {"version": case.version, "reason": "Opened for the wrong student."}
    asked = as_user("site_admin").post(f"/cases/{case.pk}/void/", sent)
    assert asked.status_code == 200
    body = html(asked)
    assert "The district coordinator reviews your decision" in body
    assert "It leaves every list but “Voided”" in body
    assert fresh(case).status == CaseStatus.OPEN
    assert not Review.objects.filter(case=case).exists()
    done = as_user("site_admin").post(f"/cases/{case.pk}/void/", {**sent, "confirm": "1"})
    assert done.status_code == 302 and fresh(case).status == CaseStatus.VOIDED


def test_it_says_who_loses_and_who_gains_access_before_a_transfer(as_user, district, open_case):
    case = open_case("confirmed_victim")
    services.step_complete(
        acting_user=district["placement_office"],
        case_id=case.pk,
        step_id="placement_review",
        occurred_at=ago(hours=1),
        details={"decision": "transfer", "reason": "Safer away.", "new_school": "ROO"},
        expected_version=fresh(case).version,
    )
    case = fresh(case)
    sent = {"version": case.version, "school": "ROO", "completed_at": local(minutes=5)}
    asked = as_user("placement_office").post(f"/cases/{case.pk}/transfer/", sent)
    assert asked.status_code == 200
    body = html(asked)
    assert "from Lincoln High School to Roosevelt Middle School" in body
    assert re.search(r"They lose access: [^<]*counselor[^<]*site_admin", body)
    assert re.search(r"They gain access: [^<]*outsider_admin", body)
    assert "keep their access" in body
    assert fresh(case).school.code == "LIN"
    done = as_user("placement_office").post(f"/cases/{case.pk}/transfer/", {**sent, "confirm": "1"})
    assert done.status_code == 302 and fresh(case).school.code == "ROO"


def test_it_asks_before_dismissing_a_concern(as_user, concern):
    asked = as_user("site_admin").post(f"/triage/{concern.pk}/dismiss/", {"reason": "Her uncle."})
    assert asked.status_code == 200
    body = html(asked)
    assert "Dismiss this concern?" in body and "Yes, dismiss the concern" in body
    assert "the district coordinator reviews your decision" in body
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.SUBMITTED
    assert not Review.objects.exists()
    done = as_user("site_admin").post(
        f"/triage/{concern.pk}/dismiss/", {"reason": "Her uncle.", "confirm": "1"}
    )
    assert done.status_code == 302
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.DISMISSED


@pytest.fixture
def planned_case(district, open_case) -> Case:
    case = open_case()
    services.checkin_plan_set(
        acting_user=district["counselor"],
        case_id=case.pk,
        every_days=7,
        assignee="counselor",
        expected_version=case.version,
    )
    return fresh(case)


def test_it_needs_a_method_and_a_note_for_a_check_in(as_user, planned_case):
    case = planned_case
    form = html(as_user("counselor").get(f"/cases/{case.pk}/"))
    assert not re.search(r'name="method" value="[^"]+"[^>]* checked', form)
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/check-ins/", {"occurred_at": local(minutes=10), "notes": " "}
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="checkin-notes-error"' in body and "a check-in needs a note" in body
    assert 'id="checkin-method-error"' in body and 'href="#checkin-notes"' in body
    assert not CheckIn.objects.exists()


def test_it_needs_a_note_over_the_api_too(api_as, planned_case):
    answer = api_as("counselor").post(
        f"/api/v1/cases/{planned_case.pk}/check-ins",
        {"occurred_at": ago(minutes=10).isoformat(), "method": "phone"},
        format="json",
    )
    assert answer.status_code == 400
    assert "notes" in answer.json()["errors"]
    assert not CheckIn.objects.exists()


# --- 5. the concern's confirmation ---------------------------------------------------------


def test_it_confirms_a_concern_with_its_number_its_student_and_the_deadline(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "S-50",
            "first_name": "Ana",
            "last_name": "Lopez",
            "sis_id_2": "S-51",
            "first_name_2": "Bea",
            "last_name_2": "Ruiz",
            "observed_at": local(hours=2),
            "description": "Both got into an older man's car.",
        },
        follow=True,
    )
    assert answer.status_code == 200
    concern = Concern.objects.get()
    due = date_format(timezone.localtime(concern.report_due_at), MOMENT_FORMAT)
    live = html(answer).split('id="live"', 1)[1].split("</div>", 1)[0]
    assert f"Concern {concern.pk} about Ana Lopez and Bea Ruiz" in live
    assert f"due by {due}, 36 hours after you saw it" in live
    body = html(as_user("reporter").get(f"/concerns/{concern.pk}/"))
    assert f"<h1>Your concern {concern.pk} · " in body
