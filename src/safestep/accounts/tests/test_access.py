"""Who may know a case exists (``case_scope``): the same cases whether a school member's
schools are a subquery of their memberships or listed for the database's planner."""

from __future__ import annotations

from safestep.accounts.access import case_scope
from safestep.accounts.models import User
from safestep.cases.models import Case
from safestep.cases.selectors import placement_pathways
from safestep.conftest import PEOPLE


def scoped(user: User, *, schools_listed: bool) -> set[str]:
    pathways = placement_pathways()
    scope = case_scope(user, placement_pathways=pathways, schools_listed=schools_listed)
    return set(Case.objects.filter(scope).values_list("reference", flat=True))


def test_it_finds_the_same_cases_with_the_schools_listed_for_every_role(district, open_case):
    lin = open_case("suspected_victim", sis_id="S-1")
    roo = open_case("confirmed_victim", school="ROO", sis_id="S-2", by="outsider_admin")
    expected = {
        "reporter": set(),
        "site_admin": {lin.reference},
        "counselor": {lin.reference},
        "school_police": {lin.reference, roo.reference},
        "placement_office": {roo.reference},
        "district_coordinator": {lin.reference, roo.reference},
        "auditor": set(),
        "outsider_admin": {roo.reference},
        "outsider_counselor": {roo.reference},
    }
    assert set(expected) == set(PEOPLE)
    for username, references in expected.items():
        user = district[username]
        assert scoped(user, schools_listed=False) == references, username
        assert scoped(user, schools_listed=True) == references, username


def test_it_lists_every_school_of_a_member_of_several_and_none_of_a_member_of_none(
    district, open_case
):
    lin = open_case("suspected_victim", sis_id="S-1")
    roo = open_case("suspected_victim", school="ROO", sis_id="S-2", by="outsider_admin")
    both = district["site_admin"]
    both.schools.add(district.roo)
    assert scoped(both, schools_listed=True) == {lin.reference, roo.reference}
    both.schools.clear()
    assert scoped(both, schools_listed=True) == set()
    assert scoped(both, schools_listed=False) == set()
