"""A synthetic district at any size, for benchmarks and drills, written in bulk.

Cases run on all three pathways and stand at every stage, with the step records, facts,
check-in plans and check-ins, notes, links, concerns and disclosures a real district
would have, and about 50 audit events each (writes, and above all reads). Everything is
written the way SafeStep itself stores it: free text encrypted, events hash-chained in
``seq`` order after whatever the trail already holds, with signed checkpoints. Each event
row is built by the audit chain's own ``chain_event`` under its ``lock_chain``
(``safestep.audit.chain``), as ``event_record`` builds it, so ``safestep audit verify``
passes on a seeded database, and every page reads real rows.

Rows are inserted in batches (one transaction each, holding the audit chain's lock), not
through the services: calling a service per step would take hours at 100,000 cases.

Seeded schools are named ``BENCH0001``...; users ``bench0001_admin`` (site_admin),
``bench0001_counselor``, ``bench0001_reporter`` per school, and ``bench_police``,
``bench_placement``, ``bench_coordinator``, ``bench_auditor`` for the district. Two marked
cases at ``BENCH0001`` serve measurements: a typical one (student ``BENCH-TYPICAL``) and one
with a long history (student ``BENCH-LONG``: hundreds of check-ins and notes, thousands of
events).
"""

from __future__ import annotations

import multiprocessing
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Field, ForeignKey, Model, OneToOneField
from django.db.models import fields as field_types
from django.utils import timezone

from safestep.accounts.models import Role, School, User
from safestep.audit.chain import (
    CHAINED_COLUMNS,
    GENESIS_HASH,
    append_checkpoint_file,
    chain_event,
    checkpoint_key,
    checkpoint_signature,
    lock_chain,
)
from safestep.audit.disclosures import disclosure_rule
from safestep.audit.models import Checkpoint, Disclosure, Event, to_microseconds
from safestep.audit.services import CHECKPOINT_EVERY
from safestep.cases.models import (
    Case,
    CaseFact,
    CaseLink,
    CaseStatus,
    CheckIn,
    CheckInPlan,
    Concern,
    ConcernStatus,
    ConcernStudent,
    Note,
    ReferenceCounter,
    StepRecord,
    Student,
)
from safestep.core.crypto import encrypt_json
from safestep.definitions.models import ProtocolVersion
from safestep.definitions.selectors import SHIPPED_PROTOCOL_ID, definition_of, protocol_current
from safestep.definitions.services import protocol_load_shipped
from safestep.protocol import Pathway, Protocol, RecordInput, Step, evaluate
from safestep.reports.rollups import rollup_rebuild

# The benchmark seeds the shipped protocol, whichever one the install has activated.
PROTOCOL_ID = SHIPPED_PROTOCOL_ID
SCHOOL_PREFIX = "BENCH"
TYPICAL_SIS_ID = "BENCH-TYPICAL"
LONG_SIS_ID = "BENCH-LONG"
SIS_PREFIX = "BN"
CASES_PER_SCHOOL = 250
MAX_SCHOOLS = 400
# Three school years of history: old cases are mostly closed, recent ones mostly open.
HISTORY_DAYS = 3 * 365
RECENT_DAYS = 120
DISTRICT_USERS = {
    "bench_police": Role.SCHOOL_POLICE,
    "bench_placement": Role.PLACEMENT_OFFICE,
    "bench_coordinator": Role.DISTRICT_COORDINATOR,
    "bench_auditor": Role.AUDITOR,
}
PATHWAY_MIX = (
    ("recruitment_by_student", 0.2),
    ("suspected_victim", 0.55),
    ("confirmed_victim", 0.25),
)
FIRST_NAMES = ("Ana", "Maya", "Jordan", "Lee", "Sam", "Noor", "Diego", "Priya", "Kai", "Zoe")
LAST_NAMES = ("Lopez", "Reyes", "Cole", "Park", "Nguyen", "Smith", "Ali", "Garcia", "Kim", "Brown")
READ_CHANNELS = ("page", "page", "page", "api", "timeline")
# An event row as inserted: the chained columns (the audit chain's own list and order),
# then the link to the event before and the event's hash.
EVENT_COLUMNS = (*CHAINED_COLUMNS, "prev_hash", "hash")


def school_code(number: int) -> str:
    return f"{SCHOOL_PREFIX}{number:04d}"


def school_count_for(cases: int) -> int:
    return max(2, min(MAX_SCHOOLS, round(cases / CASES_PER_SCHOOL)))


def is_bench_school(code: str) -> bool:
    return code.startswith(SCHOOL_PREFIX)


def foreign_case_count() -> int:
    """Cases that seed-bench did not make: real data that a benchmark must not touch."""
    return Case.objects.exclude(school__code__startswith=SCHOOL_PREFIX).count()


def bench_case_count() -> int:
    return Case.objects.filter(school__code__startswith=SCHOOL_PREFIX).count()


# --- the district ---------------------------------------------------------------------


@dataclass
class Staff:
    admin: User
    counselor: User
    reporter: User


@dataclass
class District:
    schools: list[School]
    staff: dict[int, Staff]  # by school pk
    police: User
    placement: User
    coordinator: User
    auditor: User


