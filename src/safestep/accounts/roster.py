"""Reading a OneRoster 1.1 CSV export, and planning what it changes (`safestep roster import`).

Districts export their rosters from the student information system (SIS) as OneRoster CSV:
a directory with ``manifest.csv``, ``orgs.csv``, ``users.csv``, ``enrollments.csv``,
``demographics.csv`` and more. This module reads the five it needs (the others are
ignored) and compares them with what SafeStep holds. It touches no database: what SafeStep
holds comes in as plain snapshots (:class:`Held`), and out comes a :class:`Plan` saying, for
each school, staff member and student in the export, whether to create, update, deactivate
or leave it. The writes are ``accounts.services.roster_*_write`` and ``cases.roster``, which
also runs the whole import in one transaction.

Every row remembers where it came from, so that a problem is reported as
``FILE:LINE: message`` (:class:`RosterError`) and nothing is written.

What the import decides, and why:
- Schools are the orgs of type ``school``; ``identifier`` is the school's code in SafeStep.
  A school is found by its sourcedId, else (the first import) by its code.
- Staff are users whose role is ``teacher``, ``aide`` or ``proctor`` (reporters) or
  ``administrator`` (site administrator of their schools; one without a school reports).
  A staff member is found by sourcedId, else (the first import) by an account with the same
  username that no import has claimed yet. Their schools are the schools among their
  ``orgSourcedIds`` and their enrollments. Roles beyond those two are granted by hand: an
  import leaves the role and schools of whoever holds one (``access.roster_manages_role``).
- Staff marked ``tobedeleted`` or not ``enabledUser``, and those missing from a bulk
  ``users.csv``, are deactivated, never deleted. Nobody is reactivated by an import: an
  operator who stopped an account may have had a reason the SIS does not know.
- Students get their SIS id from ``identifier`` (else the sourcedId), their name and grade
  from ``users.csv``, birth date, sex and ethnicity from ``demographics.csv``. They are
  never deactivated or deleted: their cases stay theirs.
- ``password`` columns are never read: staff sign in through the district's identity
  provider or a one-time password from an operator.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from safestep.accounts.access import roster_manages_role
from safestep.accounts.models import Role, User, school_code_validator
from safestep.core.errors import SafeStepError
from safestep.core.moments import check_birth_date

ONEROSTER_VERSION = "1.1"
MANIFEST = "manifest.csv"

# The limits of the fields an import fills (the models' max_length).
MAX_SCHOOL_NAME = 200
MAX_USERNAME = 150
MAX_STAFF_NAME = 150
MAX_EMAIL = 254
MAX_SIS_ID = 32
MAX_STUDENT_NAME = 100
MAX_GRADE = 8

# Every role OneRoster 1.1 knows, and what SafeStep makes of it. Students become registry
# students; parents, guardians and relatives are no one SafeStep needs to know.
STAFF_ROLES: dict[str, str] = {
    "teacher": Role.REPORTER,
    "aide": Role.REPORTER,
    "proctor": Role.REPORTER,
    "administrator": Role.SITE_ADMIN,
}
STUDENT_ROLE = "student"
ONEROSTER_ROLES = frozenset({*STAFF_ROLES, STUDENT_ROLE, "parent", "guardian", "relative"})
ORG_TYPES = frozenset({"department", "school", "district", "local", "state", "national"})

# OneRoster's sex, as SafeStep records it for the SS 8572 (cases.people.SEX_CHOICES). 1.1
# says male or female; later versions and many SIS add other or unspecified, and California
# reports nonbinary students as X.
SEXES: dict[str, str] = {
    "female": "female",
    "f": "female",
    "male": "male",
    "m": "male",
    "nonbinary": "nonbinary",
    "x": "nonbinary",
    "other": "unknown",
    "unspecified": "unknown",
}
# The race and ethnicity columns of demographics.csv, in the words of the federal
# categories; the SS 8572 asks for "ethnicity" as one line of text.
ETHNICITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("hispanicOrLatinoEthnicity", "Hispanic or Latino"),
    ("americanIndianOrAlaskaNative", "American Indian or Alaska Native"),
    ("asian", "Asian"),
    ("blackOrAfricanAmerican", "Black or African American"),
    ("nativeHawaiianOrOtherPacificIslander", "Native Hawaiian or Other Pacific Islander"),
    ("white", "White"),
    ("demographicRaceTwoOrMoreRaces", "Two or more races"),
)


class RosterError(SafeStepError):
    """The export cannot be imported; ``detail`` says where (``FILE:LINE: message``)."""

    title = "Roster refused"


class FileMode(StrEnum):
    """What manifest.csv says of a file: all of its kind, only changes, or none."""

    BULK = "bulk"
    DELTA = "delta"
    ABSENT = "absent"


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    UNCHANGED = "unchanged"


# A progress indicator: PROGRESS(stage, total) opens one stage (total None when unknown)
# and yields a function told how many more items are done.
Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int | None], AbstractContextManager[Advance]]


@contextmanager
def no_progress(stage: str, total: int | None) -> Iterator[Advance]:
    yield lambda done: None


@dataclass(frozen=True)
class Where:
    """A place in the export: a file (its path as given) and a line (0: the whole file)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def error(self, message: str) -> RosterError:
        return RosterError(f"{self}: {message}")


