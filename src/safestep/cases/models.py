"""Students, concerns, cases and everything recorded on a case.

Free text (descriptions, summaries, notes, reasons, step details) is encrypted at rest
(core/crypto.py); code reads and writes it as plain values.

Rows here are written only by cases.services, each write with its event in the same
transaction. Nothing is deleted: a reopened step keeps its old record, marked reopened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from safestep.accounts.models import School
from safestep.core.crypto import EncryptedJSONField, EncryptedTextField
from safestep.definitions.models import ProtocolVersion

USER = settings.AUTH_USER_MODEL


class Student(models.Model):
    """A student of one school. The SIS id is unique within a school, not across the
    district: a student is (school, SIS id), so a SIS id typed at one school never reaches
    another school's student."""

    sis_id = models.CharField("SIS id", max_length=32)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField(null=True, blank=True)
    grade = models.CharField(max_length=8, blank=True)
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="students")
    # The student's sourcedId in the district's OneRoster export (`safestep roster
    # import`); blank for a student first named in a concern. A student who changed school
    # has a row at each school with the same sourcedId (see cases/roster.py).
    sourced_id = models.CharField(max_length=255, blank=True, default="")
    # What the SS 8572 asks about the victim, as the student information system knows it
    # (the roster's demographics): sex as one of cases.people.SEX_CHOICES, ethnicity in
    # words. Sealed at rest like the victim details a case records.
    sex = EncryptedTextField(blank=True)
    ethnicity = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "sis_id"], name="one_student_per_school_sis_id"
            ),
            models.UniqueConstraint(
                fields=["school", "sourced_id"],
                condition=~models.Q(sourced_id=""),
                name="one_student_per_school_sourced_id",
            ),
        ]
        indexes = [models.Index(fields=["sis_id"], name="student_sis_id")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.sis_id})"


class ConcernStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    TRIAGED = "triaged", "Triaged into a case"
    DISMISSED = "dismissed", "Dismissed"


class Concern(models.Model):
    submitted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="concerns")
    submitted_at = models.DateTimeField()
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="concerns")
    # The students it names are ConcernStudent rows (one incident may involve several).
    observed_at = models.DateTimeField()
    description = EncryptedTextField()
    indicators = models.JSONField(default=list)
    # The reporter's own report to CWS or law enforcement (PC 11166(i)): {agency, phoned_at,
    # written_submitted_at?, reference?}. The reporter may record or update it at any time.
    own_report = models.JSONField(null=True, blank=True)
    own_report_updated_at = models.DateTimeField(null=True, blank=True)
    # When the written report is due by law: 36 hours (the protocol's clock) after the
    # reporter saw it, set on submission so that a concern waiting for triage has a
    # deadline and reminders of its own.
    report_due_at = models.DateTimeField(null=True, blank=True)
    # The reporter asked that school staff not learn who reported (PC 11166(i)(2)); district
    # coordinators, auditors and School Police still see it.
    withhold_identity = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ConcernStatus.choices, default=ConcernStatus.SUBMITTED
    )
    triaged_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    dismissed_reason = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["school", "status"], name="concern_school_status"),
            models.Index(fields=["status", "report_due_at"], name="concern_status_due"),
        ]

    @property
    def mentions(self) -> list[ConcernStudent]:
        """The students it names, in the reporter's order (prefetch ``named_students``)."""
        return sorted(self.named_students.all(), key=lambda row: (row.position, row.pk))

    @property
    def main_mention(self) -> ConcernStudent:
        """The first student named: the one its summary lines are about."""
        return self.mentions[0]

    @property
    def student(self) -> Student:
        return self.main_mention.student

    @property
    def cases(self) -> list[Case]:
        """The cases opened from it, or it was attached to, once each."""
        seen: dict[int, Case] = {}
        for row in self.mentions:
            if row.case is not None:
                seen.setdefault(row.case.pk, row.case)
        return list(seen.values())