def district_ensure(school_total: int) -> District:
    """Schools BENCH0001..N and their staff; what exists already is kept."""
    codes = [school_code(number) for number in range(1, school_total + 1)]
    existing = set(School.objects.filter(code__in=codes).values_list("code", flat=True))
    School.objects.bulk_create(
        [
            School(code=code, name=f"Benchmark School {code[len(SCHOOL_PREFIX) :]}")
            for code in codes
            if code not in existing
        ]
    )
    schools = list(School.objects.filter(code__in=codes).order_by("code"))
    wanted: dict[str, tuple[str, School | None]] = {
        username: (role, None) for username, role in DISTRICT_USERS.items()
    }
    for school in schools:
        prefix = school.code.lower()
        wanted[f"{prefix}_admin"] = (Role.SITE_ADMIN, school)
        wanted[f"{prefix}_counselor"] = (Role.COUNSELOR, school)
        wanted[f"{prefix}_reporter"] = (Role.REPORTER, school)
    known = set(User.objects.filter(username__in=list(wanted)).values_list("username", flat=True))
    new_users = [
        User(
            username=username,
            role=role,
            email=f"{username}@bench.invalid",
            # No password: benchmarks sign in with tokens and sessions made for them.
            password="!",
            first_name=username.split("_")[-1].capitalize(),
            last_name=username.split("_")[0].upper(),
        )
        for username, (role, _) in wanted.items()
        if username not in known
    ]
    User.objects.bulk_create(new_users)
    users = {user.username: user for user in User.objects.filter(username__in=list(wanted))}
    memberships = [
        User.schools.through(user_id=users[username].pk, school_id=school.pk)
        for username, (_, school) in wanted.items()
        if school is not None and username not in known
    ]
    User.schools.through.objects.bulk_create(memberships, ignore_conflicts=True)
    staff = {
        school.pk: Staff(
            admin=users[f"{school.code.lower()}_admin"],
            counselor=users[f"{school.code.lower()}_counselor"],
            reporter=users[f"{school.code.lower()}_reporter"],
        )
        for school in schools
    }
    return District(
        schools=schools,
        staff=staff,
        police=users["bench_police"],
        placement=users["bench_placement"],
        coordinator=users["bench_coordinator"],
        auditor=users["bench_auditor"],
    )


# --- one case's story -----------------------------------------------------------------


@dataclass
class PlannedEvent:
    at: datetime
    actor: User | None
    action: str
    case_index: int | None
    step_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    sensitive: dict[str, Any] | None = None
    # Filled in once the rows it mentions have ids.
    payload_ids: dict[str, str] = field(default_factory=dict)
    disclosure: int | None = None  # index into the batch's disclosures


@dataclass
class PlannedRecord:
    step: Step
    resolution: str
    occurred_at: datetime
    recorded_at: datetime
    actor: User
    details: dict[str, Any]
    reason: str = ""


@dataclass
class CaseStory:
    index: int
    school: School
    staff: Staff
    student: Student
    pathway: str
    opened_at: datetime
    suspicion_formed_at: datetime
    summary: str
    facts: list[CaseFact]
    records: list[PlannedRecord]
    plan: CheckInPlan | None
    check_ins: list[CheckIn]
    notes: list[Note]
    closed_at: datetime | None
    outcome: str
    needs_review: bool
    review_reasons: list[str]
    concern: Concern | None
    events: list[PlannedEvent]
    next_due_at: datetime | None = None
    case: Case | None = None


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _details(
    rng: random.Random, step: Step, at: datetime, story: CaseStory, district: District
) -> tuple[str, dict[str, Any], str]:
    """A realistic (resolution, details, reason) for STEP, valid for the protocol's fields."""
    ref = f"{rng.randrange(10**7):07d}"
    if step.id == "police_involved":
        agency = rng.choice(("school_police", "school_police", "sdpd"))
        details = {"agency": agency, "officer": f"Ofc. {rng.choice(LAST_NAMES)}"}
        if agency != "school_police":
            # A disclosure under FERPA's health-or-safety exception records the threat.
            details["threat"] = "An adult outside the school is exploiting the student."
        return "done", details, ""
    if step.id == "cws_report":
        phoned = at - timedelta(hours=rng.randint(1, 20))
        details = {
            "agency": "cws",
            "phoned_at": _iso(phoned),
            "written_submitted_at": _iso(at),
            "reference": f"CWS-{ref}",
        }
        return "done", details, ""
    if step.id == "campus_impact":
        involved = rng.random() < 0.2
        return (
            "done",
            {
                "findings": "Spoke with teachers and the campus supervisor; "
                + ("another student is involved." if involved else "no other students involved."),
                "other_students_involved": involved,
                "safety_measures": "Escort between classes for two weeks.",
            },
            "",
        )
    if step.id == "school_consequences":
        return (
            "done",
            {
                "consequence": rng.choice(("Suspension, 3 days", "None: the student is a victim")),
                "expulsion_recommended": False,
                "referred_for_criminal_investigation": rng.random() < 0.7,
            },
            "",
        )
    if step.id == "police_investigation":
        return (
            "done",
            {"agency": "sdpd", "unit": "Human trafficking task force", "case_number": ref},
            "",
        )
    if step.id == "le_trafficking_entry":
        return "done", {"le_reference": f"LE-{ref}"}, ""
    if step.id == "parent_contact":
        if rng.random() < 0.15:
            reason = "A parent may be involved; the student asked that nobody at home be called."
            return "not_applicable", {"victim_consulted": True}, reason
        return (
            "done",
            {
                "victim_consulted": True,
                "contacted_person": f"{rng.choice(FIRST_NAMES)} {story.student.last_name}",
                "relationship": rng.choice(("mother", "father", "grandmother", "guardian")),
                "method": rng.choice(("phone", "in_person")),
            },
            "",
        )
    if step.id == "placement_review":
        if rng.random() < 0.3:
            other = rng.choice(district.schools)
            return (
                "done",
                {
                    "decision": "transfer",
                    "reason": "A fresh start away from the recruiter's circle.",
                    "new_school": other.code,
                    "transfer_completed_at": _iso(at),
                },
                "",
            )
        return "done", {"decision": "stays", "reason": "Safety plan in place at school."}, ""
    if step.id == "service_referral":
        return (
            "done",
            {
                "offered_to": rng.choice(("student", "family", "both")),
                "services": rng.sample(
                    ["School counseling", "Social services", "Victim advocacy"], 2
                ),
                "response": rng.choice(("accepted", "accepted", "declined", "pending")),
            },
            "",
        )
    if step.id == "regular_contact":
        return "done", {"every_days": 7, "assignee": story.staff.counselor.username}, ""
    return "done", {}, ""


