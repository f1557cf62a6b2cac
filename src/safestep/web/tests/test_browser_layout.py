"""The layout on a school Chromebook (1366 by 768) and on a phone (390 by 844).

Every page each role uses fits the screen's width (nothing scrolls sideways but the
flowchart, inside its own box); on a phone the header is one compact line whose navigation
folds behind a menu button; and the case page has a step navigator, with finished steps
folded away. With ``SAFESTEP_SCREENSHOTS=docs/screenshots`` the walk also writes the phone
screenshots and the dashboard's (``scripts/screenshots``).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from safestep.cases import services
from safestep.testing import ago, complete
from safestep.web.tests.browser import DESKTOP, PHONE, assert_accessible, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The header of a phone takes at most this much of its height.
PHONE_HEADER_HEIGHT = 64
# A word no screen is wide enough for: identifiers and addresses pasted into notes.
UNBROKEN = "https://example.org/reports/" + "x" * 90


def a_case_with_many_steps(district: Any, open_case: Any) -> Any:
    """A confirmed-victim case half-way: steps done, one that does not apply, one phoned in
    and overdue, the rest to do."""
    case = open_case("confirmed_victim", sis_id="100034", suspicion_hours_ago=40)
    complete(
        district,
        case,
        "police_involved",
        {"agency": "school_police", "officer": "Ofc. Diaz"},
        by="school_police",
        hours_ago=38,
    )
    complete(
        district,
        case,
        "campus_impact",
        {"findings": "No other students found.", "other_students_involved": False},
        hours_ago=30,
    )
    case.refresh_from_db()
    services.step_mark_not_applicable(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="parent_contact",
        reason="The student says her stepfather arranges the meetings.",
        details={"victim_consulted": True},
        expected_version=case.version,
    )
    case.refresh_from_db()
    services.step_progress(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="cws_report",
        details={"agency": "cws", "phoned_at": ago(hours=37).isoformat()},
        expected_version=case.version,
    )
    services.note_add(
        acting_user=district["counselor"],
        case_id=case.pk,
        text=f"The student showed a link to a 'modelling' site: {UNBROKEN}",
    )
    case.refresh_from_db()
    return case


def a_busy_district(district: Any, open_case: Any) -> dict[str, Any]:
    """Something on every page: cases, a concern waiting for triage, a review, an audit trail."""
    case = a_case_with_many_steps(district, open_case)
    suspected = open_case("suspected_victim", sis_id="100023", suspicion_hours_ago=20)
    waiting = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="100045", first_name="Maya", last_name="Reyes")],
        observed_at=ago(hours=3),
        description=f"Picked up after school by an older man she calls her boyfriend. {UNBROKEN}",
        indicators=["older_partner", "unexplained_possessions"],
        own_report={"agency": "cws", "phoned_at": ago(hours=2).isoformat()},
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
    return {"case": case, "suspected": suspected, "waiting": waiting, "dismissed": dismissed}


def pages_of(busy: dict[str, Any]) -> dict[str, list[str]]:
    """The pages each role uses, besides those its header links to."""
    case, suspected = busy["case"].pk, busy["suspected"].pk
    waiting, dismissed = busy["waiting"].pk, busy["dismissed"].pk
    case_pages = [f"/cases/{case}/", f"/cases/{suspected}/", f"/cases/{case}/protocol/"]
    return {
        "reporter": ["/", "/concerns/new/", f"/concerns/{waiting}/", f"/concerns/{dismissed}/"],
        "site_admin": ["/", "/triage/", "/cases/?status=all", f"/concerns/{waiting}/", *case_pages],
        "counselor": ["/", "/cases/", *case_pages],
        "school_police": ["/", "/cases/", *case_pages],
        "placement_office": ["/", f"/cases/{case}/"],
        "district_coordinator": [
            "/",
            "/reviews/",
            "/triage/",
            f"/concerns/{dismissed}/",
            *case_pages,
        ],
        "auditor": ["/", "/protocol/"],
    }


# Pages pictured on a phone for the documentation (scripts/screenshots).
PHONE_SNAPS = {
    ("site_admin", "/"): "home-phone",
    ("site_admin", "/concerns/new/"): "concern-phone",
    ("site_admin", "/triage/"): "triage-phone",
    ("district_coordinator", "/reviews/"): "reviews-phone",
}


def header_links(page: Any) -> list[str]:
    """Every page the header links to (the navigation and the account's pages)."""
    hrefs = page.eval_on_selector_all("header a[href]", "links => links.map(a => a.pathname)")
    return [href for href in hrefs if href != "/"]


# The elements sticking out past the right edge, to say what to fix.
WIDEST = """() => {
  const width = window.innerWidth;
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1
      && !el.closest('.flowchart-scroll, .visually-hidden'))
    .slice(0, 4)
    .map(el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
      + ' (' + Math.round(el.getBoundingClientRect().right) + ' px)');
}"""


def scroll_width(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_it_never_scrolls_sideways(people, district, open_case):
    busy = a_busy_district(district, open_case)
    too_wide = []
    for username, paths in pages_of(busy).items():
        person = people.page(username)
        visits = list(dict.fromkeys(paths + header_links(person)))
        for viewport in (DESKTOP, PHONE):
            person.set_viewport_size(viewport)
            for path in visits:
                answer = person.goto(people.url(path))
                assert answer is not None and answer.status == 200, f"{username} at {path}"
                person.wait_for_load_state("load")
                width, screen = scroll_width(person)
                if viewport == PHONE and (username, path) in PHONE_SNAPS:
                    snap(person, PHONE_SNAPS[(username, path)])
                if width > screen:
                    sticking_out = person.evaluate(WIDEST)
                    too_wide.append(f"{username} {path} at {screen}: {width} px {sticking_out}")
        person.set_viewport_size(DESKTOP)
    assert not too_wide, "pages wider than the screen:\n" + "\n".join(too_wide)


def test_the_dashboard_and_audit_trail_fit_and_are_pictured(people, district, open_case):
    a_busy_district(district, open_case)
    coordinator = people.page("district_coordinator")
    for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        coordinator.set_viewport_size(viewport)
        for path, name in (("/dashboard/", "dashboard"), ("/audit/", "audit")):
            coordinator.goto(people.url(path))
            coordinator.wait_for_load_state("load")
            width, screen = scroll_width(coordinator)
            assert width <= screen, f"{path} is {width} px wide at {screen}"
            if name == "dashboard":
                # The charts shrink with the screen; their numbers stay one click away.
                for chart in coordinator.locator("canvas[data-chart]").all():
                    assert chart.bounding_box()["width"] <= screen
            snap(
                coordinator,
                f"{name}{suffix}",
                full_page=viewport == DESKTOP and name == "dashboard",
            )


def test_the_menu_button_opens_the_navigation_on_a_phone(people, district):
    phone = people.page("district_coordinator", viewport=PHONE)
    header = phone.locator("header.top")
    assert header.bounding_box()["height"] <= PHONE_HEADER_HEIGHT
    menu = phone.get_by_role("button", name="Menu")
    navigation = phone.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(navigation.get_by_role("link", name="Cases")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("link", name="Cases")).to_be_visible()
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()
    assert_accessible(phone, "the phone's menu, open")
    snap(phone, "menu-phone")
    navigation.get_by_role("link", name="Cases").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cases")
    # A new page starts with the menu folded; Escape folds it too.
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    phone.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    # On a wide screen there is no menu button: the navigation is always there.
    phone.set_viewport_size(DESKTOP)
    expect(menu).to_be_hidden()
    expect(navigation.get_by_role("link", name="Cases")).to_be_visible()


def test_without_javascript_the_navigation_stays_on_a_phone(people, district):
    phone = people.page("site_admin", viewport=PHONE, javascript=False)
    expect(phone.get_by_role("button", name="Menu")).to_have_count(0)
    expect(
        phone.get_by_role("navigation", name="Main").get_by_role("link", name="Cases")
    ).to_be_visible()
    assert scroll_width(phone)[0] <= PHONE["width"]


def test_the_case_page_has_a_step_navigator(people, district, open_case):
    case = a_busy_district(district, open_case)["case"]
    principal = people.page("site_admin")
    principal.goto(people.url(f"/cases/{case.pk}/"))
    navigator = principal.get_by_role("navigation", name="Steps of this case")
    # Each step with its state, in words.
    expect(navigator.get_by_role("link")).to_have_count(8)
    expect(navigator).to_contain_text("3 of 8 finished")
    expect(navigator.get_by_role("link", name="C1", exact=False)).to_contain_text("Done")
    expect(navigator.get_by_role("link", name="C2", exact=False)).to_contain_text("In progress")
    expect(navigator.get_by_role("link", name="C2", exact=False)).to_contain_text("Overdue")
    expect(navigator.get_by_role("link", name="C6", exact=False)).to_contain_text("Does not apply")
    # Beside the steps on a wide screen, and it stays in view while the steps scroll by.
    beside = navigator.bounding_box()
    steps = principal.locator("ol.steps").bounding_box()
    assert beside["x"] + beside["width"] <= steps["x"] or beside["x"] >= steps["x"] + steps["width"]
    principal.locator("#step-placement_review").scroll_into_view_if_needed()
    expect(navigator).to_be_in_viewport()
    # Finished steps are folded; the link to one shows it.
    done = principal.locator("#step-police_involved")
    expect(done.locator("details.step-fold")).not_to_have_attribute("open", "")
    expect(done.get_by_text("Ofc. Diaz")).to_be_hidden()
    # The printed summary shows every step with its record, and no navigator.
    principal.emulate_media(media="print")
    expect(done.get_by_text("Ofc. Diaz")).to_be_visible()
    expect(navigator).to_be_hidden()
    principal.emulate_media(media="screen")
    navigator.get_by_role("link", name="C1", exact=False).click()
    expect(principal).to_have_url(f"{people.url(f'/cases/{case.pk}/')}#step-police_involved")
    done.get_by_text("What was recorded", exact=False).click()
    expect(done.get_by_text("Ofc. Diaz")).to_be_visible()

    # On a phone: a short folded list at the top, opened on request.
    phone = people.page("site_admin", viewport=PHONE)
    phone.goto(people.url(f"/cases/{case.pk}/"))
    navigator = phone.get_by_role("navigation", name="Steps of this case")
    link = navigator.get_by_role("link", name="C7", exact=False)
    expect(link).to_be_hidden()
    button = navigator.get_by_role("button", name="Steps of this case")
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect(link).to_be_visible()
    assert_accessible(phone, "case page on a phone, steps listed")
    link.click()
    expect(phone.locator("#step-placement_review")).to_be_in_viewport()
    expect(button).to_have_attribute("aria-expanded", "false")
    assert scroll_width(phone)[0] <= PHONE["width"]
    snap_case_phone(phone, people, case)


def snap_case_phone(phone: Any, people: Any, case: Any) -> None:
    """The documentation's picture: the steps listed, the finished ones folded below."""
    phone.goto(people.url(f"/cases/{case.pk}/"))
    navigator = phone.get_by_role("navigation", name="Steps of this case")
    navigator.evaluate("element => element.scrollIntoView()")
    navigator.get_by_role("button").click()
    snap(phone, "case-phone")


def test_a_finished_step_opens_when_its_reopen_form_is_refused(people, district, open_case):
    case = a_busy_district(district, open_case)["case"]
    principal = people.page("site_admin", viewport=PHONE)
    principal.goto(people.url(f"/cases/{case.pk}/"))
    step = principal.locator("#step-police_involved")
    step.get_by_text("What was recorded", exact=False).click()
    step.locator("summary", has_text="Reopen C1").click()
    step.get_by_role("button", name="Reopen C1").click()
    expect(step.get_by_role("alert")).to_contain_text("required")
    expect(step.locator("details.step-fold")).to_have_attribute("open", "")
    assert_accessible(principal, "a refused reopen form on a phone")
