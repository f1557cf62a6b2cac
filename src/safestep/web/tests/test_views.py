"""The pages through Django's test client: what each person gets, and what a form does."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import CaseFact, Concern, ConcernStatus, StepRecord

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def local(**delta: float) -> str:
    return timezone.localtime(timezone.now() - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def as_user(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


def html(response) -> str:
    return response.content.decode()


def test_it_answers_htmx_with_the_case_fragment_and_a_browser_with_the_whole_page(
    as_user, open_case
):
    case = open_case()
    page = as_user("site_admin").get(f"/cases/{case.pk}/")
    fragment = as_user("site_admin").get(f"/cases/{case.pk}/", **HTMX)
    assert "<html" in html(page) and 'id="case-body"' in html(page)
    assert "<html" not in html(fragment) and 'id="case-body"' in html(fragment)
    assert "HX-Request" in fragment["Vary"]


def test_it_records_a_step_and_redirects_back_to_it_without_javascript(as_user, open_case):
    case = open_case()
    answer = as_user("school_police").post(
        f"/cases/{case.pk}/steps/police_involved/complete/",
        {
            "version": case.version,
            "occurred_at": local(minutes=5),
            "agency": "sdpd",
            "threat": "An adult is collecting her from school against her parents' wishes.",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/cases/{case.pk}/#step-police_involved"
    record = StepRecord.objects.get(case=case, step_id="police_involved")
    assert record.details["agency"] == "sdpd"


def test_it_records_a_step_with_htmx_and_answers_with_the_updated_case(as_user, open_case):
    case = open_case()
    answer = as_user("school_police").post(
        f"/cases/{case.pk}/steps/police_involved/complete/",
        {"version": case.version, "occurred_at": local(minutes=5), "agency": "school_police"},
        **HTMX,
    )
    assert answer.status_code == 200
    body = html(answer)
    assert "B1 is recorded as done." in body
    assert 'hx-swap-oob="innerHTML:#live"' in body
    assert f'name="version" value="{case.version + 1}"' in body


def test_it_marks_a_missing_field_next_to_it_and_saves_nothing(as_user, open_case):
    case = open_case()
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/steps/police_involved/complete/",
        {"version": case.version, "occurred_at": local(minutes=5)},
        **HTMX,
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'role="alert"' in body
    assert 'href="#done-police_involved-agency"' in body
    assert 'id="done-police_involved-agency-error"' in body
    assert re.search(r'aria-describedby="[^"]*done-police_involved-agency-error"', body)
    assert 'aria-invalid="true"' in body
    assert not StepRecord.objects.filter(case=case).exists()


def test_it_refuses_a_stale_version_and_shows_the_current_state(as_user, open_case, district):
    case = open_case()
    read_version = case.version
    services.case_facts_set(
        acting_user=district["district_coordinator"],
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": True},
        expected_version=read_version,
    )
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/facts/",
        {
            "version": read_version,
            "abuse_or_neglect_suspected": "no",
            "reason": "Not sure.",
            "reliable_evidence": "",
        },
    )
    assert answer.status_code == 409
    assert "Someone else changed this case" in html(answer)
    assert CaseFact.objects.get(case=case, fact_id="abuse_or_neglect_suspected").value is True
    # The questions show the answer now stored, not the one that was refused.
    assert re.search(r'name="abuse_or_neglect_suspected" value="yes"[^>]*checked', html(answer))
    # The page now carries the current version, so sending again is deliberate.
    assert f'name="version" value="{read_version + 1}"' in html(answer)


def test_it_lists_what_is_unresolved_when_closing_too_early(as_user, open_case):
    case = open_case("recruitment_by_student")
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/close/", {"version": case.version, "outcome": "Done."}
    )
    assert answer.status_code == 409
    assert "These steps are not resolved yet: A1 Involve School Police" in html(answer)


def test_it_shows_a_reporter_the_not_found_page_for_any_case_page(as_user, open_case):
    case = open_case()
    for path in (f"/cases/{case.pk}/", f"/cases/{case.pk}/protocol/", "/cases/", "/triage/"):
        answer = as_user("reporter").get(path)
        assert answer.status_code == 404, path
        assert "Not found" in html(answer)
        assert case.reference not in html(answer)
    answer = as_user("reporter").post(
        f"/cases/{case.pk}/notes/", {"text": "Trying to write to a case I cannot see."}
    )
    assert answer.status_code == 404


def test_it_shows_a_reporter_only_the_status_of_their_own_concerns(as_user, district):
    services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="S-9", first_name="Ana", last_name="Lopez")],
        observed_at=timezone.now() - timedelta(hours=1),
        description="Older man waits after school.",
        indicators=[],
    )
    body = html(as_user("reporter").get("/"))
    assert "Submitted" in body
    assert "Older man waits" not in body and "My work" not in body and "Open cases" not in body


def test_it_submits_a_concern_with_the_reporters_own_call(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "900002",
            "first_name": "Ana",
            "last_name": "Lopez",
            "observed_at": local(hours=2),
            "indicators": ["older_partner", "running_away"],
            "description": "Says she stays at a motel with an older 'friend'.",
            "own_agency": "sdpd",
            "own_phoned_at": local(hours=1),
            "own_reference": "SD-5",
        },
    )
    assert answer.status_code == 302
    concern = Concern.objects.get()
    assert concern.indicators == ["older_partner", "running_away"]
    assert concern.own_report is not None
    assert concern.own_report["agency"] == "sdpd"
    assert concern.own_report["reference"] == "SD-5"


def test_it_refuses_a_call_to_school_police_as_the_reporters_own_report(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "900003",
            "first_name": "Ana",
            "last_name": "Lopez",
            "observed_at": local(hours=2),
            "description": "Seen with an older man.",
            "own_agency": "school_police",
            "own_phoned_at": local(hours=1),
        },
    )
    assert answer.status_code == 400
    assert "PC 11165.9" in html(answer)
    assert 'id="own_agency-error"' in html(answer)
    assert not Concern.objects.exists()


def test_it_finds_students_only_for_people_who_already_know_of_them(as_user, open_case):
    open_case(sis_id="100023")
    found = html(as_user("site_admin").get("/concerns/students/?school=LIN&q=lop", **HTMX))
    assert "100023" in found
    # A student row exists only because of a concern: a reporter must not learn of it.
    hidden = html(as_user("reporter").get("/concerns/students/?school=LIN&q=lop", **HTMX))
    assert "100023" not in hidden
    assert "Find a student" not in html(as_user("reporter").get("/concerns/new/"))
    other_school = html(as_user("outsider_admin").get("/concerns/students/?school=LIN&q=lop"))
    assert "100023" not in other_school


def test_it_opens_a_case_from_the_triage_queue(as_user, district):
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="S-10", first_name="Ana", last_name="Lopez")],
        observed_at=timezone.now() - timedelta(hours=3),
        description="New phone and nails; older boyfriend.",
        indicators=["older_partner"],
    )
    queue = html(as_user("site_admin").get("/triage/"))
    assert "New phone and nails" in queue
    assert "Talks about an older boyfriend" in queue
    assert "New phone and nails" not in html(as_user("outsider_admin").get("/triage/"))
    answer = as_user("site_admin").post(
        f"/triage/{concern.pk}/open/",
        {"pathway": "suspected_victim", "suspicion_formed_at": local(hours=3), "summary": ""},
    )
    assert answer.status_code == 302
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.TRIAGED
    assert answer["Location"] == f"/cases/{concern.cases[0].pk}/"


def test_it_dismisses_a_concern_only_with_a_reason(as_user, district):
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="S-11", first_name="Ana", last_name="Lopez")],
        observed_at=timezone.now() - timedelta(hours=3),
        description="Hard to say.",
        indicators=[],
    )
    refused = as_user("site_admin").post(f"/triage/{concern.pk}/dismiss/", {"reason": " "})
    assert refused.status_code == 400
    assert f'id="reason-{concern.pk}-error"' in html(refused)
    reason = "The older man is her uncle; verified."
    asked = as_user("site_admin").post(f"/triage/{concern.pk}/dismiss/", {"reason": reason})
    assert asked.status_code == 200 and "Yes, dismiss the concern" in html(asked)
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.SUBMITTED
    done = as_user("site_admin").post(
        f"/triage/{concern.pk}/dismiss/", {"reason": reason, "confirm": "1"}
    )
    assert done.status_code == 302
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.DISMISSED


def test_it_withholds_police_only_details_from_everyone_but_school_police(
    as_user, open_case, district
):
    case = open_case()
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
        details={"le_reference": "LE-SECRET-1"},
        expected_version=case.version,
    )
    assert "LE-SECRET-1" in html(as_user("school_police").get(f"/cases/{case.pk}/"))
    for username in ("site_admin", "counselor", "district_coordinator"):
        body = html(as_user(username).get(f"/cases/{case.pk}/?events=all"))
        assert "LE-SECRET-1" not in body, username
        assert "visible to School Police only" in body


def test_it_lists_overdue_work_first_on_my_work(as_user, open_case, district):
    fresh = open_case("suspected_victim", sis_id="S-20", suspicion_hours_ago=1)
    late = open_case("suspected_victim", sis_id="S-21", suspicion_hours_ago=40)
    body = html(as_user("counselor").get("/"))
    assert "My work" in body
    assert body.index(late.reference) < body.index(fresh.reference)
    assert "Overdue" in body
    # Police see their own steps only.
    police = html(as_user("school_police").get("/"))
    assert "B1 · Involve School Police" in police and "B2 · Submit" not in police


def test_it_lists_the_most_urgent_work_and_links_to_the_rest(as_user, open_case, monkeypatch):
    home = importlib.import_module("safestep.web.views.home")
    monkeypatch.setattr(home, "WORK_LISTED", 2)
    monkeypatch.setattr(home, "CASE_LIST_LIMIT", 2)
    late = open_case("suspected_victim", sis_id="S-40", suspicion_hours_ago=40)
    later = [open_case("suspected_victim", sis_id=f"S-4{n}") for n in (1, 2)]
    body = html(as_user("site_admin").get("/"))
    work = body[body.index('id="work-heading"') : body.index('id="cases-heading"')]
    # The overdue work of the oldest case stays on the page; the rest is a link away.
    assert late.reference in work and work.count("<tr class=") == 2
    assert "Show all" in work and 'href="?work=all#work-heading"' in work
    everything = html(as_user("site_admin").get("/?work=all"))
    listed = everything[
        everything.index('id="work-heading"') : everything.index('id="cases-heading"')
    ]
    assert "Show all" not in listed
    assert all(case.reference in listed for case in later)
    # Open cases: the newest two, and a link to all three.
    cases = body[body.index('id="cases-heading"') :]
    assert later[1].reference in cases and late.reference not in cases
    assert "All 3 open cases" in cases and "/cases/?status=open" in cases


def test_it_stops_counting_work_past_its_limit_and_lists_only_the_most_urgent(
    as_user, open_case, monkeypatch
):
    selectors = importlib.import_module("safestep.cases.selectors")
    home = importlib.import_module("safestep.web.views.home")
    monkeypatch.setattr(selectors, "WORK_COUNTED_UP_TO", 4)
    monkeypatch.setattr(home, "WORK_LISTED", 2)
    late = open_case("suspected_victim", sis_id="S-50", suspicion_hours_ago=40)
    for n in (1, 2, 3):
        open_case("suspected_victim", sis_id=f"S-5{n}")

    def work_of(path: str) -> str:
        body = html(as_user("site_admin").get(path))
        return body[body.index('id="work-heading"') : body.index('id="cases-heading"')]

    work = work_of("/")
    assert work.count("<tr class=") == 2 and late.reference in work
    assert "Show all" not in work
    assert "Show the 4 most urgent items of work</a>" in work
    assert "(more than 4 in all)" in work
    everything = work_of("/?work=all")
    assert everything.count("<tr class=") == 4 and late.reference in everything
    assert "The 4 most urgent items of work are listed, of more than 4" in everything
    assert "Show the" not in everything


def test_it_hides_who_viewed_the_case_from_the_timeline_unless_asked(as_user, open_case):
    case = open_case()
    as_user("counselor").get(f"/cases/{case.pk}/")
    assert "Viewed the case." not in html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert "Viewed the case." in html(as_user("site_admin").get(f"/cases/{case.pk}/?events=all"))


def test_it_keeps_the_placement_office_to_the_placement_review(as_user, open_case):
    hidden = open_case("suspected_victim", sis_id="S-30")
    shown = open_case("confirmed_victim", sis_id="S-31")
    assert as_user("placement_office").get(f"/cases/{hidden.pk}/").status_code == 404
    body = html(as_user("placement_office").get(f"/cases/{shown.pk}/"))
    assert "Record C7" in body
    assert "Record C1" not in body
    assert 'id="notes"' not in body and 'id="timeline"' not in body
    assert "Older adult picks the student up" not in body


def test_it_sets_up_check_ins_and_records_one(as_user, open_case):
    case = open_case()
    counselor = as_user("counselor")
    answer = counselor.post(
        f"/cases/{case.pk}/check-in-plan/",
        {"version": case.version, "every_days": "7", "assignee": "counselor"},
    )
    assert answer.status_code == 302
    assert StepRecord.objects.filter(case=case, step_id="regular_contact").exists()
    answer = counselor.post(
        f"/cases/{case.pk}/check-ins/",
        {"occurred_at": local(minutes=10), "method": "phone", "notes": "Doing better."},
    )
    assert answer.status_code == 302
    assert "Doing better." in html(counselor.get(f"/cases/{case.pk}/"))


PAGES_TO_SCAN = ("/", "/concerns/new/", "/triage/", "/cases/", "/protocol/")


def test_it_keeps_every_page_free_of_inline_script_style_and_handlers(as_user, open_case):
    """The content security policy forbids inline code: everything lives in static files."""
    case = open_case()
    paths = [*PAGES_TO_SCAN, f"/cases/{case.pk}/", f"/cases/{case.pk}/protocol/", "/nowhere/"]
    for path in paths:
        body = html(as_user("site_admin").get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), path
        assert not re.search(r"\sstyle=", body), path
        assert not re.search(r"\son[a-z]+=", body), path
        assert "<style" not in body, path


def test_it_offers_the_schools_other_cases_to_link_only_when_the_form_asks(as_user, open_case):
    case = open_case("recruitment_by_student", sis_id="S-50")
    other = open_case("suspected_victim", sis_id="S-51")
    elsewhere = open_case("suspected_victim", sis_id="S-52", school="ROO", by="outsider_admin")
    page = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    # The page itself carries no list of other students, only where to ask for it.
    assert other.reference not in page
    assert f'hx-get="/cases/{case.pk}/links/options/"' in page
    before = Event.objects.filter(case_id=case.pk, action="case.read").count()
    options = html(as_user("site_admin").get(f"/cases/{case.pk}/links/options/"))
    assert f'<option value="{other.reference}">Ana Lopez</option>' in options
    assert case.reference not in options and elsewhere.reference not in options
    # Reading the list is recorded as a read of the case, as the page is.
    assert Event.objects.filter(case_id=case.pk, action="case.read").count() == before + 1
    # Those who may not link, or may not see the case, hear that there is nothing here.
    assert as_user("counselor").get(f"/cases/{case.pk}/links/options/").status_code == 404
    assert as_user("site_admin").get(f"/cases/{elsewhere.pk}/links/options/").status_code == 404


def test_it_leaves_links_to_cases_outside_my_scope_off_the_timeline(as_user, open_case, district):
    mine = open_case("suspected_victim", sis_id="S-40")
    theirs = open_case("recruitment_by_student", sis_id="S-41", school="ROO", by="outsider_admin")
    services.case_link(
        acting_user=district["district_coordinator"],
        case_id=mine.pk,
        other_case_id=theirs.pk,
        relation="recruited_by",
    )
    coordinator = html(as_user("district_coordinator").get(f"/cases/{mine.pk}/"))
    assert f"Linked this case to {theirs.reference}." in coordinator
    principal = html(as_user("site_admin").get(f"/cases/{mine.pk}/"))
    assert "Linked this case" not in principal
    assert theirs.reference not in principal
