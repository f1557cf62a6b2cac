"""The people on a case in a real browser, down to the SS 8572 they fill in; and the pages of
one incident with several students, a voided case and a transfer, checked with axe-core."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from safestep.cases import services
from safestep.cases.models import Case, CasePerson
from safestep.cases.people import case_person_add
from safestep.testing import ago
from safestep.web.tests.browser import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_person(page, **fields: str) -> None:
    """Fill in and send the case page's "Add a person" form."""
    adding = page.locator("#person-add")
    if adding.get_attribute("open") is None:
        adding.locator("summary").click()
    form = adding.locator("form")
    form.get_by_label("Role in the case").select_option(fields.pop("role"))
    for label, value in fields.items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Add the person").click()


def test_it_adds_a_suspect_and_a_parent_and_puts_them_on_the_ss_8572(people, district, open_case):
    case = open_case("suspected_victim", sis_id="S-80")
    principal = people.page("site_admin")
    principal.goto(people.url(f"/cases/{case.pk}/"))
    section = principal.locator("#people")
    expect(section).to_contain_text("No one is recorded on this case yet.")

    # A suspect nobody can name: a description is enough.
    add_person(
        principal,
        role="suspect",
        Description="Man in his 30s with a grey sedan; the students call him Rico.",
    )
    expect(principal.locator("#live")).to_contain_text("The person is added to the case.")
    expect(section).to_contain_text("Man in his 30s with a grey sedan")
    expect(section).to_contain_text("Do not contact")

    # Forgetting both the name and the description is caught next to the name.
    add_person(principal, role="parent", Phone="619-555-0142")
    expect(principal.locator("#person-add").get_by_role("alert")).to_contain_text("Name")
    expect(principal.locator("#person-new-name")).to_have_attribute("aria-invalid", "true")
    assert_accessible(principal, "case page with a refused person")

    add_person(
        principal,
        role="parent",
        Name="Maria Lopez",
        **{"Relationship to the student": "Mother"},
    )
    expect(principal.locator("#live")).to_contain_text("The person is added to the case.")
    expect(section.locator("ul.people > li")).to_have_count(2)
    expect(section).to_contain_text("Maria Lopez")
    expect(section).to_contain_text("Mother")
    assert_accessible(principal, "case page with people")
    assert CasePerson.objects.filter(case=case).count() == 2

    # The SS 8572 lists them: the parent by name.
    with principal.expect_download() as download_info:
        principal.locator("#top").get_by_role(
            "link", name="Download the SS 8572 (pre-filled)"
        ).click()
    download = download_info.value
    path = Path(download.path())
    assert path.read_bytes().startswith(b"%PDF")
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    assert "Maria Lopez" in text


def test_it_keeps_the_new_pages_accessible(people, district, open_case):
    # One incident, two students, one name typed otherwise than the school's record.
    open_case("suspected_victim", sis_id="S-81")
    services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[
            services.StudentInput(sis_id="S-82", first_name="Bea", last_name="Ruiz"),
            services.StudentInput(sis_id="S-81", first_name="Anna", last_name="Lopes"),
        ],
        observed_at=ago(hours=3),
        description="Both got into an older man's car after school.",
        indicators=["older_partner"],
    )
    principal = people.page("site_admin")
    principal.goto(people.url("/triage/"))
    expect(principal.get_by_role("button", name="Open a case for this student")).to_have_count(2)
    principal.get_by_text("Add to an open case instead").click()
    assert_accessible(principal, "triage queue with several students")

    # The concern form: the second student waits behind a button until asked for.
    teacher = people.page("reporter")
    teacher.goto(people.url("/concerns/new/"))
    expect(teacher.locator("#student-2")).to_be_hidden()
    teacher.get_by_role("button", name="Add another student").click()
    expect(teacher.locator("#student-2")).to_be_visible()
    expect(teacher.get_by_label("Second student's SIS id")).to_be_focused()
    assert_accessible(teacher, "concern form with a second student")

    # A confirmed victim whose placement review decided a transfer, with people and details.
    case = open_case("confirmed_victim", sis_id="S-83")
    case = services.checkin_plan_set(
        acting_user=district["counselor"],
        case_id=case.pk,
        every_days=7,
        assignee="counselor",
        expected_version=case.version,
    )
    case_person_add(
        acting_user=district["site_admin"],
        case_id=case.pk,
        values={"role": "guardian", "name": "Rosa Diaz", "may_be_involved": True},
        expected_version=case.version,
    )
    case = Case.objects.get(pk=case.pk)
    case = services.step_complete(
        acting_user=district["placement_office"],
        case_id=case.pk,
        step_id="placement_review",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={"decision": "transfer", "reason": "Away from the recruiter.", "new_school": "ROO"},
        expected_version=case.version,
    )
    coordinator = people.page("district_coordinator")
    coordinator.goto(people.url(f"/cases/{case.pk}/"))
    expect(coordinator.locator("#people")).to_contain_text("May be involved in the exploitation")
    coordinator.locator("#student-details summary").click()
    coordinator.locator("#people li details summary").first.click()
    assert_accessible(coordinator, "case page with every form open")
    transfer = coordinator.locator("#transfer")
    expect(transfer).to_contain_text("decided a transfer to ROO")
    transfer.get_by_role("button", name="Move the case to the new school").click()
    transfer.get_by_role("button", name="Yes, move the case to Roosevelt Middle School").click()
    expect(coordinator.locator(".case-header")).to_contain_text("Roosevelt Middle School")
    expect(coordinator.locator("#transfer")).to_have_count(0)
    expect(coordinator.locator("#keeper-away")).to_contain_text(
        "Reassign the check-ins to someone at Roosevelt Middle School."
    )
    assert_accessible(coordinator, "transferred case whose check-ins need a new keeper")

    # A voided case says so, and offers nothing to record.
    coordinator.locator("#void summary").click()
    coordinator.get_by_label(re.compile("opened in error")).fill("Opened for the wrong student.")
    coordinator.get_by_role("button", name="Void the case").click()
    coordinator.get_by_role("button", name="Yes, void the case").click()
    expect(coordinator.locator("#voided")).to_contain_text("Opened for the wrong student.")
    expect(coordinator.locator("#case-body form")).to_have_count(0)
    assert_accessible(coordinator, "voided case")
    people_page = people.page("placement_office")
    people_page.goto(people.url(f"/cases/{case.pk}/"))
    expect(people_page.locator("#people")).to_have_count(0)
    expect(people_page.locator("#voided")).to_be_visible()
    assert_accessible(people_page, "voided case as the placement office")
    coordinator.goto(people.url("/cases/?status=voided"))
    expect(coordinator.get_by_role("link", name=case.reference)).to_be_visible()
    assert_accessible(coordinator, "the voided cases")
