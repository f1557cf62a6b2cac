"""axe-core on every page, as the people who use it.

With ``SAFESTEP_SCREENSHOTS=docs/screenshots`` the same walk also writes the screenshots
the documentation shows (``scripts/screenshots``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from safestep.cases import services
from safestep.testing import ago
from safestep.web.tests.browser import assert_accessible, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_case_under_way(district, open_case):
    """A suspected-victim case with police involved, facts answered and a note."""
    case = open_case("suspected_victim", sis_id="100023", suspicion_hours_ago=20)
    case = services.step_complete(
        acting_user=district["school_police"],
        case_id=case.pk,
        step_id="police_involved",
        occurred_at=ago(hours=18),
        details={"agency": "school_police", "officer": "Ofc. Diaz"},
        expected_version=case.version,
    )
    case = services.case_facts_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": True},
        expected_version=case.version,
    )
    # The counselor phoned CWS; the written report is still to be sent.
    case = services.step_progress(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="cws_report",
        details={"agency": "cws", "phoned_at": ago(hours=17).isoformat()},
        expected_version=case.version,
    )
    services.note_add(
        acting_user=district["counselor"],
        case_id=case.pk,
        text="Student asked to meet in the counseling office, not in class.",
    )
    return case


def test_every_page_has_no_serious_accessibility_violation(people, district, open_case):
    case = a_case_under_way(district, open_case)
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="100045", first_name="Maya", last_name="Reyes")],
        observed_at=ago(hours=3),
        description="Picked up after school by an older man she calls her boyfriend.",
        indicators=["older_partner", "unexplained_possessions"],
        own_report={"agency": "cws", "phoned_at": ago(hours=2).isoformat()},
        withhold_identity=True,
    )
    dismissed = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="100046", first_name="Leo", last_name="Park")],
        observed_at=ago(hours=30),
        description="Has a new phone and says an older friend pays for things.",
        indicators=["unexplained_possessions"],
    )
    services.concern_dismiss(
        acting_user=district["site_admin"],
        concern_id=dismissed.pk,
        reason="The older friend is his cousin; the school counselor checked.",
    )

    visitor = people.page(None)
    visitor.goto(people.url("/signin/"))
    assert_accessible(visitor, "sign-in page")

    principal = people.page("site_admin")
    assert_accessible(principal, "site administrator's home")
    snap(principal, "home")
    principal.goto(people.url("/concerns/new/"))
    assert_accessible(principal, "concern form")
    principal.get_by_label("Find a student").fill("Reyes")
    principal.get_by_role("button", name="Find").click()
    expect(principal.get_by_label("Reyes, Maya", exact=False)).to_be_visible()
    assert_accessible(principal, "concern form with students found")
    snap(principal, "concern", full_page=True)
    principal.goto(people.url("/triage/"))
    assert_accessible(principal, "triage queue")
    snap(principal, "triage", full_page=True)
    principal.goto(people.url("/cases/"))
    assert_accessible(principal, "case list")
    principal.goto(people.url(f"/cases/{case.pk}/"))
    assert_accessible(principal, "case page")
    principal.set_viewport_size({"width": 1366, "height": 1100})
    snap(principal, "case")
    principal.set_viewport_size({"width": 1366, "height": 768})
    snap(principal, "case-full", full_page=True)
    # A refused form: the problems are announced and tied to their fields.
    box = principal.locator("#step-cws_report")
    box.get_by_role("button", name="Record B2 as done").click()
    expect(box.get_by_role("alert")).to_contain_text("required")
    assert_accessible(principal, "case page with a refused form")
    principal.goto(people.url(f"/cases/{case.pk}/protocol/"))
    assert_accessible(principal, "case on the protocol flowchart")
    snap(principal, "case-protocol", full_page=True)
    principal.goto(people.url("/protocol/"))
    assert_accessible(principal, "protocol page")
    snap(principal, "protocol", full_page=True)

    for username in ("counselor", "school_police", "placement_office"):
        person = people.page(username)
        assert_accessible(person, f"{username}'s home")
        person.goto(people.url(f"/cases/{case.pk}/"))
        assert_accessible(person, f"case page as {username}")
    snap(people.page("counselor"), "case-counselor")

    for username in ("district_coordinator", "auditor", "reporter"):
        person = people.page(username)
        assert_accessible(person, f"{username}'s home")
    snap(people.page("reporter"), "home-reporter")
    coordinator = people.page("district_coordinator")
    coordinator.goto(people.url("/reviews/"))
    expect(coordinator.locator("article.review")).to_have_count(1)
    assert_accessible(coordinator, "review queue")
    snap(coordinator, "reviews", full_page=True)
    coordinator.goto(people.url(f"/concerns/{dismissed.pk}/"))
    assert_accessible(coordinator, "a concern as the district coordinator reads it")
    teacher = people.page("reporter")
    teacher.goto(people.url(f"/concerns/{concern.pk}/"))
    assert_accessible(teacher, "reporter's concern page")
    snap(teacher, "concern-reporter", full_page=True)
    teacher.goto(people.url(f"/concerns/{dismissed.pk}/"))
    expect(teacher.locator("#duty")).to_contain_text("Your own duty to report stands")
    assert_accessible(teacher, "reporter's dismissed concern")
    teacher.locator("#own-report form").get_by_role("button", name="Save your report").click()
    expect(teacher.get_by_role("alert")).to_contain_text("required")
    assert_accessible(teacher, "reporter's own report refused")
    people.page("reporter").goto(people.url("/concerns/new/"))
    assert_accessible(people.page("reporter"), "reporter's concern form")
    people.page("reporter").goto(people.url(f"/cases/{case.pk}/"))
    assert_accessible(people.page("reporter"), "not-found page")