# --- reading ----------------------------------------------------------------------------

# The columns each file must have (OneRoster 1.1 names); the others may be there or not.
COLUMNS: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "name", "type", "identifier"),
    "users": ("sourcedId", "orgSourcedIds", "role", "username", "givenName", "familyName"),
    "enrollments": ("sourcedId", "schoolSourcedId", "userSourcedId", "role"),
    "demographics": ("sourcedId",),
}
# Files an export must have unless its manifest says "absent" (a delta without changes).
REQUIRED_FILES = ("orgs", "users", "enrollments")

Row = dict[str, str]


def _csv_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[Where, Row]]:
    """The rows of the CSV file PATH as {column: value}, each with where it starts.

    A UTF-8 byte order mark is skipped; a missing column, a row with the wrong number of
    fields, text that is not UTF-8 or not CSV stop the import at that line.
    """
    name = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise Where(name).error(f"cannot be read ({error.strerror})") from None
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = [column.strip() for column in next(reader, [])]
            _check_header(Where(name, 1), header, required)
            line = reader.line_num
            for fields in reader:
                where, line = Where(name, line + 1), reader.line_num
                if len(fields) != len(header):
                    if not "".join(fields).strip():
                        continue  # a blank line
                    raise where.error(
                        f"{len(fields)} fields, but the header names {len(header)} columns"
                    )
                yield where, dict(zip(header, fields, strict=True))
        except csv.Error as error:
            raise Where(name, reader.line_num).error(f"not valid CSV: {error}") from None
        except UnicodeDecodeError:
            raise Where(name, _undecodable_line(path)).error("not UTF-8 text") from None


