"""`safestep roster import`: the district's OneRoster 1.1 export, as its SIS writes it.

Each test writes a small export into a temporary directory (UTF-8 with a byte order mark,
as Windows-based SIS exports often are) and imports it through the real command.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from safestep.accounts.access import roster_manages_role
from safestep.accounts.models import ApiToken, Role, School, User
from safestep.accounts.roster import SEXES
from safestep.accounts.services import user_token
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Student
from safestep.cases.people import SEX_CHOICES
from safestep.notify.selectors import checkin_keeper_away
from safestep.testing import ago

ORG_COLUMNS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier"]
ORG_COLUMNS += ["parentSourcedId"]
USER_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
ENROLLMENT_COLUMNS = ["sourcedId", "status", "dateLastModified", "classSourcedId"]
ENROLLMENT_COLUMNS += ["schoolSourcedId", "userSourcedId", "role", "primary", "beginDate"]
ENROLLMENT_COLUMNS += ["endDate"]
DEMOGRAPHIC_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
]

ORGS = [
    {"sourcedId": "org-district", "name": "Unified School District", "type": "district"},
    {
        "sourcedId": "org-lin",
        "name": "Lincoln High School",
        "type": "school",
        "identifier": "LIN",
        "parentSourcedId": "org-district",
    },
    {
        "sourcedId": "org-roo",
        "name": "Roosevelt Middle School",
        "type": "school",
        "identifier": "ROO",
        "parentSourcedId": "org-district",
    },
    {
        "sourcedId": "org-was",
        "name": "Washington Elementary",
        "type": "school",
        "identifier": "was",
        "parentSourcedId": "org-district",
    },
]


def staff_row(sourced_id, username, role="teacher", orgs="org-lin", **extra):
    first, _, last = extra.pop("name", "Tara Lee").partition(" ")
    return {
        "sourcedId": sourced_id,
        "enabledUser": "true",
        "orgSourcedIds": orgs,
        "role": role,
        "username": username,
        "givenName": first,
        "familyName": last,
        "email": f"{username}@district.example",
        "password": "never-read",
        **extra,
    }


def student_row(sourced_id, identifier, name, orgs="org-lin", grades="09", **extra):
    first, _, last = name.partition(" ")
    return {
        "sourcedId": sourced_id,
        "enabledUser": "true",
        "orgSourcedIds": orgs,
        "role": "student",
        "username": f"stu{sourced_id}",
        "givenName": first,
        "familyName": last,
        "identifier": identifier,
        "grades": grades,
        **extra,
    }


def users():
    return [
        staff_row("t-1", "tlee", name="Tara Lee"),
        staff_row("a-1", "aprincipal", role="administrator", orgs="org-roo", name="Ada Park"),
        # At the district office, teaching a class at Washington (an enrollment).
        staff_row("aide-1", "aide1", role="aide", orgs="org-district", name="Al Ide"),
        # The district fixture's counselor, in the SIS as a teacher at Roosevelt.
        staff_row("c-1", "counselor", orgs="org-roo", name="Cora Lind"),
        student_row("s-1", "100001", "Ana Lopez"),
        student_row("s-2", "", "Ben Cruz", orgs="org-roo", grades="07,08"),
        {**staff_row("p-1", "parent1", role="parent", orgs=""), "email": "not an address"},
    ]


def enrollments():
    return [
        {
            "sourcedId": "e-1",
            "classSourcedId": "class-1",
            "schoolSourcedId": "org-was",
            "userSourcedId": "aide-1",
            "role": "aide",
        },
        {
            "sourcedId": "e-2",
            "classSourcedId": "class-2",
            "schoolSourcedId": "org-lin",
            "userSourcedId": "s-1",
            "role": "student",
            "primary": "true",
        },
    ]


def demographics():
    return [
        {
            "sourcedId": "s-1",
            "birthDate": "2010-04-30",
            "sex": "female",
            "hispanicOrLatinoEthnicity": "true",
            "white": "true",
            "asian": "false",
        },
        {"sourcedId": "s-2", "birthDate": "2012-09-01", "sex": "male", "asian": "true"},
        # Staff have demographics too; an old birth date is no student's problem.
        {"sourcedId": "t-1", "birthDate": "1961-02-03", "sex": "female"},
    ]


def write_csv(path: Path, columns, rows, *, bom=True):
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8", newline="")


def write_export(
    directory: Path,
    *,
    orgs=None,
    users_rows=None,
    enrollment_rows=None,
    demographic_rows=None,
    modes=None,
) -> Path:
    """A OneRoster 1.1 export in DIRECTORY; a file given as False is left out."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "orgs": (ORG_COLUMNS, ORGS if orgs is None else orgs),
        "users": (USER_COLUMNS, users() if users_rows is None else users_rows),
        "enrollments": (
            ENROLLMENT_COLUMNS,
            enrollments() if enrollment_rows is None else enrollment_rows,
        ),
        "demographics": (
            DEMOGRAPHIC_COLUMNS,
            demographics() if demographic_rows is None else demographic_rows,
        ),
    }
    modes = dict.fromkeys(files, "bulk") | (modes or {})
    manifest = [
        {"propertyName": "manifest.version", "value": "1.0"},
        {"propertyName": "oneroster.version", "value": "1.1"},
    ]
    for kind, (columns, rows) in files.items():
        if rows is not False or modes[kind] == "absent":
            manifest.append({"propertyName": f"file.{kind}", "value": modes[kind]})
        if rows is not False:
            write_csv(directory / f"{kind}.csv", columns, rows)
    manifest += [
        {"propertyName": f"file.{kind}", "value": "absent"}
        for kind in ("academicSessions", "categories", "classes", "courses", "lineItems")
    ]
    write_csv(directory / "manifest.csv", ["propertyName", "value"], manifest)
    # The rest of a full export is there and ignored.
    (directory / "classes.csv").write_text("sourcedId,title\nclass-1,Algebra\n", encoding="utf-8")
    return directory


