"""GET /api/v1/stats and its CSV: counts checked against ones worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from safestep.accounts.models import School
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case
from safestep.reports.periods import (
    Period,
    latest_ended_school_year,
    local_today,
    school_year,
    school_year_of,
)
from safestep.reports.rollups import rollup_case_changed

# Cases opened in March of the latest ended school year, by school and pathway. By hand,
# for the whole lattice:
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
# By month, the eleven empty months add up to 0 under the published 41: March goes too.
PLAN = {
    ("LIN", "suspected_victim"): 12,
    ("LIN", "confirmed_victim"): 13,
    ("ROO", "suspected_victim"): 14,
    ("ROO", "confirmed_victim"): 2,
}
GROUPINGS = [
    ",".join(names)
    for size in range(4)
    for names in combinations(("school", "pathway", "month"), size)
]


def latest() -> Period:
    return latest_ended_school_year(local_today(timezone.now()))


def asked(period: Period) -> dict[str, str]:
    return {"from": f"{period.first:%Y-%m}", "to": f"{period.last:%Y-%m}"}


def backdate(cases: list[Case], day) -> None:
    """Cases are opened now; statistics only cover ended school years."""
    moment = datetime.combine(day, time(12), tzinfo=ZoneInfo(settings.TIME_ZONE))
    Case.objects.filter(pk__in=[case.pk for case in cases]).update(opened_at=moment)
    # Behind the services' back: the rollup the statistics read follows, as after a service.
    for case in cases:
        rollup_case_changed(case)


@pytest.fixture
def opened_cases(district) -> Period:
    """PLAN's cases, opened on 15 March of the latest ended school year."""
    admins = {"LIN": district["site_admin"], "ROO": district["outsider_admin"]}
    opened = []
    number = 0
    for (school, pathway), count in PLAN.items():
        for _ in range(count):
            number += 1
            opened.append(
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
            )
    year = latest()
    backdate(opened, year.last.replace(month=3, day=15))
    return year


def stats(client, **params):
    answer = client.get("/api/v1/stats", params)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_it_publishes_only_what_cannot_identify_a_child(api_as, opened_cases):
    client = api_as("district_coordinator")
    year = asked(opened_cases)
    by_school_pathway = stats(client, **year, by="school,pathway")
    assert by_school_pathway["suppressed_below"] == 11
    assert by_school_pathway["rows"] == [
        {"school": school, "pathway": pathway, "cases": None, "suppressed": True}
        for school in ("LIN", "ROO")
        for pathway in ("recruitment_by_student", "suspected_victim", "confirmed_victim")
    ]
    assert stats(client, **year, by="school")["rows"] == [
        {"school": "LIN", "cases": 25, "suppressed": False},
        {"school": "ROO", "cases": 16, "suppressed": False},
    ]
    assert stats(client, **year, by="pathway")["rows"] == [
        {"pathway": "recruitment_by_student", "cases": None, "suppressed": True},
        {"pathway": "suspected_victim", "cases": 26, "suppressed": False},
        {"pathway": "confirmed_victim", "cases": None, "suppressed": True},
    ]
    total = stats(client, **year)
    assert total["rows"] == [{"cases": 41, "suppressed": False}]
    assert total["from"] == opened_cases.first.isoformat()
    assert total["to"] == opened_cases.last.isoformat()
    assert total["from"].endswith("-07-01")
    assert total["to"].endswith("-06-30")


def test_it_lists_every_month_of_the_school_year_even_without_cases(api_as, opened_cases):
    body = stats(api_as("auditor"), **asked(opened_cases), by="month")
    # The empty months are hidden; with them all hidden and adding up to 0, March (41)
    # is hidden too, or the total minus nothing would give it away.
    assert body["rows"] == [
        {"month": month, "cases": None, "suppressed": True} for month in opened_cases.months
    ]
    assert [row["month"] for row in body["rows"]][::11] == [
        f"{opened_cases.first.year}-07",
        f"{opened_cases.last.year}-06",
    ]


def test_it_answers_the_latest_ended_school_year_unless_asked(api_as, opened_cases):
    client = api_as("auditor")
    default = stats(client, by="school")
    assert (default["from"], default["to"]) == (
        opened_cases.first.isoformat(),
        opened_cases.last.isoformat(),
    )
    assert [row["cases"] for row in default["rows"]] == [25, 16]
    # Either edge alone names its school year, as a month or as a day.
    for params in (
        {"from": f"{opened_cases.first:%Y-%m}"},
        {"from": opened_cases.first.isoformat()},
        {"to": f"{opened_cases.last:%Y-%m}"},
        {"to": opened_cases.last.isoformat()},
    ):
        assert stats(client, **params, by="school") == default
    earlier = stats(client, **asked(school_year(opened_cases.first.year - 1)))
    assert earlier["rows"] == [{"cases": None, "suppressed": True}]


def test_it_lists_the_schools_there_were_by_the_years_end(api_as, opened_cases):
    # LIN and ROO were created after the year (by this test) but have cases in it. A
    # school created since, without cases, does not change a finished year's answer; one
    # that existed then is listed with its (suppressed) zero.
    School.objects.create(code="NEW", name="New Academy")
    old = School.objects.create(code="OLD", name="Old Academy")
    School.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=800))
    rows = stats(api_as("auditor"), **asked(opened_cases), by="school")["rows"]
    assert [row["school"] for row in rows] == ["LIN", "OLD", "ROO"]


