"""Reads: scope, police-only details, and a fixed number of queries per list."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from safestep.audit.models import Event
from safestep.cases import services


def police_entry(district, case):
    services.step_complete(
        acting_user=district["school_police"],
        case_id=case.pk,
        step_id="police_involved",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={"agency": "school_police"},
        expected_version=case.version,
    )
    case.refresh_from_db()
    services.step_complete(
        acting_user=district["school_police"],
        case_id=case.pk,
        step_id="le_trafficking_entry",
        occurred_at=timezone.now() - timedelta(minutes=30),
        details={"le_reference": "HT-SECRET-7"},
        expected_version=case.version,
    )


def test_it_withholds_police_only_details_from_everyone_but_school_police(
    api_as, district, open_case
):
    case = open_case("confirmed_victim")
    police_entry(district, case)
    for username in ("site_admin", "counselor", "district_coordinator", "placement_office"):
        body = api_as(username).get(f"/api/v1/cases/{case.pk}")
        step = next(s for s in body.json()["steps"] if s["id"] == "le_trafficking_entry")
        assert step["state"] == "done" and step["resolved_at"] is not None
        assert step["details"] is None and step["details_withheld"] is True
        assert "HT-SECRET-7" not in body.content.decode()
    police = api_as("school_police").get(f"/api/v1/cases/{case.pk}").json()
    step = next(s for s in police["steps"] if s["id"] == "le_trafficking_entry")
    assert step["details"] == {"le_reference": "HT-SECRET-7"}


def test_it_audits_every_read_of_a_case(api_as, open_case):
    case = open_case()
    api_as("counselor").get(f"/api/v1/cases/{case.pk}")
    read = Event.objects.filter(action="case.read", case_id=case.pk).get()
    assert read.actor_username == "counselor" and read.payload == {"via": "api"}


def test_it_lists_cases_with_a_fixed_number_of_queries(
    api_as, district, open_case, django_assert_max_num_queries
):
    client = api_as("district_coordinator")
    open_case(sis_id="first")
    client.get("/api/v1/cases")  # warm the per-process protocol cache
    # Token, count, the page of cases with what the list shows: within the budget of 12.
    with django_assert_max_num_queries(12) as few:
        client.get("/api/v1/cases")
    for number in range(12):
        case = open_case(sis_id=f"S-{number}")
        police_entry(district, case)
    with django_assert_max_num_queries(len(few.captured_queries)):
        answer = client.get("/api/v1/cases")
    assert answer.json()["count"] == 13


def test_it_reads_one_case_with_a_fixed_number_of_queries(
    api_as, district, open_case, django_assert_max_num_queries
):
    case = open_case("confirmed_victim")
    client = api_as("school_police")
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    with django_assert_max_num_queries(12) as short:
        assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    police_entry(district, case)
    for number in range(10):
        services.note_add(acting_user=district["school_police"], case_id=case.pk, text=f"n{number}")
    with django_assert_max_num_queries(len(short.captured_queries)):
        assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200


def test_it_reads_each_case_by_its_own_id_through_one_compiled_read(api_as, open_case):
    first, second = open_case(sis_id="S-1"), open_case(sis_id="S-2")
    client = api_as("counselor")
    # The second read reuses the SQL compiled for the first, with the other case's id.
    assert client.get(f"/api/v1/cases/{first.pk}").json()["reference"] == first.reference
    assert client.get(f"/api/v1/cases/{second.pk}").json()["reference"] == second.reference
    assert client.get(f"/api/v1/cases/{second.pk + 1000}").status_code == 404


def test_it_follows_the_readers_schools_and_role_after_the_read_is_compiled(
    api_as, district, open_case
):
    case = open_case()
    counselor = district["counselor"]
    client = api_as("counselor")
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    # Moved to another school: the same compiled read no longer finds the case.
    school = case.school
    counselor.schools.remove(school)
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 404
    counselor.schools.add(school)
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    # A role that reads no cases: the scope is compiled again, and denies.
    counselor.role = "reporter"
    counselor.save(update_fields=["role"])
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 404


def test_it_reads_a_list_as_the_same_plain_rows_however_it_is_read(district, open_case):
    from safestep.cases.selectors import ListedCase, case_list_for_user

    for number in range(3):
        open_case(sis_id=f"S-{number}")
    other = open_case(school="ROO", sis_id="R-1", by="outsider_admin")
    reader = district["site_admin"]
    listed = list(case_list_for_user(reader))
    assert [row.student_sis_id for row in listed] == ["S-2", "S-1", "S-0"]  # newest first
    assert all(isinstance(row, ListedCase) for row in listed)
    assert other.pk not in {row.pk for row in listed}  # the reader's scope still applies
    assert list(case_list_for_user(reader).iterator()) == listed
    assert list(case_list_for_user(reader)[1:3]) == listed[1:3]
    assert case_list_for_user(reader).first() == listed[0]
    first = listed[0]
    assert first.school_code == "LIN" and first.student_first_name == "Ana"
    # An open case carries its steps to do, from the rollup, in protocol order.
    assert first.status == "open" and first.open_steps
    numbers = [step.step_number for step in first.open_steps]
    assert numbers == sorted(numbers)


def test_it_pages_a_list_in_the_readers_scope_after_the_page_is_compiled(district, open_case):
    from safestep.cases.selectors import CaseListing

    case = open_case()
    counselor = district["counselor"]
    rows, count = CaseListing(counselor).page_with_count(0, 10)
    assert count == 1 and [row.pk for row in rows] == [case.pk]
    # Moved away from the case's school: the same compiled page no longer holds the case.
    counselor.schools.remove(case.school)
    assert CaseListing(counselor).page_with_count(0, 10) == ([], 0)
    counselor.schools.add(case.school)
    assert CaseListing(counselor).page_with_count(0, 10)[1] == 1
    # A role that reads no cases: the page is compiled again, and holds nothing.
    counselor.role = "reporter"
    counselor.save(update_fields=["role"])
    assert CaseListing(counselor).page_with_count(0, 10) == ([], 0)
