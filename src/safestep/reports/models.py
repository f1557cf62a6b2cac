"""The dashboard's rollup: its figures kept per school, pathway and month as cases change.

The district dashboard and the published statistics read these rows instead of evaluating
every case, so opening them costs the same at 100 cases as at 1,000,000. The case services
keep them current in the transaction that changes a case (:mod:`safestep.reports.rollups`);
``safestep rollup verify`` recounts them from the cases and reports any drift.

* :class:`CaseRollup` is one cell: the cases *opened* in one local month, at one school,
  on one pathway (the case's pathway now), with their counters and clock sums.
* :class:`RollupHours` is the cell's histogram of hours (to police, to the written CWS
  report), from which a median is read.
* :class:`DistrictRollup` and :class:`DistrictRollupHours` are the same per pathway and
  month for the whole district (every school's cells added up), for the readers whose scope
  names no school: a district-wide dashboard then reads rows per month, not per school.
* :class:`CaseContribution` is what one case adds to its cell, as last counted: the update
  subtracts it and adds the new one, so no service has to know what it changed.
* :class:`OpenStep` lists each unresolved step of an open case, with its due time and who
  may act: "overdue" depends on the clock, so it is counted at read time with an index
  range, not stored; My work reads its reader's steps from it.
"""

from __future__ import annotations

from django.db import models

from safestep.accounts.models import School
from safestep.cases.models import Case


class RollupCounters(models.Model):
    """A cell's counters and clock sums, over the cases *opened* in its month."""

    month = models.CharField(max_length=7)  # YYYY-MM of the case's opening, local time
    opened = models.IntegerField(default=0)  # cases opened (voided ones count nowhere)
    open = models.IntegerField(default=0)  # of those, open now
    closed = models.IntegerField(default=0)  # of those, closed
    police_cases = models.IntegerField(default=0)  # police involvement recorded as done
    police_hours = models.FloatField(default=0)  # their hours from suspicion, summed
    cws_reports = models.IntegerField(default=0)  # written CWS reports filed
    cws_hours = models.FloatField(default=0)  # their hours from suspicion, summed
    cws_due = models.IntegerField(default=0)  # filed reports that had a due time
    cws_met = models.IntegerField(default=0)  # of those, filed by it (the 36 hours)
    # Check-ins due and done on time up to the last recorded check-in (or the closing);
    # the misses that accrue afterwards, while nobody checks in, are counted at read time.
    check_ins_met = models.IntegerField(default=0)
    check_ins_due = models.IntegerField(default=0)

    class Meta:
        abstract = True


class CaseRollup(RollupCounters):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    pathway = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "pathway", "month"], name="case_rollup_one_cell"
            )
        ]
        indexes = [
            models.Index(fields=["month"], name="case_rollup_month"),
            # The open cases by school and pathway, read from this index alone: the cells
            # with open cases, which a district's dashboard adds up on every visit (at
            # 100,000 cases, 9,600 of 37,000 cells; 8.6 ms read from the table, 1.5 here).
            models.Index(
                fields=["school", "pathway", "open"],
                condition=models.Q(open__gt=0),
                name="case_rollup_open_cells",
            ),
        ]


class DistrictRollup(RollupCounters):
    """The district's cell of a pathway and month: its schools' cells added up, kept by
    the same transactions, so that a district-wide dashboard reads a few dozen rows
    instead of one per school."""

    pathway = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pathway", "month"], name="district_rollup_one_cell")
        ]


class HoursMeasure(models.TextChoices):
    POLICE = "police"
    CWS = "cws"


class HoursCount(models.Model):
    """How many cases of a cell took BUCKET hours (see rollups.hours_bucket)."""

    month = models.CharField(max_length=7)
    measure = models.CharField(max_length=8, choices=HoursMeasure.choices)
    bucket = models.IntegerField()  # the bucket's lower edge, in tenths of an hour
    cases = models.IntegerField(default=0)

    class Meta:
        abstract = True


class RollupHours(HoursCount):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    pathway = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "pathway", "month", "measure", "bucket"],
                name="rollup_hours_one_bucket",
            )
        ]
        indexes = [models.Index(fields=["month", "measure"], name="rollup_hours_month")]


class DistrictRollupHours(HoursCount):
    """The district's histogram of a pathway and month: its schools' buckets added up."""

    pathway = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pathway", "month", "measure", "bucket"],
                name="district_hours_one_bucket",
            )
        ]
        indexes = [models.Index(fields=["month"], name="district_hours_month")]


class CaseContribution(models.Model):
    """What one case last added to its cell (all zero for a voided case)."""

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="rollup_contribution"
    )
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    pathway = models.CharField(max_length=64)
    month = models.CharField(max_length=7)
    counted = models.BooleanField(default=False)  # False for a voided case
    open = models.BooleanField(default=False)
    closed = models.BooleanField(default=False)
    police_hours = models.FloatField(null=True)
    cws_hours = models.FloatField(null=True)
    cws_due = models.BooleanField(default=False)
    cws_met = models.BooleanField(default=False)
    check_ins_met = models.IntegerField(default=0)
    check_ins_due = models.IntegerField(default=0)
    # A written report not filed yet, and when it is due: once that passes it counts as
    # due and missed (read time, an index range).
    cws_unfiled_due_at = models.DateTimeField(null=True)
    # An open case's check-in schedule after its last check-in: the next one is due at
    # check_ins_next_due, then every check_ins_every_days (read time, an index range).
    check_ins_anchor = models.DateTimeField(null=True)
    check_ins_next_due = models.DateTimeField(null=True)
    check_ins_every_days = models.IntegerField(null=True)

    class Meta:
        indexes = [
            # The dashboard counts the written reports late now, of the cases opened in its
            # months, on this index alone (an index-only scan on PostgreSQL).
            models.Index(
                fields=["cws_unfiled_due_at", "month"],
                condition=models.Q(counted=True),
                name="contribution_late_report",
            ),
            models.Index(fields=["check_ins_next_due"], name="contribution_check_in_due"),
        ]


class OpenStep(models.Model):
    """An unresolved step of an open case (pending, waiting or in progress), as the
    protocol last evaluated it: who may act on it, and its due time if it has one.

    The dashboard counts the overdue ones (``due_at`` before now, an index range); My work
    lists those its reader may act on (``actor_roles``), soonest due first, without
    evaluating every open case of the reader's schools.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    pathway = models.CharField(max_length=64)
    step_id = models.CharField(max_length=64)
    step_number = models.PositiveSmallIntegerField(default=0)  # the step's order in its pathway
    state = models.CharField(max_length=16)  # protocol.StepState: pending, waiting, in_progress
    # The roles that may resolve it, each between bars ("|site_admin|counselor|"), so that
    # a role is matched whole by a LIKE.
    actor_roles = models.CharField(max_length=255, default="")
    due_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "step_id"], name="open_step_one_per_step")
        ]
        indexes = [
            # Soonest due first (My work, the longest overdue); the dashboard counts the
            # overdue steps of each step on this index alone.
            models.Index(fields=["due_at", "pathway", "step_id"], name="open_step_due_at"),
            models.Index(fields=["school", "due_at"], name="open_step_school_due_at"),
        ]