def test_it_offers_the_same_figures_as_csv(api_as, opened_cases):
    year = asked(opened_cases)
    answer = api_as("auditor").get("/api/v1/stats.csv", {**year, "by": "school"})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert answer["Content-Disposition"] == (
        f'attachment; filename="safestep-stats-{year["from"]}-{year["to"]}.csv"'
    )
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows == [
        ["school", "cases", "suppressed"],
        ["LIN", "25", "false"],
        ["ROO", "16", "false"],
    ]
    hidden = api_as("auditor").get("/api/v1/stats.csv", {**year, "by": "pathway"})
    assert list(csv.reader(io.StringIO(hidden.content.decode())))[1] == [
        "recruitment_by_student",
        "",
        "true",
    ]


@pytest.mark.parametrize("by", GROUPINGS)
def test_the_csv_and_the_json_agree_for_every_grouping(api_as, opened_cases, by):
    client = api_as("auditor")
    params = {**asked(opened_cases), "by": by}
    body = stats(client, **params)
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/stats.csv", params).text)))
    assert [
        {
            **{name: row[name] for name in body["by"]},
            "cases": None if row["cases"] == "" else int(row["cases"]),
            "suppressed": row["suppressed"] == "true",
        }
        for row in rows
    ] == body["rows"]


def test_it_records_every_export_in_the_audit_trail(api_as, opened_cases):
    api_as("auditor").get("/api/v1/stats", {"by": "school"})
    api_as("district_coordinator").get("/api/v1/stats.csv", {"by": "pathway,month"})
    events = list(Event.objects.filter(action="stats.export").order_by("seq"))
    assert [
        (e.actor_username, e.payload["format"], e.payload["by"], e.payload["from"]) for e in events
    ] == [
        ("auditor", "json", ["school"], opened_cases.first.isoformat()),
        ("district_coordinator", "csv", ["pathway", "month"], opened_cases.first.isoformat()),
    ]


@pytest.mark.parametrize("username", ["site_admin", "counselor", "school_police", "reporter"])
def test_it_refuses_roles_without_statistics(api_as, district, username):
    answer = api_as(username).get("/api/v1/stats")
    assert answer.status_code == 403
    assert api_as(username).get("/api/v1/stats.csv").status_code == 403
    assert not Event.objects.filter(action="stats.export").exists()


def _this_year() -> Period:
    return school_year_of(local_today(timezone.now()))


# Each case: the parameters, given the latest ended school year's first year, and the
# fields the answer must name.
BAD_REQUESTS = {
    "unknown grouping": (lambda y: {"by": "school,colour"}, {"by"}),
    "not a month": (lambda y: {"from": "March"}, {"from"}),
    "a day inside a month": (lambda y: {"from": f"{y}-07-15"}, {"from"}),
    "not the end of a month": (lambda y: {"to": f"{y + 1}-06-15"}, {"to"}),
    # The finding: January to March next to January to February gives March away.
    "overlapping quarters": (
        lambda y: {"from": f"{y + 1}-01", "to": f"{y + 1}-03"},
        {"from", "to"},
    ),
    "a single month": (lambda y: {"from": f"{y + 1}-03", "to": f"{y + 1}-03"}, {"from", "to"}),
    "half a school year": (lambda y: {"from": f"{y}-07", "to": f"{y}-12"}, {"to"}),
    "a calendar year": (lambda y: {"from": f"{y}-01", "to": f"{y}-12"}, {"from", "to"}),
    "two school years": (lambda y: {"from": f"{y - 1}-07", "to": f"{y + 1}-06"}, {"from", "to"}),
    "edges of different years": (lambda y: {"from": f"{y}-07", "to": f"{y}-06"}, {"from", "to"}),
    "the school year under way": (lambda y: {"from": f"{y + 1}-07"}, {"from"}),
    "a school year to come": (
        lambda y: {"from": f"{y + 2}-07", "to": f"{y + 3}-06"},
        {"from", "to"},
    ),
    "the school year under way, by its end": (lambda y: {"to": f"{y + 2}-06"}, {"to"}),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_it_names_the_bad_parameter(api_as, district, name):
    make, fields = BAD_REQUESTS[name]
    first_year = latest().first.year
    for path in ("/api/v1/stats", "/api/v1/stats.csv"):
        answer = api_as("auditor").get(path, make(first_year))
        assert answer.status_code == 400, answer.content
        assert answer["Content-Type"] == "application/problem+json"
        assert set(answer.json()["errors"]) == fields
    assert not Event.objects.filter(action="stats.export").exists()


def test_a_refused_period_says_what_may_be_asked(api_as, district):
    year = latest()
    answer = api_as("auditor").get("/api/v1/stats", {"from": "2026-01", "to": "2026-03"})
    expected = f"from={year.first:%Y-%m}&to={year.last:%Y-%m}"
    for field in ("from", "to"):
        (message,) = answer.json()["errors"][field]
        assert "whole school years" in message
        assert "July to June" in message
        assert expected in message
    assert expected in answer.json()["detail"]
    under_way = api_as("auditor").get("/api/v1/stats", {"from": f"{_this_year().first:%Y-%m}"})
    (message,) = under_way.json()["errors"]["from"]
    assert "has not ended" in message
    assert expected in message


def test_it_asks_for_a_sign_in(client, district):
    assert client.get("/api/v1/stats").status_code == 401
