"""Whole cases in a real browser, each step done by the person the protocol names.

Pages in states the accessibility walk does not reach (a refused form, a closed or an
escalated case) are checked with axe-core on the way.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from safestep.cases import services
from safestep.cases.models import Case, CaseStatus, StepRecord
from safestep.web.tests.browser import (
    PHONE,
    assert_accessible,
    expect_state,
    local,
    snap,
    step,
    unfold,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_case_page(page, people, case: Case) -> None:
    page.goto(people.url(f"/cases/{case.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)


def test_it_takes_a_suspected_victim_from_a_teachers_concern_to_closure(people, district):
    # A teacher reports what they saw, and their own call to CWS.
    teacher = people.page("reporter")
    teacher.get_by_role("link", name="Report a concern").first.click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Report a concern")
    teacher.get_by_label("Student's SIS id", exact=True).fill("900001")
    teacher.get_by_label("First name", exact=True).fill("Ana")
    teacher.get_by_label("Last name", exact=True).fill("Lopez")
    teacher.get_by_label("When did you see or hear it?").fill(local(90))
    teacher.get_by_label(re.compile("older boyfriend")).check()
    # Forgetting what they saw is caught next to the field, and announced.
    teacher.get_by_role("button", name="Send to the site administrator").click()
    expect(teacher.get_by_role("alert")).to_contain_text("What you saw or heard")
    expect(teacher.locator("#description")).to_have_attribute("aria-invalid", "true")
    assert_accessible(teacher, "concern form with a problem")
    expect(teacher.get_by_label(re.compile("older boyfriend"))).to_be_checked()
    teacher.get_by_label("What did you see or hear?").fill(
        "An older man waits for her after school; she has a new phone and nails."
    )
    teacher.get_by_text("I have already reported it myself").click()
    teacher.get_by_label("Agency you reported to").select_option("cws")
    teacher.get_by_label("When you phoned").fill(local(30))
    teacher.get_by_label("Their reference number").fill("CWS-77")
    teacher.get_by_role("button", name="Send to the site administrator").click()
    expect(teacher.locator("#live")).to_contain_text("Thank you")
    expect(teacher.get_by_role("cell", name="Submitted")).to_be_visible()

    # The principal triages it into a suspected-victim case.
    principal = people.page("site_admin")
    principal.get_by_role("link", name=re.compile("concern waits for triage")).click()
    principal.get_by_label(re.compile("B · Suspected victim")).check()
    # Never pre-filled: the principal says when the suspicion was formed.
    principal.get_by_label("When was the suspicion first formed?").fill(local(90))
    principal.get_by_role("button", name="Open the case").click()
    expect(principal.locator("#live")).to_contain_text("is open")
    case = Case.objects.get()
    assert case.pathway == "suspected_victim"
    expect(principal.locator(".clock")).to_contain_text("hours left")
    assert_accessible(principal, "new case")
    facts = principal.get_by_role("group", name="Is child abuse or neglect suspected?")
    facts.get_by_label("Yes").check()
    # Whether the evidence is reliable is School Police's judgement, not the principal's.
    expect(principal.locator("#fact-reliable_evidence")).to_contain_text(
        "School Police decide this."
    )
    principal.get_by_role("button", name="Save the answers").click()
    expect(principal.locator("#live")).to_contain_text("Your answers are saved")
    box = unfold(principal, "campus_impact")
    box.get_by_label("Findings").fill("No sign of recruiting on campus.")
    box.get_by_role("group", name=re.compile("Are other students involved")).get_by_label(
        "No"
    ).check()
    box.get_by_role("button", name="Record B3 as done").click()
    expect_state(principal, "campus_impact", "Done")

    # School Police find their step in "My work" and record it, then the police-only entry.
    police = people.page("school_police")
    police.get_by_role("link", name=re.compile("^B1 · Involve")).click()
    box = unfold(police, "police_involved")
    box.get_by_label("School Police", exact=True).check()
    box.get_by_label("Officer or contact person").fill("Ofc. Diaz")
    box.get_by_role("button", name="Record B1 as done").click()
    expect_state(police, "police_involved", "Done")
    police.get_by_role("group", name=re.compile("reliable evidence")).get_by_label("Yes").check()
    police.get_by_role("button", name="Save the answers").click()
    expect(police.locator("#live")).to_contain_text("Your answers are saved")
    box = unfold(police, "le_trafficking_entry")
    box.get_by_label("Entry reference").fill("LE-2026-17")
    box.get_by_role("button", name="Record B4 as done").click()
    expect_state(police, "le_trafficking_entry", "Done")
    expect(step(police, "le_trafficking_entry")).to_contain_text("LE-2026-17")

    # The counselor does the CWS report (pre-filled from the teacher's call), the parent
    # decision, the referral and the check-ins.
    counselor = people.page("counselor")
    open_case_page(counselor, people, case)
    expect(step(counselor, "le_trafficking_entry")).to_contain_text("School Police only")
    expect(step(counselor, "le_trafficking_entry")).not_to_contain_text("LE-2026-17")
    box = unfold(counselor, "cws_report")
    done = box.locator("form.done-form")
    expect(done.get_by_label("Child Welfare Services (CWS)")).to_be_checked()
    expect(done.get_by_label("Agency reference number")).to_have_value("CWS-77")
    done.get_by_label("When the written SS 8572 was sent").fill(local(5))
    counselor.evaluate("window.stillTheSamePage = true")
    box.get_by_role("button", name="Record B2 as done").click()
    expect_state(counselor, "cws_report", "Done")
    # htmx swapped the case in place (no page load), and focus moved to the step just done.
    assert counselor.evaluate("window.stillTheSamePage === true")
    expect(step(counselor, "cws_report")).to_be_focused()
    expect(counselor.locator("#live")).to_contain_text("B2 is recorded as done")
    expect(counselor.locator(".clock")).to_contain_text("Done")

    box = unfold(counselor, "parent_contact")
    box.get_by_text("B5 does not apply?").click()
    box.get_by_label("Why it does not apply").fill("The student says her stepfather is involved.")
    box.locator("details.not-applicable").get_by_role(
        "group", name=re.compile("Was the student consulted first")
    ).get_by_label("Yes").check()
    box.get_by_role("button", name="Record that B5 does not apply").click()
    expect_state(counselor, "parent_contact", "Does not apply")

    box = unfold(counselor, "service_referral")
    box.get_by_label("The student and the family").check()
    box.get_by_label("School counseling").check()
    box.get_by_label("Others (one a line)").fill("Youth shelter hotline")
    box.get_by_label("Accepted").check()
    box.get_by_role("button", name="Record B6 as done").click()
    expect_state(counselor, "service_referral", "Done")
    expect(step(counselor, "service_referral")).to_contain_text("Youth shelter hotline")

    box = unfold(counselor, "regular_contact")
    box.get_by_label("Check in every (days)").fill("7")
    box.get_by_label("Person responsible for check-ins").select_option("counselor")
    box.get_by_role("button", name="Set up the check-ins (B7)").click()
    expect_state(counselor, "regular_contact", "Done")
    checkins = counselor.locator("#check-ins")
    checkins.get_by_label("Phone").check()
    checkins.get_by_label("Notes").fill("Doing better; attends every day.")
    checkins.get_by_role("button", name="Record the check-in").click()
    expect(counselor.locator("#check-ins")).to_contain_text("Doing better")

    # The principal closes the case; the teacher sees only that it was triaged.
    open_case_page(principal, people, case)
    expect(principal.locator("#close")).to_contain_text("Every step is resolved")
    principal.get_by_label("Outcome").fill("Student safe; services accepted; police informed.")
    principal.get_by_role("button", name="Close the case").click()
    principal.get_by_role("button", name="Yes, close the case").click()
    expect(principal.locator(".case-header")).to_contain_text("Closed")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert_accessible(principal, "closed case")
    teacher.goto(people.url("/"))
    expect(teacher.get_by_role("cell", name="Triaged into a case")).to_be_visible()
    expect(teacher.locator("main")).not_to_contain_text(case.reference)


def test_it_takes_a_recruiter_case_to_closure_and_links_the_recruited_student(
    people, district, open_case
):
    victim = open_case("suspected_victim", sis_id="S-2")
    recruiter = open_case("recruitment_by_student", sis_id="S-3")
    principal = people.page("site_admin")
    open_case_page(principal, people, recruiter)

    # Closing too early lists what is still open, next to the form.
    principal.get_by_label("Outcome").fill("Done.")
    principal.get_by_role("button", name="Close the case").click()
    expect(principal.locator("#close").get_by_role("alert")).to_contain_text("not resolved")
    assert_accessible(principal, "close refused")

    box = unfold(principal, "police_involved")
    box.get_by_label("San Diego Police Department (SDPD)").check()
    box.get_by_label("Police report number").fill("SDPD-88")
    # Telling SDPD releases the student's information: FERPA asks what the threat was.
    box.get_by_label("The threat to the student's health or safety").fill(
        "He is recruiting younger students for 'modelling work'."
    )
    box.get_by_role("button", name="Record A1 as done").click()
    expect_state(principal, "police_involved", "Done")
    box = unfold(principal, "campus_impact")
    box.get_by_label("Findings").fill("Offered 'modelling work' to a younger student.")
    box.get_by_role("group", name=re.compile("Are other students involved")).get_by_label(
        "Yes"
    ).check()
    box.get_by_role("button", name="Record A2 as done").click()
    expect_state(principal, "campus_impact", "Done")
    links = principal.locator("#links")
    links.get_by_label("Other case's reference").fill(victim.reference)
    # Using the field asked for the school's other cases, offered as suggestions.
    expect(links.locator(f'#link-case-options option[value="{victim.reference}"]')).to_have_count(1)
    links.get_by_label("How they are connected").select_option("recruited")
    links.get_by_role("button", name="Link the cases").click()
    expect(principal.locator("#links")).to_contain_text(victim.reference)
    box = unfold(principal, "school_consequences")
    box.get_by_label("School consequences").fill("Suspension pending the hearing.")
    box.get_by_role("group", name="Expulsion recommended?").get_by_label("Yes").check()
    box.get_by_role("group", name=re.compile("Referred to School Police")).get_by_label(
        "Yes"
    ).check()
    box.get_by_role("button", name="Record A3 as done").click()
    expect_state(principal, "school_consequences", "Done")
    principal.get_by_label("Outcome").fill("Referred for prosecution; expulsion hearing set.")
    principal.get_by_role("button", name="Close the case").click()
    principal.get_by_role("button", name="Yes, close the case").click()
    expect(principal.locator(".case-header")).to_contain_text("Closed")

    # The link reads from the other side too.
    open_case_page(principal, people, victim)
    expect(principal.locator("#links")).to_contain_text("was recruited by")


def test_it_takes_a_confirmed_victim_to_closure_with_police_and_placement(
    people, district, open_case
):
    case = open_case("confirmed_victim", sis_id="S-4")
    police = people.page("school_police")
    open_case_page(police, people, case)
    expect_state(police, "police_investigation", "Waiting for another step")
    box = unfold(police, "police_involved")
    box.get_by_label("School Police", exact=True).check()
    box.get_by_role("button", name="Record C1 as done").click()
    expect_state(police, "police_involved", "Done")
    box = unfold(police, "police_investigation")
    box.get_by_label("San Diego Police Department (SDPD)").check()
    box.get_by_label("Investigation unit").fill("Human trafficking task force")
    box.get_by_role("button", name="Record C4 as done").click()
    expect_state(police, "police_investigation", "Done")
    box = unfold(police, "le_trafficking_entry")
    box.get_by_role("button", name="Record C5 as done").click()
    expect_state(police, "le_trafficking_entry", "Done")

    counselor = people.page("counselor")
    open_case_page(counselor, people, case)
    box = unfold(counselor, "cws_report")
    done = box.locator("form.done-form")
    done.get_by_label("Sheriff").check()
    done.get_by_label("When the report was phoned in").fill(local(60))
    done.get_by_label("When the written SS 8572 was sent").fill(local(10))
    # A confirmed victim's report is always made: "does not apply" is not offered.
    expect(box.get_by_text("C2 does not apply?")).to_have_count(0)
    box.get_by_role("button", name="Record C2 as done").click()
    expect_state(counselor, "cws_report", "Done")
    box = unfold(counselor, "parent_contact")
    box.locator("form").first.get_by_role(
        "group", name=re.compile("Was the student consulted first")
    ).get_by_label("Yes").check()
    box.get_by_label("Person contacted", exact=True).fill("Maria Park")
    box.get_by_label("Relationship to the student").fill("Mother")
    box.get_by_label("In person").check()
    box.get_by_role("button", name="Record C6 as done").click()
    expect_state(counselor, "parent_contact", "Done")
    box = unfold(counselor, "service_referral")
    box.get_by_label("The student", exact=True).check()
    box.get_by_label("Victim advocacy").check()
    box.get_by_label("No answer yet").check()
    box.get_by_role("button", name="Record C8 as done").click()
    expect_state(counselor, "service_referral", "Done")

    principal = people.page("site_admin")
    open_case_page(principal, people, case)
    box = unfold(principal, "campus_impact")
    box.get_by_label("Findings").fill("No other students involved.")
    box.get_by_role("group", name=re.compile("Are other students involved")).get_by_label(
        "No"
    ).check()
    box.get_by_role("button", name="Record C3 as done").click()
    expect_state(principal, "campus_impact", "Done")

    # The placement office sees this case, acts on its one step, and nothing more.
    placement = people.page("placement_office")
    placement.get_by_role("link", name=re.compile("^C7 · Determine")).click()
    expect(placement.locator("#notes")).to_have_count(0)
    expect(placement.locator("#timeline")).to_have_count(0)
    expect(step(placement, "police_involved")).to_contain_text("not shown to your role")
    box = unfold(placement, "placement_review")
    box.get_by_label("Transfer to another school").check()
    box.get_by_label("Reason for the decision").fill("Safer away from the recruiter's school.")
    box.get_by_label("New school").select_option("ROO")
    box.get_by_role("button", name="Record C7 as done").click()
    expect_state(placement, "placement_review", "Done")

    open_case_page(principal, people, case)
    principal.get_by_label("Outcome").fill("Transferred; services in place.")
    principal.get_by_role("button", name="Close the case").click()
    principal.get_by_role("button", name="Yes, close the case").click()
    expect(principal.locator(".case-header")).to_contain_text("Closed")
    records = StepRecord.objects.filter(case=case, reopened_at__isnull=True)
    assert records.count() == 8


def test_it_escalates_a_suspected_victim_keeping_the_work_done(people, district, open_case):
    case = open_case("suspected_victim", sis_id="S-5")
    services.step_complete(
        acting_user=district["school_police"],
        case_id=case.pk,
        step_id="police_involved",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={"agency": "school_police"},
        expected_version=case.version,
    )
    principal = people.page("site_admin")
    open_case_page(principal, people, case)
    escalation = principal.locator("#escalate")
    expect(escalation).to_contain_text("B1 is kept; C4 and C7 are added.")
    # Every other pathway is offered; moving down one would be reviewed.
    expect(escalation).to_contain_text("Lower pathway: reviewed by the district coordinator")
    escalation.get_by_label(re.compile("C · Confirmed victim")).check()
    escalation.get_by_label(re.compile("Why")).fill("SDPD confirmed she was trafficked.")
    escalation.get_by_role("button", name="Move the case").click()
    escalation.get_by_role("button", name="Yes, move the case to C").click()
    expect(principal.locator(".case-header")).to_contain_text("C · Confirmed victim of CSEC")
    expect_state(principal, "police_involved", "Done")
    expect(step(principal, "police_involved").locator("h3")).to_contain_text("C1")
    expect_state(principal, "placement_review", "To do")
    expect(principal.locator("#timeline")).to_contain_text("Moved the case")
    assert_accessible(principal, "escalated case")
    case.refresh_from_db()
    assert case.pathway == "confirmed_victim"


def test_it_shows_a_reporter_the_not_found_page_for_a_case(people, district, open_case):
    case = open_case()
    teacher = people.page("reporter")
    answer = teacher.goto(people.url(f"/cases/{case.pk}/"))
    assert answer is not None and answer.status == 404
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(teacher.locator("main")).not_to_contain_text(case.reference)
    assert_accessible(teacher, "404 page")


def test_it_works_without_javascript(people, district, open_case):
    case = open_case("suspected_victim", sis_id="S-6")
    page = people.page("site_admin", javascript=False)
    open_case_page(page, people, case)
    box = unfold(page, "police_involved")
    box.get_by_label("School Police", exact=True).check()
    box.get_by_role("button", name="Record B1 as done").click()
    # Without JavaScript the form posts, and the page comes back at the step.
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/#step-police_involved$"))
    expect_state(page, "police_involved", "Done")
    expect(page.locator("#live")).to_contain_text("B1 is recorded as done")


def test_it_fits_a_phone_screen(people, district, open_case):
    case = open_case("confirmed_victim", sis_id="S-7")
    phone = people.page("site_admin", viewport=PHONE)
    open_case_page(phone, people, case)
    # Nothing but the flowchart scrolls sideways: the page itself fits the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(phone, "case page on a phone")
    snap(phone, "case-phone", full_page=False)