def _undecodable_line(path: Path) -> int:
    """The line of PATH where its text stops being UTF-8 (text is decoded in blocks, so
    the reader's own line count may lag behind)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return data.count(b"\n", 0, error.start) + 1
    return 0


def _check_header(where: Where, header: Sequence[str], required: Sequence[str]) -> None:
    if not any(header):
        raise where.error("empty: the first line names the columns")
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise where.error(f"the column {column!r} appears twice")
        seen.add(column)
    missing = [column for column in required if column not in seen]
    if missing:
        raise where.error(f"no column {', '.join(map(repr, missing))} (OneRoster 1.1 names)")


def _text(row: Row, column: str) -> str:
    return row.get(column, "").strip()


def _required(where: Where, row: Row, column: str) -> str:
    value = _text(row, column)
    if not value:
        raise where.error(f"{column} is empty")
    return value


def _limited(where: Where, row: Row, column: str, limit: int, *, required: bool) -> str:
    value = _required(where, row, column) if required else _text(row, column)
    if len(value) > limit:
        raise where.error(f"{column} is longer than {limit} characters")
    return value


def _deleted(where: Where, row: Row) -> bool:
    """Whether the row's status says the record is to be deleted (bulk files may leave it
    blank: everything in them is active)."""
    status = _text(row, "status")
    if status.lower() in ("", "active"):
        return False
    if status.lower() == "tobedeleted":
        return True
    raise where.error(f"status {status!r} is neither active nor tobedeleted")


def _flag(where: Where, row: Row, column: str, *, default: bool) -> bool:
    value = _text(row, column)
    if not value:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise where.error(f"{column} {value!r} is neither true nor false")


def _ids(row: Row, column: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in row.get(column, "").split(",") if part.strip())


@dataclass(frozen=True)
class OrgRow:
    where: Where
    sourced_id: str
    deleted: bool
    is_school: bool
    code: str = ""
    name: str = ""


@dataclass(frozen=True)
class StaffRow:
    where: Where
    sourced_id: str
    # Marked tobedeleted, or enabledUser false: their account is to stop.
    leaves: bool
    role: str  # SafeStep's
    username: str
    first_name: str
    last_name: str
    email: str
    org_ids: tuple[str, ...]


@dataclass(frozen=True)
class StudentRow:
    where: Where
    sourced_id: str
    deleted: bool
    sis_id: str
    first_name: str
    last_name: str
    grade: str
    org_ids: tuple[str, ...]


@dataclass(frozen=True)
class EnrollmentRow:
    where: Where
    school_id: str
    primary: bool


@dataclass(frozen=True)
class DemographicsRow:
    """A row of demographics.csv as read; checked only for students (staff have rows too)."""

    where: Where
    row: Row


@dataclass
class Export:
    """What was read from an export directory."""

    modes: dict[str, FileMode]
    orgs: list[OrgRow] = field(default_factory=list)
    staff: list[StaffRow] = field(default_factory=list)
    students: list[StudentRow] = field(default_factory=list)
    # Active enrollments by the user's sourcedId.
    enrollments: dict[str, list[EnrollmentRow]] = field(default_factory=dict)
    demographics: dict[str, DemographicsRow] = field(default_factory=dict)

    def mode(self, kind: str) -> FileMode:
        return self.modes[kind]

    @property
    def people(self) -> int:
        """How many staff members and students the export lists."""
        return len(self.staff) + len(self.students)


def _org(where: Where, row: Row) -> OrgRow:
    sourced_id = _required(where, row, "sourcedId")
    kind = _text(row, "type")
    if kind.lower() not in ORG_TYPES and not kind.startswith("ext:"):
        raise where.error(f"type {kind!r} is not a OneRoster org type")
    deleted = _deleted(where, row)
    if kind.lower() != "school" or deleted:
        return OrgRow(where, sourced_id, deleted, is_school=False)
    # The identifier is the school's code in SafeStep (LIN), which people type and read.
    code = _required(where, row, "identifier").upper()
    try:
        school_code_validator(code)
    except DjangoValidationError:
        raise where.error(
            f"identifier {code!r} cannot be a school code: 2-16 capital letters, digits, '-' or '_'"
        ) from None
    name = _limited(where, row, "name", MAX_SCHOOL_NAME, required=True)
    return OrgRow(where, sourced_id, deleted, is_school=True, code=code, name=name)


def _staff(where: Where, row: Row, sourced_id: str, role: str) -> StaffRow:
    username = _limited(where, row, "username", MAX_USERNAME, required=True)
    try:
        User.username_validator(username)
    except DjangoValidationError:
        raise where.error(
            f"username {username!r}: only letters, digits and @ . + - _ may be used"
        ) from None
    email = _limited(where, row, "email", MAX_EMAIL, required=False)
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise where.error(f"email {email!r} is not an e-mail address") from None
    return StaffRow(
        where=where,
        sourced_id=sourced_id,
        leaves=_deleted(where, row) or not _flag(where, row, "enabledUser", default=True),
        role=STAFF_ROLES[role],
        username=username,
        first_name=_limited(where, row, "givenName", MAX_STAFF_NAME, required=False),
        last_name=_limited(where, row, "familyName", MAX_STAFF_NAME, required=False),
        email=email,
        org_ids=_ids(row, "orgSourcedIds"),
    )


def _student(where: Where, row: Row, sourced_id: str) -> StudentRow:
    sis_id = _text(row, "identifier") or sourced_id
    if len(sis_id) > MAX_SIS_ID:
        raise where.error(f"SIS id (identifier) is longer than {MAX_SIS_ID} characters")
    grades = _ids(row, "grades")
    grade = grades[0] if grades else ""
    if len(grade) > MAX_GRADE:
        raise where.error(f"grade {grade!r} is longer than {MAX_GRADE} characters")
    return StudentRow(
        where=where,
        sourced_id=sourced_id,
        deleted=_deleted(where, row),
        sis_id=sis_id,
        first_name=_limited(where, row, "givenName", MAX_STUDENT_NAME, required=True),
        last_name=_limited(where, row, "familyName", MAX_STUDENT_NAME, required=True),
        grade=grade,
        org_ids=_ids(row, "orgSourcedIds"),
    )


def _role(where: Where, row: Row, column: str = "role") -> str:
    role = _text(row, column).lower()
    if role not in ONEROSTER_ROLES:
        raise where.error(
            f"unknown role {_text(row, column)!r} (OneRoster 1.1: "
            f"{', '.join(sorted(ONEROSTER_ROLES))})"
        )
    return role


class _Seen:
    """Where each sourcedId of a file was first seen: a second row for one is an error."""

    def __init__(self) -> None:
        self.lines: dict[str, Where] = {}

    def check(self, where: Where, sourced_id: str) -> None:
        first = self.lines.setdefault(sourced_id, where)
        if first is not where:
            raise where.error(f"sourcedId {sourced_id!r} again (first on line {first.line})")


def _read_orgs(path: Path, export: Export, advance: Advance) -> None:
    seen = _Seen()
    for where, row in _csv_rows(path, COLUMNS["orgs"]):
        org = _org(where, row)
        seen.check(where, org.sourced_id)
        export.orgs.append(org)
        advance(1)


def _read_users(path: Path, export: Export, advance: Advance) -> None:
    seen = _Seen()
    for where, row in _csv_rows(path, COLUMNS["users"]):
        sourced_id = _required(where, row, "sourcedId")
        seen.check(where, sourced_id)
        role = _role(where, row)
        if role in STAFF_ROLES:
            export.staff.append(_staff(where, row, sourced_id, role))
        elif role == STUDENT_ROLE:
            export.students.append(_student(where, row, sourced_id))
        advance(1)


def _read_enrollments(path: Path, export: Export, advance: Advance) -> None:
    for where, row in _csv_rows(path, COLUMNS["enrollments"]):
        _required(where, row, "sourcedId")
        user_id = _required(where, row, "userSourcedId")
        school_id = _required(where, row, "schoolSourcedId")
        _role(where, row)
        primary = _flag(where, row, "primary", default=False)
        if not _deleted(where, row):
            export.enrollments.setdefault(user_id, []).append(
                EnrollmentRow(where, school_id, primary)
            )
        advance(1)


def _read_demographics(path: Path, export: Export, advance: Advance) -> None:
    seen = _Seen()
    for where, row in _csv_rows(path, COLUMNS["demographics"]):
        sourced_id = _required(where, row, "sourcedId")
        seen.check(where, sourced_id)
        if not _deleted(where, row):
            export.demographics[sourced_id] = DemographicsRow(where, row)
        advance(1)


READERS: dict[str, Callable[[Path, Export, Advance], None]] = {
    "orgs": _read_orgs,
    "users": _read_users,
    "enrollments": _read_enrollments,
    "demographics": _read_demographics,
}


def _manifest(directory: Path) -> dict[str, tuple[Where, str]]:
    path = directory / MANIFEST
    if not path.is_file():
        raise Where(str(path)).error("missing: a OneRoster export starts with its manifest")
    return {
        _text(row, "propertyName"): (where, _text(row, "value"))
        for where, row in _csv_rows(path, ("propertyName", "value"))
    }


def _modes(directory: Path) -> dict[str, FileMode]:
    """What the manifest says of each file this import reads (and checks that it is 1.1)."""
    manifest = _manifest(directory)
    if "oneroster.version" in manifest:
        where, version = manifest["oneroster.version"]
        if version != ONEROSTER_VERSION:
            raise where.error(f"oneroster.version is {version!r}; this import reads 1.1")
    modes: dict[str, FileMode] = {}
    for kind in READERS:
        path = directory / f"{kind}.csv"
        if f"file.{kind}" in manifest:
            where, value = manifest[f"file.{kind}"]
            try:
                modes[kind] = FileMode(value.lower())
            except ValueError:
                raise where.error(f"file.{kind} is {value!r}, not bulk, delta or absent") from None
        else:
            # Not declared: whatever is there is all there is (demographics are optional).
            modes[kind] = FileMode.BULK
            if not path.exists() and kind not in REQUIRED_FILES:
                modes[kind] = FileMode.ABSENT
        if modes[kind] != FileMode.ABSENT and not path.is_file():
            raise Where(str(path)).error(f"missing (the manifest says {modes[kind]})")
    return modes


def read_export(directory: Path, *, progress: ProgressFactory = no_progress) -> Export:
    """Read the OneRoster 1.1 export in DIRECTORY; RosterError at its first problem."""
    export = Export(modes=_modes(directory))
    for kind, reader in READERS.items():
        if export.mode(kind) != FileMode.ABSENT:
            with progress(f"reading {kind}.csv", None) as advance:
                reader(directory / f"{kind}.csv", export, advance)
    return export


# --- what SafeStep holds ----------------------------------------------------------------


@dataclass(frozen=True)
class SchoolHeld:
    pk: int
    sourced_id: str
    code: str
    name: str


@dataclass(frozen=True)
class StaffHeld:
    pk: int
    sourced_id: str
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    is_active: bool
    school_ids: frozenset[int]


@dataclass(frozen=True)
class StudentHeld:
    pk: int
    school_id: int
    sourced_id: str
    sis_id: str
    first_name: str
    last_name: str
    birth_date: date | None
    grade: str
    sex: str
    ethnicity: str


@dataclass(frozen=True)
class Held:
    """A snapshot of SafeStep's schools, accounts and students (cases.roster reads it)."""

    schools: Sequence[SchoolHeld]
    staff: Sequence[StaffHeld]
    students: Sequence[StudentHeld]


