#!/usr/bin/env python3
"""How long `safestep roster import` takes for a district of 50,000 users, on SQLite.

    .venv/bin/python scripts/roster_bench.py [--users 50000] [--schools 60] [--keep DIR]

It writes a synthetic OneRoster 1.1 export into a temporary directory (manifest, orgs,
users: 92 % students and 8 % staff, six class enrollments per student and five per
teacher, demographics for every student, plus a classes.csv the import ignores), creates
a fresh embedded install beside it (`safestep migrate`), and times the real command, run
as an operator runs it, three times:
1. the first import, which creates everything;
2. the same export again, which changes nothing;
3. a nightly export in which 1 % of the students changed grade and 2 % of the staff left.
Each run is a new process, so its time includes starting Python and Django. Nothing here
is a test: the figures are printed, for docs/operations.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRADES = ["KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
FIRST = ["Ana", "Ben", "Cora", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kai"]
LAST = ["Lopez", "Nguyen", "Smith", "Garcia", "Kim", "Patel", "Okafor", "Rossi", "Haddad"]
USER_COLUMNS = [
    "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role",
    "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email",
    "sms", "phone", "agentSourcedIds", "grades", "password",
]  # fmt: skip
DEMOGRAPHIC_COLUMNS = [
    "sourcedId", "status", "dateLastModified", "birthDate", "sex",
    "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
]  # fmt: skip


def _write(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows(rows)


def write_export(directory: Path, *, users: int, schools: int, night: int) -> dict[str, int]:
    """A synthetic export; NIGHT 0 is the first, NIGHT 1 the next day's (a few changes)."""
    rng = random.Random(16)  # noqa: S311  # the same district every time, not a secret
    directory.mkdir(parents=True, exist_ok=True)
    orgs = [["district", "active", "", "Bench Unified School District", "district", "", ""]]
    orgs += [
        [f"org-{n}", "active", "", f"Bench School {n}", "school", f"B{n:04d}", "district"]
        for n in range(schools)
    ]
    staff_count = users * 8 // 100
    rows: list[list[str]] = []
    demographics: list[list[str]] = []
    enrollments: list[list[str]] = []
    left = 0
    for n in range(users):
        school = f"org-{n % schools}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if n < staff_count:
            role = "administrator" if n % 25 == 0 else ("aide" if n % 7 == 0 else "teacher")
            if night and n % 50 == 1:
                left += 1
                continue  # left the district: missing from the bulk export
            rows.append(
                [f"u-{n}", "active", "", "true", school, role, f"staff{n}", "", first, last,
                 "", f"E{n}", f"staff{n}@bench.example", "", "", "", "", ""]
            )  # fmt: skip
            enrollments += [
                [f"e-{n}-{k}", "", "", f"class-{n}-{k}", school, f"u-{n}", "teacher", "", "", ""]
                for k in range(5 if role == "teacher" else 0)
            ]
            continue
        grade = GRADES[n % len(GRADES)]
        if night and n % 100 == 7:
            grade = GRADES[(n + 1) % len(GRADES)]
        rows.append(
            [f"u-{n}", "active", "", "true", school, "student", f"stu{n}", "", first, last, "",
             f"{900000 + n}", "", "", "", "", grade, ""]
        )  # fmt: skip
        demographics.append(
            [f"u-{n}", "", "", f"{2008 + n % 10}-0{1 + n % 9}-1{n % 10}",
             rng.choice(["male", "female"]), *rng.choices(["true", "false"], k=7)]
        )  # fmt: skip
        enrollments += [
            [f"e-{n}-{k}", "", "", f"class-{n % 900}-{k}", school, f"u-{n}", "student",
             "true" if k == 0 else "false", "", ""]
            for k in range(6)
        ]  # fmt: skip
    _write(directory / "orgs.csv", ["sourcedId", "status", "dateLastModified", "name", "type",
                                    "identifier", "parentSourcedId"], orgs)  # fmt: skip
    _write(directory / "users.csv", USER_COLUMNS, rows)
    _write(directory / "enrollments.csv", ["sourcedId", "status", "dateLastModified",
           "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary",
           "beginDate", "endDate"], enrollments)  # fmt: skip
    _write(directory / "demographics.csv", DEMOGRAPHIC_COLUMNS, demographics)
    _write(directory / "classes.csv", ["sourcedId", "title"], [["class-1", "Algebra"]])
    manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.1"]]
    manifest += [[f"file.{kind}", "bulk"] for kind in ("orgs", "users", "enrollments")]
    manifest += [["file.demographics", "bulk"], ["file.classes", "bulk"]]
    _write(directory / "manifest.csv", ["propertyName", "value"], manifest)
    return {"users": len(rows), "enrollments": len(enrollments), "staff_left": left}


def _safestep(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603  # our own program
        [sys.executable, "-m", "safestep", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"safestep {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--keep", type=Path, help="work in DIR (kept) instead of a temp dir")
    options = parser.parse_args()
    work = options.keep or Path(tempfile.mkdtemp(prefix="roster-bench-"))
    env = {**os.environ, "SAFESTEP_DATA_DIR": str(work / "install")}
    env.pop("DATABASE_URL", None)  # the embedded SQLite database
    env.pop("DJANGO_SETTINGS_MODULE", None)
    first = write_export(work / "first", users=options.users, schools=options.schools, night=0)
    second = write_export(work / "second", users=options.users, schools=options.schools, night=1)
    print(f"export: {first['users']} users, {first['enrollments']} enrollments, in {work}")
    _safestep(env, "migrate", "--verbosity", "0")
    for label, directory in (
        ("first import (creates everything)", work / "first"),
        ("same export again (changes nothing)", work / "first"),
        (f"next night ({second['staff_left']} staff left, 1 % new grades)", work / "second"),
    ):
        elapsed, output = _safestep(env, "roster", "import", str(directory))
        print(f"{label}: {elapsed:.1f} s")
        for line in output.splitlines():
            print(f"    {line}")


if __name__ == "__main__":
    main()
