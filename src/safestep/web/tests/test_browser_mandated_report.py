"""The mandated report in a real browser: the reporter's own report and SS 8572, the
district coordinator overruling a waived report, and the call before the written report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from safestep.cases.models import Concern, Review, ReviewDecision
from safestep.web.tests.browser import assert_accessible, expect_state, local, step, unfold

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_lets_a_teacher_record_their_written_report_and_download_their_ss_8572(people, district):
    # A teacher reports a concern, having already phoned CWS, and keeps her name from staff.
    teacher = people.page("reporter")
    teacher.get_by_role("link", name="Report a concern").first.click()
    teacher.get_by_label("Student's SIS id", exact=True).fill("900021")
    teacher.get_by_label("First name", exact=True).fill("Maya")
    teacher.get_by_label("Last name", exact=True).fill("Reyes")
    teacher.get_by_label("When did you see or hear it?").fill(local(180))
    teacher.get_by_label("What did you see or hear?").fill(
        "Picked up after school by an older man she calls her boyfriend."
    )
    teacher.get_by_text("I have already reported it myself").click()
    teacher.get_by_label("Agency you reported to").select_option("cws")
    teacher.get_by_label("When you phoned").fill(local(150))
    teacher.get_by_label("Do not show my name to school staff").check()
    teacher.get_by_role("button", name="Send to the site administrator").click()
    expect(teacher.locator("#live")).to_contain_text("Thank you")
    concern = Concern.objects.get()
    assert concern.withhold_identity

    # Home lists it with its due time and where her own report stands.
    row = teacher.locator("table.my-concerns tbody tr").first
    expect(row).to_contain_text("written report not yet recorded")
    expect(row).to_contain_text("hours left")
    row.get_by_role("link", name=re.compile("^Seen ")).click()
    expect(teacher.get_by_role("heading", level=1)).to_contain_text("Your concern")
    expect(teacher.locator("#due")).to_contain_text("Written report due by")
    expect(teacher.locator("#due")).to_contain_text("hours left")
    assert_accessible(teacher, "reporter's concern page")

    # She records when she sent the written report; the call she gave is already filled in.
    form = teacher.locator("#own-report form")
    expect(form.get_by_label("Child Welfare Services (CWS)")).to_be_checked()
    form.get_by_label("When the written SS 8572 was sent").fill(local(5))
    form.get_by_label("Agency reference number").fill("CWS-2026-118")
    form.get_by_role("button", name="Save your report").click()
    expect(teacher.locator("#live")).to_contain_text("Your written report is recorded")
    expect(teacher.locator("#due")).to_contain_text("Written report sent")
    expect(teacher.locator("#own-report")).to_contain_text("CWS-2026-118")
    concern.refresh_from_db()
    assert concern.own_report is not None
    assert concern.own_report["written_submitted_at"]

    # Her own pre-filled SS 8572 downloads as a PDF.
    with teacher.expect_download() as download_info:
        teacher.get_by_role("link", name="Download the SS 8572 (pre-filled)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")


def test_it_makes_a_waived_report_due_again_when_the_coordinator_overrules_it(
    people, district, open_case
):
    case = open_case("suspected_victim", sis_id="S-80")
    principal = people.page("site_admin")
    principal.goto(people.url(f"/cases/{case.pk}/"))
    box = unfold(principal, "cws_report")
    box.get_by_text("B2 does not apply?").click()
    box.get_by_label("Why it does not apply").fill("The bruises are from football practice.")
    box.get_by_role("button", name="Record that B2 does not apply").click()
    expect_state(principal, "cws_report", "Does not apply")
    expect(principal.locator("#reviews")).to_contain_text(
        "Child abuse report marked as not applicable"
    )
    expect(principal.locator("#reviews")).to_contain_text("waiting for the district coordinator")
    # Closing waits for the coordinator.
    expect(principal.locator("#close")).to_contain_text("A review is open")
    assert_accessible(principal, "case page with an open review")

    coordinator = people.page("district_coordinator")
    coordinator.get_by_role("link", name=re.compile("^Reviews")).click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Reviews")
    review = coordinator.locator("article.review").filter(has_text=case.reference)
    expect(review).to_contain_text("Child abuse report marked as not applicable")
    expect(review).to_contain_text("The bruises are from football practice.")
    # Overruling without a comment is refused, next to the comment.
    review.get_by_label(re.compile("Overrule:")).check()
    review.get_by_role("button", name="Record the decision").click()
    review = coordinator.locator("article.review").filter(has_text=case.reference)
    expect(review.get_by_role("alert")).to_contain_text("Comment")
    expect(review.get_by_label("Comment (needed to overrule)")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert_accessible(coordinator, "review queue with a refused decision")
    review.get_by_label("Comment (needed to overrule)").fill(
        "Bruises on a student we suspect is exploited: report it."
    )
    review.get_by_role("button", name="Record the decision").click()
    expect(coordinator.locator("#live")).to_contain_text("Overruled")
    expect(coordinator.locator("#decided-reviews")).to_contain_text(case.reference)
    assert Review.objects.get(case=case).decision == ReviewDecision.OVERRULED
    assert_accessible(coordinator, "review queue")

    # The report is due again on the case page.
    coordinator.locator("#decided-reviews").get_by_role("link", name=case.reference).click()
    expect_state(coordinator, "cws_report", "To do")
    principal.reload()
    expect_state(principal, "cws_report", "To do")
    expect(principal.locator("#reviews")).to_contain_text("Overruled")


def test_it_records_the_call_first_and_the_written_report_later(people, district, open_case):
    case = open_case("suspected_victim", sis_id="S-81", suspicion_hours_ago=3)
    counselor = people.page("counselor")
    counselor.goto(people.url(f"/cases/{case.pk}/"))
    box = unfold(counselor, "cws_report")
    call = box.locator("form.progress-form")
    call.get_by_label("Child Welfare Services (CWS)").check()
    call.get_by_label("When the report was phoned in").fill(local(60))
    call.get_by_role("button", name="Record the call").click()
    expect_state(counselor, "cws_report", "In progress")
    expect(step(counselor, "cws_report").locator(".progress-line")).to_contain_text(
        "written report due"
    )
    expect(counselor.locator(".clock")).to_contain_text("Phoned in")
    assert_accessible(counselor, "case page with the call recorded")

    # Finishing asks only for what is still missing.
    box = unfold(counselor, "cws_report")
    done = box.locator("form.done-form")
    expect(done.get_by_label("When the report was phoned in")).to_have_count(0)
    done.get_by_label("When the written SS 8572 was sent").fill(local(5))
    done.get_by_role("button", name="Record B2 as done").click()
    expect_state(counselor, "cws_report", "Done")
    expect(counselor.locator(".clock")).to_contain_text("Done")