def _actor_for(step: Step, story: CaseStory, district: District) -> User:
    roles = step.actor_roles
    if step.police_only or roles == ("school_police",):
        return district.police
    if "counselor" in roles and step.id in ("parent_contact", "service_referral", "cws_report"):
        return story.staff.counselor
    return story.staff.admin


@dataclass
class StoryShape:
    """What kind of case to make: drawn at random, or fixed for the marked cases."""

    pathway: str
    age_days: float
    closed: bool
    progress: float  # share of the pathway's steps resolved (open cases)
    extra_reads: int
    check_ins: int | None = None  # None: as the plan and the time allow
    notes: int | None = None
    check_in_every_days: int = 7


def _random_shape(rng: random.Random, age_days: float, events_per_case: int) -> StoryShape:
    roll = rng.random()
    pathway = "suspected_victim"
    for name, share in PATHWAY_MIX:
        if roll < share:
            pathway = name
            break
        roll -= share
    closed = rng.random() < (0.93 if age_days > RECENT_DAYS else 0.15)
    return StoryShape(
        pathway=pathway,
        age_days=age_days,
        closed=closed,
        progress=rng.random(),
        extra_reads=max(0, events_per_case),
    )


def plan_case(
    rng: random.Random,
    *,
    index: int,
    serial: int,
    shape: StoryShape,
    school: School,
    district: District,
    definition: Protocol,
    now: datetime,
    sis_id: str | None = None,
) -> CaseStory:
    """One case's story, told in time order: its rows, and an event for each change."""
    student = Student(
        sis_id=sis_id or f"{SIS_PREFIX}{serial:09d}",
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        grade=str(rng.randint(6, 12)),
        school=school,
    )
    story = _new_story(rng, index, student, shape, district.staff[school.pk], now)
    planner = _CasePlanner(rng, story, district, now, clock=story.opened_at)
    if rng.random() < 0.5:
        planner.concern()
    planner.event(
        story.opened_at,
        story.staff.admin,
        "case.open",
        payload={"pathway": shape.pathway, "protocol": f"{PROTOCOL_ID}", "concern": None},
    )
    planner.steps(definition.pathway(shape.pathway), shape)
    end = planner.close(shape)
    planner.check_ins(shape, end)
    planner.notes(shape, end)
    if story.closed_at is not None:
        planner.event(
            story.closed_at, story.staff.admin, "case.close", sensitive={"outcome": story.outcome}
        )
    planner.reads(shape, end)
    story.next_due_at = _next_due(definition, story, planner.facts, now)
    return story


def _new_story(
    rng: random.Random,
    index: int,
    student: Student,
    shape: StoryShape,
    staff: Staff,
    now: datetime,
) -> CaseStory:
    opened_at = now - timedelta(days=shape.age_days)
    return CaseStory(
        index=index,
        school=student.school,
        staff=staff,
        student=student,
        pathway=shape.pathway,
        opened_at=opened_at,
        suspicion_formed_at=opened_at - timedelta(hours=rng.uniform(1, 30)),
        summary="Frequent absences, an older 'boyfriend' picks the student up after school.",
        facts=[],
        records=[],
        plan=None,
        check_ins=[],
        notes=[],
        closed_at=None,
        outcome="",
        needs_review=False,
        review_reasons=[],
        concern=None,
        events=[],
    )


