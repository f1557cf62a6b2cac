"""In a real Chromium, checked with axe-core: the SS 8572 reached by a button, a second click
before a case moves pathway (with and without JavaScript), and the audit page's filters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from safestep.cases import services
from safestep.cases.models import Case
from safestep.testing import ago, complete
from safestep.web.tests.browser import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def worked_case(district, open_case) -> Case:
    """A suspected victim's case with B1, B2 and B3 done."""
    case = open_case("suspected_victim", sis_id="S-90")
    complete(district, case, "police_involved", {"agency": "school_police"}, by="school_police")
    case.refresh_from_db()
    services.case_facts_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": True},
        expected_version=case.version,
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
    case.refresh_from_db()
    return case


def test_it_downloads_the_ss_8572_from_the_report_steps_button(people, district, open_case):
    case = open_case("suspected_victim", sis_id="S-91")
    counselor = people.page("counselor")
    counselor.goto(people.url(f"/cases/{case.pk}/"))
    report_step = counselor.locator("#step-cws_report")
    button = report_step.get_by_role("link", name="Download the SS 8572 (pre-filled)")
    expect(button).to_be_visible()
    expect(
        counselor.locator("#top").get_by_role("link", name=re.compile("SS 8572"))
    ).to_be_visible()
    assert_accessible(counselor, "case page with the SS 8572 buttons")
    with counselor.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert download.suggested_filename == f"SS8572-{case.reference}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    # A pathway that makes no report: the address answers with a page that says why.
    recruiter = open_case("recruitment_by_student", sis_id="S-92")
    principal = people.page("site_admin")
    principal.goto(people.url(f"/cases/{recruiter.pk}/ss8572.pdf"))
    expect(principal.get_by_role("heading", level=1)).to_contain_text(
        f"The SS 8572 cannot be printed for {recruiter.reference}"
    )
    expect(principal.locator("main")).to_contain_text("makes no report to Child Welfare Services")
    assert_accessible(principal, "the SS 8572 refused")
    principal.get_by_role("link", name=f"Back to case {recruiter.reference}").click()
    expect(principal.get_by_role("heading", level=1)).to_contain_text(recruiter.reference)


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-javascript"])
def test_it_moves_a_case_only_after_the_second_click(people, district, open_case, javascript):
    case = worked_case(district, open_case)
    principal = people.page("site_admin", javascript=javascript)
    principal.goto(people.url(f"/cases/{case.pk}/"))
    escalation = principal.locator("#escalate")
    escalation.get_by_label(re.compile("C · Confirmed victim")).check()
    escalation.get_by_label(re.compile("Why")).fill("SDPD confirmed she was trafficked.")
    escalation.get_by_role("button", name="Move the case").click()

    confirm = principal.locator("#escalate-confirm")
    expect(confirm).to_contain_text("B1, B2 and B3 are kept; C4 and C7 are added.")
    expect(confirm).to_contain_text("Your reason: SDPD confirmed she was trafficked.")
    if javascript:
        # axe runs in the page's own scripts: checked where they run (the same markup).
        expect(confirm).to_be_focused()
        assert_accessible(principal, "escalation waiting for its confirmation")
    case.refresh_from_db()
    assert case.pathway == "suspected_victim"
    expect(principal.locator(".case-header")).to_contain_text("B · Suspected victim")

    confirm.get_by_role("button", name="Yes, move the case to C").click()
    expect(principal.locator(".case-header")).to_contain_text("C · Confirmed victim of CSEC")
    expect(principal.locator("#escalate-confirm")).to_have_count(0)
    if javascript:
        assert_accessible(principal, "escalated case")
    case.refresh_from_db()
    assert case.pathway == "confirmed_victim"


def test_it_filters_the_audit_trail_by_case_reference(people, district, open_case):
    first = open_case(sis_id="S-93")
    second = open_case(sis_id="S-94")
    coordinator = people.page("district_coordinator")
    coordinator.goto(people.url("/audit/"))
    coordinator.get_by_label("Case reference").fill(second.reference)
    coordinator.get_by_role("button", name="Filter").click()
    table = coordinator.locator("table tbody")
    expect(table).to_contain_text(second.reference)
    expect(table).not_to_contain_text(first.reference)
    expect(table).to_contain_text("Opened the case on pathway")
    assert_accessible(coordinator, "audit trail filtered by case")

    coordinator.get_by_label("Case reference").fill("the Lopez case")
    coordinator.get_by_role("button", name="Filter").click()
    expect(coordinator.locator("#f-case-error")).to_have_text(
        "Give a case reference such as CSEC-2026-0001."
    )
    expect(coordinator.locator("#f-case")).to_have_attribute("aria-invalid", "true")
    assert_accessible(coordinator, "audit trail with a bad filter")