# --- planning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolPlan:
    change: Change
    pk: int | None
    sourced_id: str
    code: str
    name: str
    changed: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.change == Change.CREATE:
            return f"create school {self.code} ({self.name})"
        return f"{self.change} school {self.code}: {', '.join(self.changed)}"


@dataclass(frozen=True)
class StaffPlan:
    """A staff account as it is to be. For a privileged role, ``role`` and ``school_codes``
    are what the account holds already (an import does not change them)."""

    change: Change
    pk: int | None
    sourced_id: str
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    school_codes: frozenset[str]
    changed: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.change == Change.CREATE:
            where = f" at {', '.join(sorted(self.school_codes))}" if self.school_codes else ""
            return f"create staff {self.username} ({self.role}{where})"
        if self.change == Change.DEACTIVATE:
            return f"deactivate staff {self.username}"
        return f"update staff {self.username}: {', '.join(self.changed)}"


@dataclass(frozen=True)
class StudentPlan:
    change: Change
    pk: int | None
    school_code: str
    sourced_id: str
    sis_id: str
    first_name: str
    last_name: str
    birth_date: date | None
    grade: str
    sex: str
    ethnicity: str
    changed: tuple[str, ...] = ()

    def describe(self) -> str:
        # SIS ids and field names only: a dry run's output may end up in a log.
        if self.change == Change.CREATE:
            return f"create student {self.sis_id} at {self.school_code}"
        return f"update student {self.sis_id} at {self.school_code}: {', '.join(self.changed)}"