def roster(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("roster", "import", *args, stdout=out)
    return out.getvalue().splitlines()


def counts(lines, kind):
    return next(line for line in lines if line.startswith(f"{kind}: "))


@pytest.fixture
def export(tmp_path):
    return write_export(tmp_path / "export")


def snapshot():
    return (
        list(School.objects.values_list("code", "name", "sourced_id")),
        list(User.objects.values_list("username", "role", "is_active", "email", "sourced_id")),
        list(Student.objects.values_list("school__code", "sis_id", "grade", "sourced_id")),
        Event.objects.count(),
    )


def test_it_creates_schools_staff_and_students_from_an_export(district, export):
    lines = roster(str(export))

    assert lines == [
        "schools: created 1 / updated 2 / deactivated 0 / unchanged 0",
        "staff: created 3 / updated 1 / deactivated 0 / unchanged 0",
        "students: created 2 / updated 0 / deactivated 0 / unchanged 0",
    ]
    was = School.objects.get(code="WAS")
    assert (was.name, was.sourced_id) == ("Washington Elementary", "org-was")
    # The schools added by hand are claimed by code, and keep their ids.
    assert School.objects.get(sourced_id="org-lin").pk == district.lin.pk
    tara = User.objects.get(username="tlee")
    assert (tara.first_name, tara.last_name, tara.email) == ("Tara", "Lee", "tlee@district.example")
    assert (tara.role, tara.sourced_id, tara.is_active) == (Role.REPORTER, "t-1", True)
    assert [school.code for school in tara.schools.all()] == ["LIN"]
    assert not tara.has_usable_password()  # the export's password column is never read
    ada = User.objects.get(username="aprincipal")
    assert (ada.role, [s.code for s in ada.schools.all()]) == (Role.SITE_ADMIN, ["ROO"])
    aide = User.objects.get(username="aide1")
    assert (aide.role, [s.code for s in aide.schools.all()]) == (Role.REPORTER, ["WAS"])
    assert not User.objects.filter(username="parent1").exists()
    ana = Student.objects.get(sis_id="100001")
    assert (ana.school.code, ana.first_name, ana.last_name, ana.grade) == (
        "LIN",
        "Ana",
        "Lopez",
        "09",
    )
    assert (ana.birth_date, ana.sourced_id) == (date(2010, 4, 30), "s-1")
    # The SIS id falls back to the sourcedId; the first grade listed is the student's.
    ben = Student.objects.get(sourced_id="s-2")
    assert (ben.sis_id, ben.school.code, ben.grade) == ("s-2", "ROO", "07")


def test_it_stores_the_sex_and_ethnicity_the_report_form_asks_for_sealed(district, export):
    roster(str(export))

    ana = Student.objects.get(sis_id="100001")
    assert (ana.sex, ana.ethnicity) == ("female", "Hispanic or Latino; White")
    ben = Student.objects.get(sourced_id="s-2")
    assert (ben.sex, ben.ethnicity) == ("male", "Asian")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sex, ethnicity FROM cases_student WHERE sis_id = '100001'")
        stored = cursor.fetchone()
    assert all(value.startswith("enc:v1:") for value in stored)
    assert "Hispanic" not in "".join(stored)


def test_it_maps_sexes_to_those_the_report_form_records():
    assert set(SEXES.values()) <= set(SEX_CHOICES)


def test_it_says_nothing_changed_on_a_second_run(district, export):
    roster(str(export))
    before = snapshot()

    lines = roster(str(export))

    assert lines == [
        "schools: created 0 / updated 0 / deactivated 0 / unchanged 3",
        "staff: created 0 / updated 0 / deactivated 0 / unchanged 4",
        "students: created 0 / updated 0 / deactivated 0 / unchanged 2",
        "nothing to change",
    ]
    assert snapshot()[:3] == before[:3]


def test_it_updates_what_changed_and_only_that(district, export, tmp_path):
    roster(str(export))
    changed_users = users()
    changed_users[0] = staff_row("t-1", "tlee", orgs="org-lin,org-was", email="tara@new.example")
    changed_users[4] = student_row("s-1", "100001", "Ana López", grades="10")
    changed_orgs = [*ORGS[:3], {**ORGS[3], "name": "Washington Elementary School"}]
    changed_demographics = demographics()
    changed_demographics[1] = {"sourcedId": "s-2", "birthDate": "2012-09-01", "sex": "X"}
    again = write_export(
        tmp_path / "again",
        orgs=changed_orgs,
        users_rows=changed_users,
        demographic_rows=changed_demographics,
    )

    lines = roster(str(again))

    assert lines == [
        "schools: created 0 / updated 1 / deactivated 0 / unchanged 2",
        "staff: created 0 / updated 1 / deactivated 0 / unchanged 3",
        "students: created 0 / updated 2 / deactivated 0 / unchanged 0",
    ]
    ben = Student.objects.get(sourced_id="s-2")
    assert (ben.sex, ben.ethnicity) == ("nonbinary", "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sex FROM cases_student WHERE sourced_id = 's-2'")
        assert cursor.fetchone()[0].startswith("enc:v1:")
    tara = User.objects.get(username="tlee")
    assert tara.email == "tara@new.example"
    assert sorted(school.code for school in tara.schools.all()) == ["LIN", "WAS"]
    ana = Student.objects.get(sourced_id="s-1")
    assert (ana.last_name, ana.grade, ana.sex) == ("López", "10", "female")
    assert School.objects.get(code="WAS").name == "Washington Elementary School"


def test_it_prints_the_changes_of_a_dry_run_and_writes_nothing(district, export):
    before = snapshot()

    lines = roster(str(export), "--dry-run")

    assert snapshot() == before
    assert "create school WAS (Washington Elementary)" in lines
    assert "update school LIN: sourced_id" in lines
    assert "create staff tlee (reporter at LIN)" in lines
    assert "create staff aprincipal (site_admin at ROO)" in lines
    assert "update staff counselor: sourced_id, first_name, last_name, email" in lines
    assert "create student 100001 at LIN" in lines
    # Students by SIS id only: a dry run's output may end up in a log.
    assert not [line for line in lines if "Lopez" in line or "Ana" in line]
    assert lines[-2:] == [
        "students: created 2 / updated 0 / deactivated 0 / unchanged 0",
        "dry run: nothing written",
    ]


def bad_users():
    rows = users()
    rows.insert(2, staff_row("j-1", "janitor1", role="janitor"))
    return rows


def bad_demographics():
    rows = demographics()
    rows[1] = {**rows[1], "birthDate": "2012-13-45"}
    return rows


@pytest.mark.parametrize(
    ("export_kwargs", "message"),
    [
        # Line 1 is the header: the third row is line 4.
        ({"users_rows": bad_users()}, "users.csv:4: unknown role 'janitor'"),
        (
            {"demographic_rows": bad_demographics()},
            "demographics.csv:3: birthDate '2012-13-45' is not a date (YYYY-MM-DD)",
        ),
        (
            {"enrollment_rows": [*enrollments(), {"sourcedId": "e-3", "userSourcedId": "t-1"}]},
            "enrollments.csv:4: schoolSourcedId is empty",
        ),
        (
            {"users_rows": [*users(), staff_row("t-9", "tlee")]},
            "users.csv:9: username 'tlee' again (first on line 2)",
        ),
        (
            {"users_rows": [*users(), student_row("s-9", "100009", "Eve Gray", orgs="org-x")]},
            "users.csv:9: org 'org-x' is not in orgs.csv",
        ),
    ],
)
def test_it_refuses_a_bad_row_naming_file_and_line_and_writes_nothing(
    district, tmp_path, export_kwargs, message
):
    bad = write_export(tmp_path / "bad", **export_kwargs)
    before = snapshot()

    with pytest.raises(CommandError) as refused:
        roster(str(bad))

    assert refused.value.returncode == 1
    assert str(refused.value).startswith(f"{bad}/{message}")
    assert snapshot() == before


def test_it_refuses_an_export_without_a_file_it_needs(district, tmp_path):
    missing = write_export(tmp_path / "missing", enrollment_rows=False)
    (missing / "manifest.csv").write_text(
        "propertyName,value\nfile.orgs,bulk\nfile.users,bulk\nfile.enrollments,bulk\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match=r"enrollments\.csv: missing \(the manifest says bulk\)"):
        roster(str(missing))
    (missing / "manifest.csv").unlink()
    with pytest.raises(CommandError, match=r"manifest\.csv: missing"):
        roster(str(missing))


def test_it_reads_an_export_without_demographics(district, tmp_path):
    plain = write_export(tmp_path / "plain", demographic_rows=False)
    roster(str(plain))
    ana = Student.objects.get(sis_id="100001")
    assert (ana.birth_date, ana.sex, ana.ethnicity) == (None, "", "")


def test_it_deactivates_staff_who_left_and_their_token_stops_working(district, tmp_path):
    roster(str(write_export(tmp_path / "first")))
    key = user_token(username="tlee")
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/protocols").status_code == 200
    # Ada keeps a case's check-ins at Roosevelt.
    case = services.case_open(
        acting_user=district["outsider_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=ago(hours=1),
        summary="Older adult picks the student up after school.",
        school_code="ROO",
        student=services.StudentInput(sis_id="s-2", first_name="Ben", last_name="Cruz"),
    )
    case = services.checkin_plan_set(
        acting_user=district["outsider_admin"],
        case_id=case.pk,
        every_days=7,
        assignee="aprincipal",
        expected_version=case.version,
    )
    assert not checkin_keeper_away(case)
    # Tara is gone from the (bulk) export; Ada is marked to be deleted.
    left = [row for row in users() if row["sourcedId"] != "t-1"]
    left[0] = {**left[0], "status": "tobedeleted"}

    lines = roster(str(write_export(tmp_path / "second", users_rows=left)))

    assert counts(lines, "staff") == ("staff: created 0 / updated 0 / deactivated 2 / unchanged 2")
    tara = User.objects.get(username="tlee")
    assert not tara.is_active and not ApiToken.objects.filter(user=tara).exists()
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/protocols").status_code in (
        401,
        403,
    )
    assert not User.objects.get(username="aprincipal").is_active
    assert checkin_keeper_away(case)  # the case page asks for someone else
    # Never deleted, and never reactivated by a later import that lists them again.
    lines = roster(str(write_export(tmp_path / "third")))
    assert counts(lines, "staff") == "staff: created 0 / updated 0 / deactivated 0 / unchanged 4"
    assert not User.objects.get(username="tlee").is_active


def test_it_leaves_staff_missing_from_a_delta_export(district, export, tmp_path):
    roster(str(export))
    delta = write_export(
        tmp_path / "delta",
        users_rows=[staff_row("t-1", "tlee", email="tara@new.example")],
        enrollment_rows=False,
        demographic_rows=False,
        modes={"users": "delta", "enrollments": "absent", "demographics": "absent"},
    )

    lines = roster(str(delta))

    assert counts(lines, "staff") == "staff: created 0 / updated 1 / deactivated 0 / unchanged 0"
    assert User.objects.filter(sourced_id__in=["a-1", "aide-1", "c-1"], is_active=True).count() == 3


def test_it_never_grants_or_changes_a_privileged_role(district, tmp_path):
    rows = [
        *users(),
        staff_row("dc-1", "district_coordinator", role="administrator", orgs="org-was"),
        staff_row("pol-1", "school_police", role="teacher", orgs="org-lin", name="Pat Doe"),
    ]

    roster(str(write_export(tmp_path / "export", users_rows=rows)))

    counselor = User.objects.get(username="counselor")
    # Matched by username: their name and address follow the SIS, their role and schools
    # stay what the district coordinator gave them (the SIS says teacher at Roosevelt).
    assert (counselor.sourced_id, counselor.first_name, counselor.email) == (
        "c-1",
        "Cora",
        "counselor@district.example",
    )
    assert (counselor.role, [s.code for s in counselor.schools.all()]) == (Role.COUNSELOR, ["LIN"])
    coordinator = User.objects.get(username="district_coordinator")
    assert (coordinator.role, coordinator.schools.count()) == (Role.DISTRICT_COORDINATOR, 0)
    assert User.objects.get(username="school_police").role == Role.SCHOOL_POLICE
    created = User.objects.filter(sourced_id__in=["t-1", "a-1", "aide-1"])
    assert all(roster_manages_role(user.role) for user in created)


def test_it_makes_an_administrator_of_no_school_a_reporter(district, tmp_path):
    rows = [staff_row("a-9", "dadmin", role="administrator", orgs="org-district")]
    roster(str(write_export(tmp_path / "export", users_rows=rows)))
    assert User.objects.get(username="dadmin").role == Role.REPORTER


def test_it_gives_a_student_who_moved_the_new_schools_row(district, export, tmp_path):
    roster(str(export))
    old = Student.objects.get(sourced_id="s-1")
    moved = users()
    moved[4] = student_row("s-1", "100001", "Ana Lopez", orgs="org-roo", grades="10")
    moved_enrollments = [row for row in enrollments() if row["userSourcedId"] != "s-1"]

    lines = roster(
        str(write_export(tmp_path / "moved", users_rows=moved, enrollment_rows=moved_enrollments))
    )

    assert counts(lines, "students") == (
        "students: created 1 / updated 0 / deactivated 0 / unchanged 1"
    )
    rows = Student.objects.filter(sourced_id="s-1").order_by("pk")
    assert [(row.school.code, row.grade) for row in rows] == [("LIN", "09"), ("ROO", "10")]
    assert rows[0].pk == old.pk and rows[1].sex == "female"


def test_it_claims_a_student_first_named_in_a_concern(district, export, open_case):
    case = open_case(sis_id="100001")
    roster(str(export))
    student = Student.objects.get(school__code="LIN", sis_id="100001")
    assert student.pk == case.student_id
    assert (student.sourced_id, student.first_name) == ("s-1", "Ana")


def test_it_records_one_audit_event_with_the_counts_and_no_names(district, export):
    before = Event.objects.count()

    roster(str(export))

    events = list(Event.objects.filter(seq__gt=before))
    assert [event.action for event in events] == ["roster.import"]
    payload = events[0].payload
    assert payload["schools"] == {"created": 1, "updated": 2, "deactivated": 0, "unchanged": 0}
    assert payload["staff"] == {"created": 3, "updated": 1, "deactivated": 0, "unchanged": 0}
    assert payload["students"] == {"created": 2, "updated": 0, "deactivated": 0, "unchanged": 0}
    assert payload["files"] == {
        "orgs": "bulk",
        "users": "bulk",
        "enrollments": "bulk",
        "demographics": "bulk",
    }
    written = json.dumps(payload)
    assert not [word for word in ("tlee", "Lopez", "Ana", "100001", "Lee") if word in written]


def test_it_says_where_text_stops_being_utf8(district, export):
    data = (export / "users.csv").read_bytes().replace(b"Ben", b"B\xe9n")
    (export / "users.csv").write_bytes(data)
    with pytest.raises(CommandError, match=r"users\.csv:7: not UTF-8 text"):
        roster(str(export))


def test_it_exits_1_with_one_line_as_an_operator_runs_it(tmp_path):
    """The real `safestep` program on an install of its own."""
    env = {**os.environ, "SAFESTEP_DATA_DIR": str(tmp_path / "install")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "safestep", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run("migrate", "--verbosity", "0").returncode == 0
    bad = write_export(tmp_path / "bad", users_rows=bad_users())
    result = run("roster", "import", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"CommandError: {bad}/users.csv:4: unknown role 'janitor' (OneRoster 1.1: "
        "administrator, aide, guardian, parent, proctor, relative, student, teacher)"
    ]
    good = run("roster", "import", str(write_export(tmp_path / "good")))
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines()[1] == (
        "staff: created 4 / updated 0 / deactivated 0 / unchanged 0"
    )
    assert "\r" not in good.stderr  # no progress bar when nobody watches


def test_it_claims_no_account_made_by_hand_for_someone_with_another_address(district, tmp_path):
    coordinator = district["district_coordinator"]
    coordinator.email = "dc@district.example"
    coordinator.save()
    rows = [staff_row("x-1", "district_coordinator", email="someone.else@district.example")]

    with pytest.raises(CommandError, match=r"users\.csv:2: username 'district_coordinator' "):
        roster(str(write_export(tmp_path / "export", users_rows=rows)))

    coordinator.refresh_from_db()
    assert (coordinator.sourced_id, coordinator.email) == ("", "dc@district.example")