@dataclass
class _CasePlanner:
    """Fills in one story step by step; ``clock`` is the time of its latest change."""

    rng: random.Random
    story: CaseStory
    district: District
    now: datetime
    clock: datetime
    facts: dict[str, bool | None] = field(default_factory=dict)

    def event(self, at: datetime, actor: User | None, action: str, **kwargs: Any) -> PlannedEvent:
        planned = PlannedEvent(min(at, self.now), actor, action, self.story.index, **kwargs)
        self.story.events.append(planned)
        return planned

    def concern(self) -> None:
        """The reporter's concern that the case was opened from."""
        story, staff = self.story, self.story.staff
        submitted = story.suspicion_formed_at - timedelta(minutes=self.rng.randint(5, 600))
        story.concern = Concern(
            submitted_by=staff.reporter,
            submitted_at=submitted,
            school=story.school,
            observed_at=submitted - timedelta(hours=self.rng.randint(1, 48)),
            description="Seen leaving campus with an adult; new phone and clothes.",
            indicators=["older_partner", "unexplained_possessions"],
            status=ConcernStatus.TRIAGED,
            triaged_by=staff.admin,
            triaged_at=story.opened_at,
        )
        self.event(
            submitted, staff.reporter, "concern.submit", payload={"school": story.school.code}
        )

    def steps(self, pathway: Pathway, shape: StoryShape) -> None:
        """A case moves through its steps in the protocol's order; open cases stop part-way."""
        resolvable = list(pathway.steps)
        target = len(resolvable) if shape.closed else int(shape.progress * len(resolvable))
        for step in resolvable[:target]:
            if step.condition is not None and not self.condition_holds(step):
                continue
            self.clock += timedelta(hours=self.rng.uniform(1, 40))
            at = min(self.clock, self.now - timedelta(minutes=5))
            if step.recurring:
                self.plan_check_ins(step, at, shape.check_in_every_days)
            else:
                self.resolve(step, at)

    def condition_holds(self, step: Step) -> bool:
        """Answer the fact STEP's condition depends on (once per case); does STEP apply?"""
        name = "abuse_or_neglect_suspected" if step.id == "cws_report" else "reliable_evidence"
        if name not in self.facts:
            if name == "abuse_or_neglect_suspected" and self.rng.random() < 0.1:
                reason = "The student's account points to a peer, not to a caregiver."
                self.set_fact(name, False, reason)
                self.story.needs_review = True
                self.story.review_reasons.append(f"fact {name} answered False: {reason}")
            else:
                self.set_fact(name, self.rng.random() < 0.85)
        return bool(self.facts[name])

    def set_fact(self, name: str, value: bool, reason: str = "") -> None:
        admin = self.story.staff.admin
        self.clock += timedelta(hours=self.rng.uniform(0.2, 6))
        self.facts[name] = value
        self.story.facts.append(
            CaseFact(fact_id=name, value=value, reason=reason, set_by=admin, set_at=self.clock)
        )
        self.event(
            self.clock,
            admin,
            "case.facts_set",
            payload={"facts": {name: value}, "reason_given": bool(reason)},
            sensitive={"reason": reason} if reason else None,
        )

    def plan_check_ins(self, step: Step, at: datetime, every: int) -> None:
        counselor = self.story.staff.counselor
        self.story.plan = CheckInPlan(
            every_days=every, assignee=counselor, started_at=at, set_by=counselor
        )
        details = {"every_days": every, "assignee": counselor.username}
        self.story.records.append(PlannedRecord(step, "done", at, at, counselor, details))
        self.event(at, counselor, "checkin.plan_set", payload=dict(details))

    def resolve(self, step: Step, at: datetime) -> None:
        """Complete STEP, or mark it "does not apply" with a reason."""
        resolution, details, reason = _details(self.rng, step, at, self.story, self.district)
        actor = _actor_for(step, self.story, self.district)
        occurred = at - timedelta(minutes=self.rng.randint(5, 120))
        self.story.records.append(
            PlannedRecord(step, resolution, occurred, at, actor, details, reason)
        )
        if resolution != "done":
            self.event(
                at,
                actor,
                "step.not_applicable",
                step_id=step.id,
                payload={"review": step.review_when_not_applicable},
                sensitive={"reason": reason},
            )
            return
        self.event(
            at, actor, "step.complete", step_id=step.id, payload={"occurred_at": _iso(occurred)}
        )
        self.disclose(step, at, actor, details)

    def disclose(self, step: Step, at: datetime, actor: User, details: dict[str, Any]) -> None:
        """The disclosure a completed step makes, if it names someone outside the school."""
        rule = disclosure_rule(step)
        recipient = rule.recipient(details) if rule is not None else None
        if rule is None or recipient is None:
            return
        planned = self.event(
            at,
            actor,
            "disclosure.record",
            step_id=step.id,
            payload={
                "categories": list(rule.categories),
                "legal_basis": rule.legal_basis,
                "recipient_type": recipient.type,
                "concern": None,
            },
            sensitive={"recipient": recipient.name},
        )
        planned.payload_ids["recipient"] = recipient.name

    def close(self, shape: StoryShape) -> datetime:
        """Close the case if its shape says so; the end of its history (now if open)."""
        if not shape.closed:
            return self.now
        self.clock += timedelta(days=self.rng.uniform(1, 20))
        self.story.closed_at = min(self.clock, self.now - timedelta(minutes=1))
        self.story.outcome = "Services in place; the student is attending regularly."
        return self.story.closed_at

    def check_ins(self, shape: StoryShape, end: datetime) -> None:
        """Check-ins on the plan's rhythm, or a fixed number squeezed into the case's time."""
        plan = self.story.plan
        if plan is None:
            return
        fixed = shape.check_ins is not None
        start = plan.started_at
        if shape.check_ins is not None:
            count = shape.check_ins
        else:
            span_days = max(0.0, (end - start).total_seconds() / 86400)
            count = min(12, int(span_days // plan.every_days))
        counselor = self.story.staff.counselor
        for number in range(count):
            at = start + timedelta(days=plan.every_days * (number + 1))
            if fixed:
                at = start + (end - start) * ((number + 1) / (count + 1))
            if at >= end:
                break
            self.story.check_ins.append(
                CheckIn(
                    occurred_at=at,
                    method=self.rng.choice(("in_person", "in_person", "phone")),
                    notes="Attending class; says things are calmer at home.",
                    recorded_by=counselor,
                    recorded_at=at,
                )
            )
            planned = self.event(at, counselor, "checkin.record", payload={"method": "in_person"})
            planned.payload_ids["check_in"] = str(len(self.story.check_ins) - 1)

    def notes(self, shape: StoryShape, end: datetime) -> None:
        story = self.story
        count = shape.notes if shape.notes is not None else self.rng.choice((0, 1, 1, 2, 3))
        for number in range(count):
            at = story.opened_at + (end - story.opened_at) * ((number + 1) / (count + 1))
            author = story.staff.counselor if number % 2 else story.staff.admin
            story.notes.append(
                Note(
                    author=author,
                    text="Met with the student; will follow up next week.",
                    created_at=at,
                )
            )
            planned = self.event(at, author, "note.add")
            planned.payload_ids["note"] = str(len(story.notes) - 1)

    def reads(self, shape: StoryShape, end: datetime) -> None:
        """Reads: most events in a real trail are people opening the case."""
        story, district, rng = self.story, self.district, self.rng
        staff = story.staff
        readers = [staff.admin, staff.admin, staff.counselor, district.police, district.coordinator]
        last_read = min(self.now, end + timedelta(days=30))
        reads = max(0, shape.extra_reads - len(story.events))
        span = (last_read - story.opened_at).total_seconds()
        for _ in range(reads):
            at = story.opened_at + timedelta(seconds=rng.uniform(0, span))
            self.event(
                at, rng.choice(readers), "case.read", payload={"via": rng.choice(READ_CHANNELS)}
            )


def _next_due(
    definition: Protocol, story: CaseStory, facts: dict[str, bool | None], now: datetime
) -> datetime | None:
    if story.closed_at is not None:
        return None
    evaluation = evaluate(
        definition,
        story.pathway,
        facts=facts,
        records=[
            RecordInput(
                step_id=record.step.id,
                resolution=record.resolution,  # type: ignore[arg-type]
                occurred_at=record.occurred_at,
                recorded_at=record.recorded_at,
                key=f"{number:012d}",
            )
            for number, record in enumerate(story.records)
        ],
        now=now,
        anchors={
            "suspicion_formed_at": story.suspicion_formed_at,
            "case_opened_at": story.opened_at,
        },
        tz=settings.TIME_ZONE,
    )
    due = [
        status.due_at for status in evaluation.steps if status.due_at is not None and status.is_open
    ]
    return min(due, default=None)


# --- writing a batch ------------------------------------------------------------------


def _reserve_references(stories: Sequence[CaseStory]) -> dict[int, str]:
    """Case references from the same yearly counters case_open uses, so later cases follow."""
    by_year: dict[int, list[CaseStory]] = {}
    for story in stories:
        by_year.setdefault(story.opened_at.year, []).append(story)
    references: dict[int, str] = {}
    for year, members in sorted(by_year.items()):
        counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
        first = counter.last + 1
        counter.last += len(members)
        counter.save(update_fields=["last"])
        for offset, story in enumerate(sorted(members, key=lambda item: item.opened_at)):
            references[story.index] = f"CSEC-{year}-{first + offset:04d}"
    return references


def _source_ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(1, 60)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def write_batch(
    stories: Sequence[CaseStory], protocol: ProtocolVersion, rng: random.Random, links: float
) -> int:
    """Insert STORIES and their events in one transaction; return the number of events.

    The case references are drawn first, in a short transaction of their own, so that
    batches written side by side do not queue on the yearly counters; the chain's lock is
    taken only for the events (``_write_events``).
    """
    with transaction.atomic():
        references = _reserve_references(stories)
    with transaction.atomic():
        bulk_insert(Student, [story.student for story in stories])
        cases = [
            Case(
                reference=references[story.index],
                school=story.school,
                student=story.student,
                protocol=protocol,
                pathway=story.pathway,
                status=CaseStatus.CLOSED if story.closed_at else CaseStatus.OPEN,
                summary=story.summary,
                suspicion_formed_at=story.suspicion_formed_at,
                opened_at=story.opened_at,
                opened_by=story.staff.admin,
                closed_at=story.closed_at,
                closed_by=story.staff.admin if story.closed_at else None,
                outcome=story.outcome,
                version=1 + sum(1 for event in story.events if event.action != "case.read"),
                next_due_at=story.next_due_at,
                needs_review=story.needs_review,
                review_reasons=story.review_reasons,
            )
            for story in stories
        ]
        bulk_insert(Case, cases)
        for story, case in zip(stories, cases, strict=True):
            story.case = case
        concerns = [story.concern for story in stories if story.concern is not None]
        bulk_insert(Concern, concerns)
        bulk_insert(
            ConcernStudent,
            [
                ConcernStudent(concern=story.concern, student=story.student, case=_case_of(story))
                for story in stories
                if story.concern is not None
            ],
        )
        facts = []
        for story in stories:
            for fact in story.facts:
                fact.case = _case_of(story)
                facts.append(fact)
        bulk_insert(CaseFact, facts)
        bulk_insert(
            StepRecord,
            [
                StepRecord(
                    case=story.case,
                    step_id=record.step.id,
                    pathway=story.pathway,
                    resolution=record.resolution,
                    occurred_at=record.occurred_at,
                    recorded_at=record.recorded_at,
                    actor=record.actor,
                    details=record.details,
                    reason=record.reason,
                )
                for story in stories
                for record in story.records
            ],
        )
        plans = []
        for story in stories:
            if story.plan is not None:
                story.plan.case = _case_of(story)
                plans.append(story.plan)
        bulk_insert(CheckInPlan, plans)
        check_ins = []
        notes = []
        for story in stories:
            for check_in in story.check_ins:
                check_in.case = _case_of(story)
                check_ins.append(check_in)
            for note in story.notes:
                note.case = _case_of(story)
                notes.append(note)
        bulk_insert(CheckIn, check_ins)
        bulk_insert(Note, notes)
        link_rows = _links(stories, rng, links)
        bulk_insert(CaseLink, link_rows)
        return _write_events(stories, link_rows, rng)


def _links(stories: Sequence[CaseStory], rng: random.Random, share: float) -> list[CaseLink]:
    """A few cases linked to an earlier case at the same school (recruiter and recruited)."""
    last_at_school: dict[int, CaseStory] = {}
    rows = []
    for story in stories:
        earlier = last_at_school.get(story.school.pk)
        if earlier is not None and rng.random() < share:
            assert story.case is not None
            assert earlier.case is not None
            at = max(story.opened_at, earlier.opened_at) + timedelta(hours=2)
            at = min(at, timezone.now())
            rows.append(
                CaseLink(
                    from_case=earlier.case,
                    to_case=story.case,
                    relation="recruited"
                    if earlier.pathway == "recruitment_by_student"
                    else "same_incident",
                    created_by=story.staff.admin,
                    created_at=at,
                )
            )
            for side, other in ((earlier, story), (story, earlier)):
                assert other.case is not None
                planned = PlannedEvent(
                    at,
                    story.staff.admin,
                    "case.link",
                    side.index,
                    payload={"other_case": other.case.pk, "relation": rows[-1].relation},
                )
                planned.payload_ids["link"] = str(len(rows) - 1)
                side.events.append(planned)
        last_at_school[story.school.pk] = story
    return rows


def _write_events(
    stories: Sequence[CaseStory], links: Sequence[CaseLink], rng: random.Random
) -> int:
    """Append the batch's events to the chain (and their disclosures and checkpoints).

    Everything that does not depend on an event's place in the chain (payloads, sealed
    parts, request ids) is made first; only numbering and hashing happen under the chain's
    lock, so batches written by several processes wait for each other as little as
    possible.
    """
    by_index = {story.index: story for story in stories}
    planned = sorted(
        (event for story in stories for event in story.events), key=lambda event: event.at
    )
    ip_of_actor: dict[int, str] = {}
    prepared: list[tuple[PlannedEvent, CaseStory | None, dict[str, Any]]] = []
    for event in planned:
        story = by_index[event.case_index] if event.case_index is not None else None
        case_id = story.case.pk if story is not None and story.case is not None else None
        payload = dict(event.payload)
        ids = event.payload_ids
        if story is not None:
            if "note" in ids:
                payload["note"] = story.notes[int(ids["note"])].pk
            if "check_in" in ids:
                payload["check_in"] = story.check_ins[int(ids["check_in"])].pk
            if "link" in ids:
                payload["link"] = links[int(ids["link"])].pk
            if event.action == "case.open":
                payload["reference"] = story.case.reference if story.case else ""
                payload["concern"] = story.concern.pk if story.concern is not None else None
            if event.action == "concern.submit" and story.concern is not None:
                payload["concern"] = story.concern.pk
                payload["own_report"] = False
        actor = event.actor
        actor_id = actor.pk if actor is not None else None
        if actor_id is not None and actor_id not in ip_of_actor:
            ip_of_actor[actor_id] = _source_ip(rng)
        fields: dict[str, Any] = {
            "at_us": to_microseconds(event.at),
            "actor_id": actor_id,
            "actor_username": actor.username if actor is not None else "",
            "actor_role": actor.role if actor is not None else "",
            "action": event.action,
            "case_id": case_id,
            "step_id": event.step_id,
            "source_ip": ip_of_actor.get(actor_id or 0, ""),
            "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "payload": payload,
            "sealed": encrypt_json(event.sensitive) if event.sensitive else "",
        }
        prepared.append((event, story, fields))
    lock_chain()
    last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = last if last else (0, GENESIS_HASH)
    rows: list[tuple[Any, ...]] = []
    disclosures: list[Disclosure] = []
    checkpoints: list[Checkpoint] = []
    key = checkpoint_key()
    for event, story, fields in prepared:
        seq += 1
        # The values and hash exactly as event_record makes them (safestep.audit.chain).
        link = chain_event(prev_hash, seq=seq, **fields)
        row_hash = link.hash
        rows.append((*link.values, prev_hash, row_hash))
        if (
            event.action == "disclosure.record"
            and story is not None
            and event.actor is not None
            and fields["case_id"] is not None
        ):
            disclosures.append(
                Disclosure(
                    student_id=story.student.pk,
                    case_id=fields["case_id"],
                    step_id=event.step_id,
                    event_seq=seq,
                    recipient=event.payload_ids.get("recipient", ""),
                    recipient_type=event.payload.get("recipient_type", "other"),
                    categories=event.payload.get("categories", []),
                    legal_basis=event.payload.get("legal_basis", ""),
                    disclosed_at=event.at,
                    recorded_by=event.actor,
                )
            )
        if seq % CHECKPOINT_EVERY == 0:
            at_us = to_microseconds(timezone.now())
            signature = checkpoint_signature(seq, row_hash, at_us, key)
            checkpoints.append(Checkpoint(seq=seq, hash=row_hash, at_us=at_us, signature=signature))
        prev_hash = row_hash
    insert_events(rows)
    bulk_insert(Disclosure, disclosures)
    bulk_insert(Checkpoint, checkpoints)
    for checkpoint in checkpoints:
        # As event_record does: the file copy only once the rows are committed.
        transaction.on_commit(_file_copy(checkpoint))
    return len(rows)


def _file_copy(checkpoint: Checkpoint) -> Callable[[], None]:
    def append() -> None:
        append_checkpoint_file(
            checkpoint.seq, checkpoint.hash, checkpoint.at_us, checkpoint.signature
        )

    return append


def _case_of(story: CaseStory) -> Case:
    assert story.case is not None, "cases are inserted before the rows that point at them"
    return story.case


def bulk_insert(model: type[Model], objects: Sequence[Model]) -> None:
    """Insert OBJECTS, setting their ids: COPY on PostgreSQL, bulk_create elsewhere.

    COPY returns no ids, so on PostgreSQL the ids are taken from the table's own sequence
    first (one query), exactly as the inserts would have drawn them. Every value goes
    through its field's ``get_db_prep_save``, as bulk_create does, so encrypted fields are
    encrypted and JSON is stored the same way.
    """
    if not objects:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects, batch_size=2000)
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    # The connection itself, not the per-thread proxy: looked up once, not once per value.
    database = connections[connection.alias]
    without_id = [obj for obj in objects if obj.pk is None]
    with connection.cursor() as cursor:
        if without_id:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(without_id)],
            )
            for obj, (new_id,) in zip(without_id, cursor.fetchall(), strict=True):
                obj.pk = new_id
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [meta.db_table],
        )
        type_of_column = dict(cursor.fetchall())
        columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
        plain = [_stored_as_is(field) for field in fields]
        with cursor.cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy:
            copy.set_types([type_of_column[field.column] for field in fields])
            for obj in objects:
                # What bulk_create does: related objects saved earlier lend their new ids.
                obj._prepare_related_fields_for_save(operation_name="bulk_insert")  # type: ignore[attr-defined]
                copy.write_row(
                    [
                        getattr(obj, field.attname)
                        if as_is
                        else field.get_db_prep_save(field.pre_save(obj, True), database)
                        for field, as_is in zip(fields, plain, strict=True)
                    ]
                )
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias


# Fields whose Python value psycopg writes exactly as Django would store it: no encryption,
# no JSON, no conversion. Skipping ``get_db_prep_save`` for them halves the seeder's time.
_AS_IS_FIELDS = (
    field_types.AutoField,
    field_types.BigAutoField,
    field_types.BigIntegerField,
    field_types.BooleanField,
    field_types.CharField,
    field_types.DateField,
    field_types.DateTimeField,
    field_types.IntegerField,
    field_types.PositiveIntegerField,
    field_types.PositiveSmallIntegerField,
    field_types.TextField,
    ForeignKey,
    OneToOneField,
)


def _stored_as_is(field: Field[Any, Any]) -> bool:
    """Whether FIELD's value goes to the database unchanged (exact types only: a subclass,
    such as an encrypted text field, converts its value)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    return type(field) in _AS_IS_FIELDS


def insert_events(rows: Sequence[tuple[Any, ...]]) -> None:
    """Append ready-chained rows: COPY on PostgreSQL, one prepared insert on SQLite."""
    columns = ", ".join(EVENT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY audit_event ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(EVENT_COLUMNS))
            cursor.executemany(
                f"INSERT INTO audit_event ({columns}) VALUES ({marks})",  # noqa: S608
                rows,
            )


# --- the whole seed -------------------------------------------------------------------


@dataclass
class SeedResult:
    cases: int
    events: int
    schools: int


def seed_bench(
    *,
    cases: int,
    events_per_case: int = 50,
    long_history_events: int = 5000,
    batch_size: int = 500,
    seed: int = 8,
    link_share: float = 0.05,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> SeedResult:
    """Add CASES synthetic cases (plus the two marked ones, once) to the database.

    WORKERS > 1 writes batches from that many processes at once (PostgreSQL only).
    """
    if cases < 0:
        raise ValueError("cases must not be negative")
    protocol_load_shipped()
    protocol = protocol_current(PROTOCOL_ID)
    definition = definition_of(protocol)
    existing = bench_case_count()
    district = district_ensure(school_count_for(existing + cases))
    # Reproducible synthetic data, not secrets.
    rng = random.Random(f"{seed}:{existing}")  # noqa: S311
    now = timezone.now()
    serial = Student.objects.filter(sis_id__startswith=SIS_PREFIX).count() + 1
    events = 0
    made = 0
    first_school = district.schools[0]
    marked: list[CaseStory] = []
    if not Student.objects.filter(sis_id=TYPICAL_SIS_ID).exists():
        marked.append(
            plan_case(
                rng,
                index=-1,
                serial=0,
                shape=StoryShape("suspected_victim", 12, False, 0.45, events_per_case, notes=2),
                school=first_school,
                district=district,
                definition=definition,
                now=now,
                sis_id=TYPICAL_SIS_ID,
            )
        )
    if not Student.objects.filter(sis_id=LONG_SIS_ID).exists():
        marked.append(
            plan_case(
                rng,
                index=-2,
                serial=0,
                shape=StoryShape(
                    "suspected_victim", 400, False, 1.0, long_history_events, 300, 150, 1
                ),
                school=first_school,
                district=district,
                definition=definition,
                now=now,
                sis_id=LONG_SIS_ID,
            )
        )
    if marked:
        events += write_batch(marked, protocol, rng, 0.0)
    plan = _BatchPlan(
        cases=cases,
        seed=f"{seed}:{existing}",
        serial=serial,
        events_per_case=events_per_case,
        link_share=link_share,
        district=district,
        protocol=protocol,
        definition=definition,
        now=now,
    )
    starts = range(0, cases, batch_size)
    batches = [(start, min(cases, start + batch_size)) for start in starts]
    for batch_cases, batch_events in _write_batches(plan, batches, workers):
        events += batch_events
        made += batch_cases
        if progress is not None:
            progress(batch_cases)
    rollup_rebuild()  # the dashboard's rollup: the writes above bypass the case services
    refresh_statistics()
    return SeedResult(cases=made + len(marked), events=events, schools=len(district.schools))


@dataclass(frozen=True)
class _BatchPlan:
    """What every batch of a seed shares; a batch is made from this and its case range."""

    cases: int
    seed: str
    serial: int
    events_per_case: int
    link_share: float
    district: District
    protocol: ProtocolVersion
    definition: Protocol
    now: datetime


def _write_one_batch(plan: _BatchPlan, start: int, end: int) -> tuple[int, int]:
    """Plan and write cases START..END-1; return (cases, events) written."""
    # Reproducible synthetic data, not secrets; each batch draws from its own generator,
    # so the same seed gives the same district whichever process writes which batch.
    rng = random.Random(f"{plan.seed}:{start}")  # noqa: S311
    district = plan.district
    stories = []
    for index in range(start, end):
        # Chronological: the trail grows in time order, as it does in real use.
        age = HISTORY_DAYS * (1 - (index + 0.5) / plan.cases)
        school = district.schools[rng.randrange(len(district.schools))]
        stories.append(
            plan_case(
                rng,
                index=index,
                serial=plan.serial + index,
                shape=_random_shape(rng, age, plan.events_per_case),
                school=school,
                district=district,
                definition=plan.definition,
                now=plan.now,
            )
        )
    return len(stories), write_batch(stories, plan.protocol, rng, plan.link_share)


# The plan a forked worker process writes batches of (set just before the workers start).
_worker_plan: _BatchPlan | None = None


def _write_batch_in_worker(batch: tuple[int, int]) -> tuple[int, int]:
    assert _worker_plan is not None, "set before the workers are forked"
    return _write_one_batch(_worker_plan, *batch)


def _write_batches(
    plan: _BatchPlan, batches: Sequence[tuple[int, int]], workers: int
) -> Iterator[tuple[int, int]]:
    """Write the batches, in this process or in WORKERS processes side by side.

    Several processes are used on PostgreSQL only: each batch is its own transaction on its
    own connection, and batches queue only for the audit chain's lock while they append
    their events. SQLite has a single writer, so it writes batch after batch here.
    """
    global _worker_plan  # handed to the forked workers
    if workers <= 1 or connection.vendor != "postgresql" or len(batches) <= 1:
        for start, end in batches:
            yield _write_one_batch(plan, start, end)
        return
    # A forked worker must open its own connection, never share the parent's socket.
    connections.close_all()
    _worker_plan = plan
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap_unordered(_write_batch_in_worker, batches)
    finally:
        _worker_plan = None


def refresh_statistics() -> None:
    """Let the query planner see the new rows, and mark them visible to every transaction,
    as autovacuum would after a while.

    Without it, PostgreSQL plans with the row counts of before the seed (it hashed the
    whole student table for a 50-case list) and the benchmark would measure stale plans;
    and an index-only scan (counting open cases) would still visit every row it counts,
    which PostgreSQL does only for rows written since the last vacuum.
    """
    # VACUUM cannot run inside a transaction (a test's); ANALYZE can.
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")


def marked_case(sis_id: str) -> Case:
    return Case.objects.select_related("school").get(student__sis_id=sis_id)