KINDS = ("schools", "staff", "students")


@dataclass(frozen=True)
class Plan:
    schools: list[SchoolPlan]
    staff: list[StaffPlan]
    students: list[StudentPlan]

    def _of(self, kind: str) -> Sequence[SchoolPlan | StaffPlan | StudentPlan]:
        if kind == "schools":
            return self.schools
        return self.staff if kind == "staff" else self.students

    def counts(self) -> dict[str, dict[str, int]]:
        """{kind: {created, updated, deactivated, unchanged}}: the audit event's payload."""
        words = {
            Change.CREATE: "created",
            Change.UPDATE: "updated",
            Change.DEACTIVATE: "deactivated",
            Change.UNCHANGED: "unchanged",
        }
        counts: dict[str, dict[str, int]] = {}
        for kind in KINDS:
            tally = dict.fromkeys(words.values(), 0)
            for item in self._of(kind):
                tally[words[item.change]] += 1
            counts[kind] = tally
        return counts

    def summary(self) -> list[str]:
        """One line per kind: ``staff: created 3 / updated 1 / deactivated 0 / unchanged 9``."""
        return [
            f"{kind}: " + " / ".join(f"{word} {count}" for word, count in tally.items())
            for kind, tally in self.counts().items()
        ]

    def changes(self) -> list[str]:
        """Every change, one line each (what ``--dry-run`` prints)."""
        return [
            item.describe()
            for kind in KINDS
            for item in self._of(kind)
            if item.change != Change.UNCHANGED
        ]

    @property
    def changes_nothing(self) -> bool:
        return all(item.change == Change.UNCHANGED for kind in KINDS for item in self._of(kind))


_P = TypeVar("_P", SchoolPlan, StaffPlan, StudentPlan)