class ConcernStudent(models.Model):
    """One student a concern names, and the case that student's part went into.

    A concern may name several students of one incident; triage opens a case for each (or
    attaches the concern to the student's open case). A case's concerns are the concerns
    with a row pointing at it, and its clock runs from the earliest of them.
    """

    concern = models.ForeignKey(Concern, on_delete=models.PROTECT, related_name="named_students")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="mentions")
    # The order the reporter named them in; the first is the concern's main student.
    position = models.PositiveSmallIntegerField(default=0)
    # The student's name as the reporter typed it, kept when it differs from the school's
    # record so the site administrator can reconcile it; the record is never overwritten.
    typed_first_name = EncryptedTextField(blank=True)
    typed_last_name = EncryptedTextField(blank=True)
    name_differs = models.BooleanField(default=False)
    case = models.ForeignKey(
        "Case", null=True, blank=True, on_delete=models.PROTECT, related_name="concern_students"
    )

    class Meta:
        ordering = ["concern_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["concern", "student"], name="a_student_once_per_concern"
            )
        ]


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    # Opened in error: kept whole, out of every list but the "voided" filter.
    VOIDED = "voided", "Voided"


class Case(models.Model):
    reference = models.CharField(max_length=32, unique=True)
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="cases")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="cases")
    protocol = models.ForeignKey(ProtocolVersion, on_delete=models.PROTECT, related_name="cases")
    pathway = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    summary = EncryptedTextField(blank=True)
    suspicion_formed_at = models.DateTimeField()
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = EncryptedTextField(blank=True)
    # Optimistic concurrency: every write names the version it read and bumps it.
    version = models.PositiveIntegerField(default=1)
    # The version at which each part of the case last changed ({"step:cws_report": 7,
    # "facts": 5, "case": 3}): a write from an older version is refused only when what it
    # changes changed since (cases.services.locked_open_case).
    part_versions = models.JSONField(default=dict)
    # The earliest due time among unresolved steps, kept current by every service so that
    # "overdue" can be filtered in the database instead of evaluating every case.
    next_due_at = models.DateTimeField(null=True, blank=True)
    # True while a review of this case is open (see Review), so lists can filter on it.
    needs_review = models.BooleanField(default=False)
    # Reasons flagged before reviews existed; new decisions open a Review instead.
    review_reasons = EncryptedJSONField(default=list)
    # The victim's details the SS 8572 asks for (sex, ethnicity, primary language, address,
    # phone, disabilities, foster care, present location), kept with the case because they
    # describe the student at the time of this incident.
    victim_details = EncryptedJSONField(default=dict)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    void_reason = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "pathway"], name="case_status_pathway"),
            models.Index(fields=["status", "next_due_at"], name="case_status_next_due"),
            # A school's cases by status, newest first: the role home's work and the case
            # lists read them in this order from this index alone. It replaces the index on
            # (school, status), its first two columns.
            models.Index(
                fields=["school", "status", "-opened_at", "-id"], name="case_school_status_opened"
            ),
            # The same for district-wide readers (School Police, the coordinator): their
            # newest open cases and how many are open, without sorting every open case.
            models.Index(fields=["status", "-opened_at", "-id"], name="case_status_opened"),
        ]

    def __str__(self) -> str:
        return self.reference


