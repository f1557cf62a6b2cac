"""GET /api/v1/stats and its CSV: counts checked against ones worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from safestep.audit.models import Event
from safestep.cases import services
from safestep.reports.periods import local_today

# Cases opened this month, by school and pathway. By hand, for the whole lattice:
#
#              recruitment  suspected  confirmed | school
#   LIN             0           12         13    |   25
#   ROO             0           14          2    |   16
#   ---------------------------------------------+-------
#   pathway         0           26         15    |   41
#
# Under 11: LIN/recruitment, ROO/recruitment, ROO/confirmed and the recruitment total.
# Row LIN (total 25 published) holds one small cell: hide its smallest other, LIN/suspected.
# Row ROO: its hidden cells add up to 2, too little; hide ROO/suspected (14).
# Column confirmed (total 15) holds one hidden cell: hide LIN/confirmed (13).
# By pathway, the recruitment total (0) is alone under a published grand total: hide the
# smallest other, confirmed (15). School totals (25, 16) and the grand total (41) stay.
PLAN = {
    ("LIN", "suspected_victim"): 12,
    ("LIN", "confirmed_victim"): 13,
    ("ROO", "suspected_victim"): 14,
    ("ROO", "confirmed_victim"): 2,
}


@pytest.fixture
def opened_cases(district):
    admins = {"LIN": district["site_admin"], "ROO": district["outsider_admin"]}
    number = 0
    for (school, pathway), count in PLAN.items():
        for _ in range(count):
            number += 1
            services.case_open(
                acting_user=admins[school],
                pathway=pathway,
                suspicion_formed_at=timezone.now() - timedelta(hours=1),
                summary="",
                school_code=school,
                student=services.StudentInput(
                    sis_id=f"S-{number}", first_name="Test", last_name=f"Student{number}"
                ),
            )
    month = f"{local_today(timezone.now()):%Y-%m}"
    return month


def stats(client, **params):
    answer = client.get("/api/v1/stats", params)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_it_publishes_only_what_cannot_identify_a_child(api_as, opened_cases):
    client = api_as("district_coordinator")
    month = opened_cases
    by_school_pathway = stats(client, **{"from": month, "to": month, "by": "school,pathway"})
    assert by_school_pathway["suppressed_below"] == 11
    assert by_school_pathway["rows"] == [
        {"school": school, "pathway": pathway, "cases": None, "suppressed": True}
        for school in ("LIN", "ROO")
        for pathway in ("recruitment_by_student", "suspected_victim", "confirmed_victim")
    ]
    assert stats(client, **{"from": month, "to": month, "by": "school"})["rows"] == [
        {"school": "LIN", "cases": 25, "suppressed": False},
        {"school": "ROO", "cases": 16, "suppressed": False},
    ]
    assert stats(client, **{"from": month, "to": month, "by": "pathway"})["rows"] == [
        {"pathway": "recruitment_by_student", "cases": None, "suppressed": True},
        {"pathway": "suspected_victim", "cases": 26, "suppressed": False},
        {"pathway": "confirmed_victim", "cases": None, "suppressed": True},
    ]
    total = stats(client, **{"from": month, "to": month})
    assert total["rows"] == [{"cases": 41, "suppressed": False}]
    first_day = f"{month}-01"
    assert total["from"] == first_day
    assert total["to"].startswith(month)


def test_it_lists_every_month_of_the_period_even_without_cases(api_as, opened_cases):
    this_month = local_today(timezone.now()).replace(day=1)
    earlier = (this_month - timedelta(days=1)).replace(day=1)
    body = stats(
        api_as("auditor"), **{"from": f"{earlier:%Y-%m}", "to": opened_cases, "by": "month"}
    )
    assert body["rows"] == [
        # the empty month is hidden, so it cannot be subtracted from the total either
        {"month": f"{earlier:%Y-%m}", "cases": None, "suppressed": True},
        {"month": opened_cases, "cases": None, "suppressed": True},
    ]


def test_it_offers_the_same_figures_as_csv(api_as, opened_cases):
    month = opened_cases
    answer = api_as("auditor").get(
        "/api/v1/stats.csv", {"from": month, "to": month, "by": "school"}
    )
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows == [
        ["school", "cases", "suppressed"],
        ["LIN", "25", "false"],
        ["ROO", "16", "false"],
    ]
    hidden = api_as("auditor").get(
        "/api/v1/stats.csv", {"from": month, "to": month, "by": "pathway"}
    )
    assert list(csv.reader(io.StringIO(hidden.content.decode())))[1] == [
        "recruitment_by_student",
        "",
        "true",
    ]


def test_it_records_every_export_in_the_audit_trail(api_as, opened_cases):
    api_as("auditor").get("/api/v1/stats", {"by": "school"})
    api_as("district_coordinator").get("/api/v1/stats.csv", {"by": "pathway,month"})
    events = list(Event.objects.filter(action="stats.export").order_by("seq"))
    assert [(e.actor_username, e.payload["format"], e.payload["by"]) for e in events] == [
        ("auditor", "json", ["school"]),
        ("district_coordinator", "csv", ["pathway", "month"]),
    ]


@pytest.mark.parametrize("username", ["site_admin", "counselor", "school_police", "reporter"])
def test_it_refuses_roles_without_statistics(api_as, district, username):
    answer = api_as(username).get("/api/v1/stats")
    assert answer.status_code == 403
    assert api_as(username).get("/api/v1/stats.csv").status_code == 403
    assert not Event.objects.filter(action="stats.export").exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "school,colour"}, "by"),
        ({"from": "2026-03-15"}, "from"),
        ({"to": "2026-03-15"}, "to"),
        ({"from": "March"}, "from"),
        ({"from": "2026-05", "to": "2026-04"}, "to"),
        ({"from": "2000-01", "to": "2026-04"}, "to"),
    ],
)
def test_it_names_the_bad_parameter(api_as, district, params, field):
    answer = api_as("auditor").get("/api/v1/stats", params)
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert field in answer.json()["errors"]


def test_it_asks_for_a_sign_in(client, district):
    assert client.get("/api/v1/stats").status_code == 401