def _changed(now: Mapping[str, object], wanted: object, names: Sequence[str]) -> tuple[str, ...]:
    """The NAMES whose value in WANTED (a plan) differs from NOW."""
    return tuple(name for name in names if now[name] != getattr(wanted, name))


SCHOOL_FIELDS = ("sourced_id", "code", "name")
STAFF_FIELDS = (
    "sourced_id",
    "username",
    "first_name",
    "last_name",
    "email",
    "role",
    "school_codes",
)
STUDENT_FIELDS = (
    "sourced_id",
    "sis_id",
    "first_name",
    "last_name",
    "birth_date",
    "grade",
    "sex",
    "ethnicity",
)


def _update(wanted: _P, pk: int, changed: tuple[str, ...]) -> _P:
    """WANTED as the plan for the record PK: an update of CHANGED, or nothing to do."""
    change = Change.UPDATE if changed else Change.UNCHANGED
    return replace(wanted, change=change, pk=pk, changed=changed)


@dataclass
class _Schools:
    """The schools as the export leaves them: plans, and each org's school code."""

    plans: list[SchoolPlan]
    # By org sourcedId: its school's code, or None for an org that is no school (a
    # district) or a school to be deleted, whose people are nobody's at it.
    code_of_org: dict[str, str | None]
    # By school id: its code once the import is done.
    code_of_pk: dict[int, str]
    # Whether orgs.csv lists every org, so that an org it lacks is an error.
    complete: bool

    def code(self, where: Where, org_id: str) -> str | None:
        if org_id in self.code_of_org:
            return self.code_of_org[org_id]
        if self.complete:
            raise where.error(f"org {org_id!r} is not in orgs.csv")
        return None  # a delta export: an org that did not change, and no school we know


def _school_match(
    org: OrgRow, by_sourced_id: dict[str, SchoolHeld], by_code: dict[str, SchoolHeld]
) -> SchoolHeld | None:
    held = by_sourced_id.get(org.sourced_id)
    holder = by_code.get(org.code)
    # The first import meets the schools an operator added by hand: found by code.
    if held is None and holder is not None and not holder.sourced_id:
        return holder
    if holder is not None and holder is not held:
        raise org.where.error(
            f"school code {org.code} belongs to another school "
            f"(sourcedId {holder.sourced_id or 'none: added by hand'})"
        )
    return held


def _plan_schools(export: Export, held: Sequence[SchoolHeld]) -> _Schools:
    by_sourced_id = {school.sourced_id: school for school in held if school.sourced_id}
    by_code = {school.code: school for school in held}
    schools = _Schools(
        plans=[],
        code_of_org={},
        code_of_pk={school.pk: school.code for school in held},
        complete=export.mode("orgs") == FileMode.BULK,
    )
    first_with_code: dict[str, Where] = {}
    for org in export.orgs:
        schools.code_of_org[org.sourced_id] = org.code if org.is_school else None
        if not org.is_school:
            continue
        first = first_with_code.setdefault(org.code, org.where)
        if first is not org.where:
            raise org.where.error(f"identifier {org.code} again (first on line {first.line})")
        wanted = SchoolPlan(Change.CREATE, None, org.sourced_id, org.code, org.name)
        match = _school_match(org, by_sourced_id, by_code)
        if match is None:
            schools.plans.append(wanted)
            continue
        changed = _changed(match.__dict__, wanted, SCHOOL_FIELDS)
        schools.plans.append(_update(wanted, match.pk, changed))
        schools.code_of_pk[match.pk] = org.code
    for school in held:
        if school.sourced_id and school.sourced_id not in schools.code_of_org:
            schools.code_of_org[school.sourced_id] = schools.code_of_pk[school.pk]
    return schools


def _school_codes(
    where: Where, org_ids: Sequence[str], enrollments: Sequence[EnrollmentRow], schools: _Schools
) -> list[str]:
    """The schools of a person, in order: their orgs first, then their enrollments'."""
    codes = [schools.code(where, org_id) for org_id in org_ids]
    codes += [schools.code(row.where, row.school_id) for row in enrollments]
    return list(dict.fromkeys(code for code in codes if code is not None))