class ReferenceCounter(models.Model):
    """The last case number used in a year, locked while a new case takes the next one."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class CaseFact(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="facts")
    fact_id = models.CharField(max_length=64)
    value = models.BooleanField(null=True)
    reason = EncryptedTextField(blank=True)
    set_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "fact_id"], name="one_answer_per_fact")
        ]


class Resolution(models.TextChoices):
    DONE = "done", "Done"
    NOT_APPLICABLE = "not_applicable", "Does not apply"
    # Partial progress the protocol declares (the phone call before the written report).
    IN_PROGRESS = "in_progress", "In progress"


class StepRecord(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="step_records")
    step_id = models.CharField(max_length=64)
    pathway = models.CharField(max_length=64)
    resolution = models.CharField(max_length=16, choices=Resolution.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    details = EncryptedJSONField(default=dict)
    reason = EncryptedTextField(blank=True)
    # A reopened record is kept for the trail; only records with no reopened_at count.
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reopen_reason = EncryptedTextField(blank=True)
    # An in-progress record replaced by a later one of the same step (the step was completed,
    # or its progress updated). It stops counting like a reopened record, but nobody undid it.
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            # The database itself refuses a second live record for a step: two people
            # completing the same step at once cannot both win.
            models.UniqueConstraint(
                fields=["case", "step_id"],
                condition=models.Q(reopened_at__isnull=True),
                name="one_live_record_per_step",
            ),
            models.CheckConstraint(
                condition=models.Q(resolution__in=["done", "not_applicable", "in_progress"]),
                name="step_resolution_is_known",
            ),
        ]


class CheckInPlan(models.Model):
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="check_in_plan")
    every_days = models.PositiveIntegerField()
    assignee = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="check_in_plans")
    started_at = models.DateTimeField()
    set_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(every_days__gte=1, every_days__lte=90),
                name="check_in_every_1_to_90_days",
            )
        ]


class CheckInMethod(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    VIDEO = "video", "Video call"
    OTHER = "other", "Other"


class CheckIn(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="check_ins")
    occurred_at = models.DateTimeField()
    method = models.CharField(max_length=16, choices=CheckInMethod.choices)
    notes = EncryptedTextField(blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "id"]


class LinkRelation(models.TextChoices):
    RECRUITED = "recruited", "Recruited (this student recruited the other)"
    RECRUITED_BY = "recruited_by", "Recruited by the other student"
    SAME_INCIDENT = "same_incident", "Same incident"
    SIBLING = "sibling", "Sibling"
    OTHER = "other", "Other connection"


class CaseLink(models.Model):
    """A link between two cases; it shows on both."""

    from_case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="links_out")
    to_case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="links_in")
    relation = models.CharField(max_length=16, choices=LinkRelation.choices)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_case", "to_case"], name="one_link_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(from_case=models.F("to_case")), name="no_link_to_self"
            ),
        ]


class Note(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class ReviewKind(models.TextChoices):
    """Actions that could stop a mandated report, each reviewed by the district coordinator."""

    ABUSE_NOT_SUSPECTED = "abuse_not_suspected", "Abuse or neglect answered as not suspected"
    REPORT_WAIVED = "report_waived", "Child abuse report marked as not applicable"
    REPORT_REOPENED = "report_reopened", "Completed child abuse report reopened"
    CONCERN_DISMISSED = "concern_dismissed", "Concern dismissed without a case"
    CLOCK_MOVED = "clock_moved", "Reporting clock moved"
    CASE_VOIDED = "case_voided", "Case voided"
    PATHWAY_LOWERED = "pathway_lowered", "Case moved to a lower pathway"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    DECIDED = "decided", "Decided"


class ReviewDecision(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    OVERRULED = "overruled", "Overruled"


class Review(models.Model):
    """A decision that could suppress a report, waiting for the district coordinator.

    ``subject`` holds what an overruling restores (the fact, the step record, the previous
    clock), never narrative: the reason and the comment are encrypted.
    """

    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    concern = models.ForeignKey(
        Concern, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    kind = models.CharField(max_length=32, choices=ReviewKind.choices)
    subject = models.JSONField(default=dict)
    reason = EncryptedTextField()
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    decision = models.CharField(max_length=12, choices=ReviewDecision.choices, blank=True)
    comment = EncryptedTextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["opened_at", "id"]
        indexes = [models.Index(fields=["status", "opened_at"], name="review_status_opened")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(case__isnull=False) | models.Q(concern__isnull=False),
                name="review_is_about_something",
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", decision="")
                | models.Q(status="decided", decision__in=["upheld", "overruled"]),
                name="review_decision_matches_status",
            ),
        ]


class PersonRole(models.TextChoices):
    PARENT = "parent", "Parent"
    GUARDIAN = "guardian", "Guardian"
    SIBLING = "sibling", "Sibling"
    SUSPECT = "suspect", "Suspect"
    WITNESS = "witness", "Witness"
    OTHER = "other", "Other"


# A parent or guardian: the people the parent-contact step may reach, and the ones who may
# be involved in the exploitation.
PARENT_ROLES = frozenset({PersonRole.PARENT, PersonRole.GUARDIAN})


class CasePerson(models.Model):
    """Someone involved in a case other than the student: family, a suspect, a witness.

    Everything that identifies or describes them sits in ``details``, encrypted at rest
    like narratives: name, description, birth date or approximate age, sex, ethnicity,
    address, phone and relationship to the victim. A suspect may have no name, only a
    description. A person who is also a student of the district links to that student.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="people")
    role = models.CharField(max_length=16, choices=PersonRole.choices)
    details = EncryptedJSONField(default=dict)
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Whether staff may contact this person about the case; never by default for a suspect.
    may_contact = models.BooleanField(default=True)
    # A parent or guardian who may be involved in the exploitation is never the one called.
    may_be_involved = models.BooleanField(default=False)
    added_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=PersonRole.values), name="person_role_is_known"
            ),
        ]


class CaseTransfer(models.Model):
    """A completed move of a case to another school (the placement review's transfer).

    The case's school changes at once, and with it who may read the case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transfers")
    from_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    to_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField()
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(from_school=models.F("to_school")),
                name="transfer_changes_school",
            )
        ]
