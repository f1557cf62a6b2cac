"""Two people on one case at once, in two real browsers: what one saves does not refuse what
the other saves, unless both change the same thing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from safestep.cases import services
from safestep.cases.models import CheckIn, StepRecord
from safestep.web.tests.test_browser_journeys import expect_state, open_case_page, unfold

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_saves_a_step_and_a_check_in_made_from_the_same_page_version(
    people, district, open_case
):
    case = open_case("suspected_victim", sis_id="S-95")
    services.checkin_plan_set(
        acting_user=district["counselor"],
        case_id=case.pk,
        every_days=7,
        assignee="counselor",
        expected_version=case.version,
    )
    principal = people.page("site_admin")
    counselor = people.page("counselor")
    coordinator = people.page("district_coordinator")
    # All three read the case at the same version.
    for page in (principal, counselor, coordinator):
        open_case_page(page, people, case)

    box = unfold(principal, "campus_impact")
    box.get_by_label("Findings").fill("No sign of recruiting on campus.")
    box.get_by_role("group", name=re.compile("Are other students involved")).get_by_label(
        "No"
    ).check()
    box.get_by_role("button", name=re.compile("Record B3 as done")).click()
    expect_state(principal, "campus_impact", "Done")

    # The counselor's page still holds the older version: the check-in is saved anyway.
    checkins = counselor.locator("#check-ins")
    checkins.get_by_label("Phone").check()
    checkins.get_by_label("Notes").fill("Doing better; attends every day.")
    checkins.get_by_role("button", name="Record the check-in").click()
    expect(counselor.locator("#check-ins")).to_contain_text("Doing better")
    assert CheckIn.objects.filter(case=case).count() == 1

    # The same step from the coordinator's old page is refused; nothing is recorded twice.
    box = unfold(coordinator, "campus_impact")
    box.get_by_label("Findings").fill("Written twice.")
    box.get_by_role("group", name=re.compile("Are other students involved")).get_by_label(
        "No"
    ).check()
    box.get_by_role("button", name=re.compile("Record B3 as done")).click()
    expect(coordinator.locator("main")).to_contain_text(re.compile("changed since|already"))
    assert StepRecord.objects.filter(case=case, step_id="campus_impact").count() == 1