class _Staff:
    """Plans staff accounts against the accounts SafeStep holds."""

    def __init__(self, export: Export, held: Sequence[StaffHeld], schools: _Schools) -> None:
        self.export = export
        self.schools = schools
        self.by_sourced_id = {user.sourced_id: user for user in held if user.sourced_id}
        self.by_username = {user.username: user for user in held}
        self.usernames: dict[str, Where] = {}
        self.plans: list[StaffPlan] = []

    def match(self, row: StaffRow) -> StaffHeld | None:
        held = self.by_sourced_id.get(row.sourced_id)
        holder = self.by_username.get(row.username)
        # The first import meets the accounts made by hand: found by username, provided
        # the e-mail addresses agree. Otherwise the same username may be someone else,
        # who would get the account (and sign in to it by the address) with its history.
        if held is None and holder is not None and not holder.sourced_id:
            if holder.email and holder.email.casefold() != row.email.casefold():
                raise row.where.error(
                    f"username {row.username!r} belongs to an account made by hand with "
                    "another e-mail address; if it is the same person, give the account "
                    "the address the SIS has"
                )
            return holder
        if holder is not None and holder is not held:
            raise row.where.error(
                f"username {row.username!r} belongs to another account"
                + (f" (sourcedId {holder.sourced_id})" if holder.sourced_id else "")
            )
        return held

    def held_codes(self, held: StaffHeld) -> frozenset[str]:
        return frozenset(self.schools.code_of_pk[pk] for pk in held.school_ids)

    def wanted(self, row: StaffRow, held: StaffHeld | None) -> StaffPlan:
        codes = _school_codes(
            row.where, row.org_ids, self.export.enrollments.get(row.sourced_id, []), self.schools
        )
        role = row.role
        if role == Role.SITE_ADMIN and not codes:
            # An administrator of no school (the district office) reports; the district
            # coordinator gives them another role by hand if they need one.
            role = Role.REPORTER
        school_codes = frozenset(codes)
        if held is not None and not roster_manages_role(held.role):
            role, school_codes = held.role, self.held_codes(held)
        return StaffPlan(
            change=Change.CREATE,
            pk=None,
            sourced_id=row.sourced_id,
            username=row.username,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            role=role,
            school_codes=school_codes,
        )

    def plan(self, row: StaffRow) -> None:
        first = self.usernames.setdefault(row.username, row.where)
        if first is not row.where:
            raise row.where.error(f"username {row.username!r} again (first on line {first.line})")
        held = self.match(row)
        if held is None:
            if not row.leaves:  # nobody makes an account to stop it at once
                self.plans.append(self.wanted(row, None))
            return
        if row.leaves:
            self.plans.append(self.deactivation(held))
            return
        wanted = self.wanted(row, held)
        now = {**held.__dict__, "school_codes": self.held_codes(held)}
        self.plans.append(_update(wanted, held.pk, _changed(now, wanted, STAFF_FIELDS)))

    def deactivation(self, held: StaffHeld) -> StaffPlan:
        return StaffPlan(
            change=Change.DEACTIVATE if held.is_active else Change.UNCHANGED,
            pk=held.pk,
            sourced_id=held.sourced_id,
            username=held.username,
            first_name=held.first_name,
            last_name=held.last_name,
            email=held.email,
            role=held.role,
            school_codes=self.held_codes(held),
        )

    def left(self) -> None:
        """Deactivate the accounts an import made or claimed that a bulk users.csv lacks."""
        listed = {row.sourced_id for row in self.export.staff}
        for sourced_id, held in self.by_sourced_id.items():
            if sourced_id not in listed and held.is_active:
                self.plans.append(self.deactivation(held))


def _plan_staff(export: Export, held: Sequence[StaffHeld], schools: _Schools) -> list[StaffPlan]:
    staff = _Staff(export, held, schools)
    for row in export.staff:
        staff.plan(row)
    if export.mode("users") == FileMode.BULK:
        staff.left()
    return staff.plans


@dataclass(frozen=True)
class Demographics:
    birth_date: date | None
    sex: str
    ethnicity: str


def _demographics(row: DemographicsRow, today: date) -> Demographics:
    """Birth date, sex and ethnicity from a student's row of demographics.csv."""
    where, values = row.where, row.row
    birth_text = _text(values, "birthDate")
    birth_date = None
    if birth_text:
        try:
            birth_date = date.fromisoformat(birth_text)
        except ValueError:
            raise where.error(f"birthDate {birth_text!r} is not a date (YYYY-MM-DD)") from None
        problem = check_birth_date(birth_date, today=today)
        if problem:
            raise where.error(f"birthDate {birth_text}: {problem}")
    sex = _text(values, "sex")
    if sex and sex.lower() not in SEXES:
        raise where.error(f"sex {sex!r} is not one of {', '.join(SEXES)}")
    ethnicity = [
        words for column, words in ETHNICITY_COLUMNS if _flag(where, values, column, default=False)
    ]
    return Demographics(birth_date, SEXES.get(sex.lower(), ""), "; ".join(ethnicity))


def _student_school(row: StudentRow, export: Export, schools: _Schools) -> str:
    """The school whose student the row is: the first school among the student's orgs, else
    that of their primary enrollment, else of any enrollment."""
    enrollments = sorted(export.enrollments.get(row.sourced_id, []), key=lambda e: not e.primary)
    codes = _school_codes(row.where, row.org_ids, enrollments, schools)
    if not codes:
        raise row.where.error(f"student {row.sis_id} belongs to no school")
    return codes[0]


class _Students:
    """Plans registry students against the students SafeStep holds.

    A student is (school, SIS id). A student who moved to another school gets the new
    school's row, found there (by sourcedId, else by SIS id) or created; the old school's
    row stays as it was. Cases opened at the old school keep the student as that school
    knew them, and nobody at the new school reaches the old school's record through the
    student (docs/security.md: a SIS id typed at one school never reaches another's).
    """

    def __init__(
        self, export: Export, held: Sequence[StudentHeld], schools: _Schools, today: date
    ) -> None:
        self.export = export
        self.schools = schools
        self.today = today
        code_of = schools.code_of_pk
        self.by_sourced_id = {
            (code_of[student.school_id], student.sourced_id): student
            for student in held
            if student.sourced_id
        }
        self.by_sis_id = {(code_of[student.school_id], student.sis_id): student for student in held}
        self.seen: dict[tuple[str, str], Where] = {}
        self.plans: list[StudentPlan] = []

    def match(self, row: StudentRow, code: str) -> StudentHeld | None:
        held = self.by_sourced_id.get((code, row.sourced_id))
        holder = self.by_sis_id.get((code, row.sis_id))
        # A student first named in a concern (no sourcedId yet) is the SIS's student.
        if held is None and holder is not None and not holder.sourced_id:
            return holder
        if holder is not None and holder is not held:
            raise row.where.error(
                f"SIS id {row.sis_id} at {code} belongs to another student"
                + (f" (sourcedId {holder.sourced_id})" if holder.sourced_id else "")
            )
        return held

    def plan(self, row: StudentRow) -> None:
        if row.deleted:
            return  # never deleted: their cases and disclosures stay theirs
        code = _student_school(row, self.export, self.schools)
        first = self.seen.setdefault((code, row.sis_id), row.where)
        if first is not row.where:
            raise row.where.error(
                f"SIS id {row.sis_id} at {code} again (first on line {first.line})"
            )
        held = self.match(row, code)
        # Without a demographics row the student keeps what SafeStep knows.
        known = Demographics(None, "", "")
        if held is not None:
            known = Demographics(held.birth_date, held.sex, held.ethnicity)
        demographics_row = self.export.demographics.get(row.sourced_id)
        if demographics_row is not None:
            known = _demographics(demographics_row, self.today)
        wanted = StudentPlan(
            change=Change.CREATE,
            pk=None,
            school_code=code,
            sourced_id=row.sourced_id,
            sis_id=row.sis_id,
            first_name=row.first_name,
            last_name=row.last_name,
            birth_date=known.birth_date,
            grade=row.grade,
            sex=known.sex,
            ethnicity=known.ethnicity,
        )
        if held is None:
            self.plans.append(wanted)
        else:
            changed = _changed(held.__dict__, wanted, STUDENT_FIELDS)
            self.plans.append(_update(wanted, held.pk, changed))


def plan_roster(
    export: Export, held: Held, *, today: date, advance: Advance = lambda done: None
) -> Plan:
    """What importing EXPORT changes in what SafeStep HOLDS; RosterError at a bad row.

    TODAY bounds the birth dates (none today or later); ADVANCE hears of each staff member
    and student planned.
    """
    schools = _plan_schools(export, held.schools)
    staff = _plan_staff(export, held.staff, schools)
    advance(len(export.staff))
    students = _Students(export, held.students, schools, today)
    for row in export.students:
        students.plan(row)
        advance(1)
    return Plan(schools=schools.plans, staff=staff, students=students.plans)
