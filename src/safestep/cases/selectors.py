"""Reading cases: every read is fetched and authorized here, already filtered by who asks.

A case outside the user's scope raises NotFound, exactly as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.translation import gettext

from safestep.accounts.access import (
    Capability,
    acting_at_school,
    case_scope,
    concern_triage_scope,
    has_capability,
    is_district_wide,
    sees_case_narrative,
    sees_placement_only,
    sees_police_details,
)
from safestep.accounts.models import User
from safestep.audit.services import event_record
from safestep.cases.folding import (
    CASE_PLACEHOLDER,
    CompiledFolds,
    Fold,
    Join,
    PreparedQuery,
    compile_folds,
    fetched_list,
    outer_case_id,
    plain_rows,
    unfold_all,
)
from safestep.cases.models import (
    Case,
    CaseFact,
    CaseLink,
    CasePerson,
    CaseStatus,
    CaseTransfer,
    CheckIn,
    CheckInPlan,
    Concern,
    ConcernStatus,
    Note,
    Resolution,
    Review,
    ReviewStatus,
    StepRecord,
    Student,
)
from safestep.core.errors import NotFound, PermissionDenied
from safestep.definitions.models import ProtocolVersion
from safestep.definitions.selectors import definition_of, definition_of_id
from safestep.protocol import (
    STEP_ROLE_PLACEMENT_REVIEW,
    Evaluation,
    Protocol,
    RecordInput,
    Step,
    StepState,
    evaluate,
    next_check_in_due,
)

if TYPE_CHECKING:  # attachments build on cases: their model is named for type checks only
    from safestep.attachments.models import Attachment

# The largest primary key a 64-bit integer column holds (SQLite and PostgreSQL bigint).
MAX_ROW_ID = 2**63 - 1
# The case page's "link to a case" offers at most this many of the school's cases.
LINKABLE_LIMIT = 200


@lru_cache(maxsize=64)
def _placement_pathways(content_hash: str, protocol: Protocol) -> frozenset[str]:
    return frozenset(protocol.pathways_with_role(STEP_ROLE_PLACEMENT_REVIEW))


def placement_pathways() -> frozenset[str]:
    """Pathways, in any loaded protocol, that contain a placement review."""
    found: set[str] = set()
    for stored in ProtocolVersion.objects.all():
        found |= _placement_pathways(stored.content_hash, definition_of(stored))
    return frozenset(found)


def case_scope_for(user: User, *, schools_listed: bool = False) -> Q:
    pathways = placement_pathways() if sees_placement_only(user) else frozenset()
    return case_scope(user, placement_pathways=pathways, schools_listed=schools_listed)


def _case_queryset() -> QuerySet[Case]:
    # The protocol's source text is read once per process, by ``definition_of``.
    return Case.objects.select_related(
        "school", "student", "protocol", "opened_by", "closed_by", "voided_by"
    ).defer("protocol__source_text")


def _with_everything(cases: QuerySet[Case]) -> QuerySet[Case]:
    live_records = StepRecord.objects.filter(reopened_at__isnull=True).select_related("actor")
    # The check-in plan is at most one row: joined, not two more queries.
    return cases.select_related("check_in_plan__assignee").prefetch_related(
        Prefetch("step_records", queryset=live_records, to_attr="live_records"),
        Prefetch("facts", queryset=CaseFact.objects.select_related("set_by")),
        # Each check-in shows who recorded it: one join, not a query per check-in.
        Prefetch(
            "check_ins",
            queryset=CheckIn.objects.select_related("recorded_by").order_by("occurred_at", "id"),
        ),
        Prefetch("links_out", queryset=CaseLink.objects.select_related("to_case")),
        Prefetch("links_in", queryset=CaseLink.objects.select_related("from_case")),
        Prefetch("people", queryset=CasePerson.objects.select_related("student")),
    )


# What a folded row keeps of a person it names: enough for names and roles, nothing else.
PERSON_FIELDS = ("id", "username", "first_name", "last_name", "role", "is_active")
# The case page shows the latest check-ins and notes, this many at a time ("Show more").
HISTORY_PAGE = 20


def _case_folds(user: User, case_id: int, *, page: bool) -> list[Fold]:
    """The case's related lists, read inside the case's own query (see ``folding``).

    PAGE: the case page's shape. It reads only the latest HISTORY_PAGE check-ins and notes
    (and one more, to know whether to offer more) and, for its forms, the cases it may link
    to and the people who may keep check-ins. The API reads every check-in and no notes.
    """
    school_of_case = Subquery(Case.objects.filter(pk=case_id).values("school_id")[:1])
    in_scope = Case.objects.filter(case_scope_for(user))
    folds = [
        Fold(
            "fold_records",
            StepRecord.objects.filter(case_id=case_id, reopened_at__isnull=True),
            joins=[Join("actor", PERSON_FIELDS)],
            attribute="live_records",
            order=lambda record: (record.recorded_at, record.pk),
        ),
        Fold(
            "fold_facts",
            CaseFact.objects.filter(case_id=case_id),
            joins=[Join("set_by", PERSON_FIELDS)],
            relation="facts",
            order=lambda fact: fact.pk,
        ),
        # Whether the reader may see the other case is asked here too: a link to a case
        # outside their scope is left out entirely.
        Fold(
            "fold_links_out",
            CaseLink.objects.filter(from_case_id=case_id).annotate(
                visible=Exists(in_scope.filter(pk=OuterRef("to_case_id")))
            ),
            joins=[Join("to_case", ("id", "reference", "school_id", "status"))],
            extra=["visible"],
            relation="links_out",
            order=lambda link: link.pk,
        ),
        Fold(
            "fold_links_in",
            CaseLink.objects.filter(to_case_id=case_id).annotate(
                visible=Exists(in_scope.filter(pk=OuterRef("from_case_id")))
            ),
            joins=[Join("from_case", ("id", "reference", "school_id", "status"))],
            extra=["visible"],
            relation="links_in",
            order=lambda link: link.pk,
        ),
        Fold(
            "fold_people",
            CasePerson.objects.filter(case_id=case_id),
            joins=[Join("student", ("id", "sis_id", "first_name", "last_name", "school_id"))],
            relation="people",
            order=lambda person: (person.added_at, person.pk),
        ),
        Fold(
            "fold_reviews",
            Review.objects.filter(case_id=case_id),
            relation="reviews",
            order=lambda review: (review.opened_at, review.pk),
        ),
        Fold(
            "fold_transfers",
            CaseTransfer.objects.filter(case_id=case_id),
            joins=[
                Join("from_school", ("id", "code", "name")),
                Join("to_school", ("id", "code", "name")),
            ],
            relation="transfers",
            order=lambda transfer: (transfer.recorded_at, transfer.pk),
        ),
        # The concerns behind the case: whose report, and whether the reporter is withheld.
        Fold(
            "fold_concerns",
            Concern.objects.filter(named_students__case_id=case_id).distinct(),
            fields=(
                "id",
                "submitted_by_id",
                "submitted_at",
                "school_id",
                "status",
                "withhold_identity",
                "own_report",
            ),
            joins=[Join("submitted_by", PERSON_FIELDS)],
            attribute="loaded_concerns",
            order=lambda concern: (concern.submitted_at, concern.pk),
        ),
        Fold(
            "fold_attachments",
            # Attachments build on cases: their model is reached through the relation.
            Case._meta.get_field("attachments").related_model._default_manager.filter(
                case_id=case_id
            ),
            joins=[Join("uploaded_by", PERSON_FIELDS)],
            relation="attachments",
            order=lambda item: (item.uploaded_at, item.pk),
        ),
    ]
    check_ins = CheckIn.objects.filter(case_id=case_id)
    if not page:
        return [
            *folds,
            Fold(
                "fold_check_ins",
                check_ins,
                joins=[Join("recorded_by", PERSON_FIELDS)],
                relation="check_ins",
                order=lambda item: (item.occurred_at, item.pk),
            ),
        ]
    # Everyone who acts at the case's school, active or not: the page also says whether
    # the person who keeps the check-ins still may (``case_keeper_away``).
    keepers = (
        User.objects.filter(acting_at_school(school_of_case))  # type: ignore[arg-type]
        .distinct()
        .order_by("username")
    )
    return [
        *folds,
        # The latest page, newest first in the query, shown oldest first.
        Fold(
            "fold_check_ins",
            check_ins.order_by("-occurred_at", "-id"),
            joins=[Join("recorded_by", PERSON_FIELDS)],
            relation="check_ins",
            limit=HISTORY_PAGE + 1,
            order=lambda item: (item.occurred_at, item.pk),
        ),
        Fold(
            "fold_notes",
            Note.objects.filter(case_id=case_id).order_by("-created_at", "-id"),
            joins=[Join("author", PERSON_FIELDS)],
            attribute="recent_notes",
            limit=HISTORY_PAGE + 1,
            order=lambda note: (note.created_at, note.pk),
        ),
        Fold(
            "fold_keepers",
            keepers,
            fields=PERSON_FIELDS,
            attribute="check_in_keepers",
            order=lambda person: person.username,
        ),
    ]


# Compiled case reads by their shape: the page's or the API's, and what decides the
# reader's scope and forms (``case_scope``: the role, whether the account is active, the
# placement pathways; the user, whose schools the scope's SQL reads as a parameter).
@dataclass(frozen=True)
class _CaseRead:
    folds: CompiledFolds
    query: PreparedQuery


_CASE_READS: dict[tuple[Any, ...], _CaseRead] = {}
_CASE_READS_MAX = 512


def _scope_key(user: User) -> tuple[Any, ...]:
    """What a reader's case scope, compiled once, depends on beyond the database's rows
    (``case_scope``): the user, whose schools the SQL reads as a parameter, their role,
    whether the account is active, and the placement pathways."""
    pathways = placement_pathways() if sees_placement_only(user) else frozenset()
    return (user.pk, user.role, user.is_active, pathways)


def _case_read(user: User, using: str, *, page: bool) -> _CaseRead:
    key = (using, page, *_scope_key(user))
    read = _CASE_READS.get(key)
    if read is None:
        folds = compile_folds(_case_folds(user, CASE_PLACEHOLDER, page=page), using)
        cases = _case_queryset().using(using).filter(case_scope_for(user))
        cases = cases.select_related("check_in_plan__assignee").filter(pk=CASE_PLACEHOLDER)
        read = _CaseRead(folds, PreparedQuery(folds.annotate(cases, CASE_PLACEHOLDER)))
        if len(_CASE_READS) >= _CASE_READS_MAX:
            _CASE_READS.clear()
        _CASE_READS[key] = read
    return read


def case_get_for_user(
    user: User,
    case_id: int,
    *,
    for_write: bool = False,
    audit_read: bool = True,
    channel: str = "api",
    page: bool = False,
) -> Case:
    """The case, if USER may see it; otherwise NotFound.

    ``for_write`` locks the row for the rest of the caller's transaction. A read is
    written to the audit trail (``case.read``) unless the caller is a service that
    already records its own write event. A read loads the case with its related lists in
    one query; ``page`` loads them as the case page shows them (``_case_folds``).
    """
    if not 0 < case_id <= MAX_ROW_ID:
        # Ids from a URL can be any size; one the database cannot hold names no case.
        raise NotFound(gettext("no case %(case)s") % {"case": case_id})
    if for_write:
        cases = _case_queryset().filter(case_scope_for(user))
        case = cases.select_for_update(of=("self",)).filter(pk=case_id).first()
    else:
        using = router.db_for_read(Case)
        read = _case_read(user, using, page=page)
        found = read.query.fetch(case_id)
        case = found[0] if found else None
        if case is not None:
            unfold_all(case, read.folds.folds, using)
    if case is None:
        raise NotFound(gettext("no case %(case)s") % {"case": case_id})
    if audit_read and not for_write:
        event_record(actor=user, action="case.read", case_id=case.pk, payload={"via": channel})
    return case


def case_history_for_user(user: User, case_id: int) -> Case:
    """The case alone, for reading more of its history: scoped and audited as the page."""
    if not 0 < case_id <= MAX_ROW_ID:
        raise NotFound(gettext("no case %(case)s") % {"case": case_id})
    case = _case_queryset().filter(case_scope_for(user), pk=case_id).first()
    if case is None:
        raise NotFound(gettext("no case %(case)s") % {"case": case_id})
    event_record(actor=user, action="case.read", case_id=case.pk, payload={"via": "page"})
    return case


def _list_folds() -> list[Fold]:
    """What a list of cases needs: each open case's unresolved steps with their due times,
    read in the cases' own query as one JSON column (see ``folding``).

    They come from the rollup's open steps (``reports.models.OpenStep``), which each case
    change brings up to date in its own transaction: a list shows what the protocol's
    evaluation says without running it (and reading every record and fact) per case.
    """
    # Imported here: the rollup is the reports app's, which builds on this module.
    from safestep.reports.models import OpenStep

    return [
        Fold(
            "fold_open_steps",
            OpenStep.objects.filter(case_id=outer_case_id()),
            # What a list shows of them (``ListedCase.open_steps``), and their order.
            fields=("step_id", "step_number", "due_at"),
            attribute="open_steps",
            plain=True,
            order=lambda row: row.step_number,
        )
    ]


# The lists' folds, compiled once per database: they name no case and no user.
_LIST_FOLDS: dict[str, CompiledFolds] = {}


@dataclass(frozen=True, slots=True)
class ListedCase:
    """A case as lists show it (``cases.outputs.case_summary_output``), read as plain values.

    A page of fifty built as models (each case with its school and student) cost twice
    what reading its rows did; a list shows a dozen columns and nothing else of them.
    """

    pk: int
    reference: str
    school_code: str
    student_id: int
    student_sis_id: str
    student_first_name: str
    student_last_name: str
    pathway: str
    status: str
    version: int
    opened_at: datetime
    suspicion_formed_at: datetime
    next_due_at: datetime | None
    needs_review: bool
    # An open case's unresolved steps as the rollup keeps them (``_list_folds``), in
    # protocol order: rows with ``step_id`` and ``due_at``.
    open_steps: tuple[Any, ...]


# What a list reads of each case, in ListedCase's order (its steps come last, folded).
LISTED_COLUMNS = (
    "pk",
    "reference",
    "school__code",
    "student_id",
    "student__sis_id",
    "student__first_name",
    "student__last_name",
    "pathway",
    "status",
    "version",
    "opened_at",
    "suspicion_formed_at",
    "next_due_at",
    "needs_review",
)


class ListedCases(QuerySet[Case, ListedCase]):
    """Cases as lists read them: a queryset (filter, order and slice it as any other) whose
    rows are ``ListedCase`` values, each with its open steps folded into the same query."""

    def _fetch_all(self) -> None:
        if self._result_cache is not None or self._iterable_class is not ModelIterable:
            super()._fetch_all()  # read already, or asked for other values
            return
        rows = _listed_rows(list(self._rows_query(counted=False)), self.db, counted=False)[0]
        # The stubs type the cache by the queryset's generic row, not this class's.
        self._result_cache = rows  # type: ignore[assignment]
        self._prefetch_done = True  # the folds are the prefetch; nothing else to do

    def iterator(self, chunk_size: int | None = None) -> Iterator[ListedCase]:  # type: ignore[override]
        """The rows as ``ListedCase`` too (Django's own iterator would build models)."""
        return iter(list(self))

    def _rows_query(self, *, counted: bool) -> QuerySet[Case, Any]:
        """The query of the rows as ``LISTED_COLUMNS`` and the folded steps; with COUNTED
        (a page only), each row ends with the whole list's count."""
        cases: QuerySet[Case, Any] = self
        if self.query.is_sliced:
            cases = self._page_of_rows(counted)
        elif counted:
            raise ValueError("only a page of a list is read with its count")
        (fold,) = _LIST_FOLDS[self.db].folds
        return cases.values_list(*LISTED_COLUMNS, fold.column, *(["list_count"] if counted else []))

    def _page_of_rows(self, counted: bool) -> QuerySet[Case, Any]:
        """This page's cases, with their steps folded for them alone, as one query.

        Folding in the page's own query made PostgreSQL fold every case it sorted (2,500
        of a school's cases for a page of 50). So the page's ids are a subquery, and its
        rows are read for those ids. PostgreSQL must read them as an array computed first:
        as a plain ``IN`` subquery, the planner joined it after reading the district's
        cases. The count, when asked for, is one more subquery that runs once. Each is
        compiled on its own, so that its tables are its own and not the outer query's.
        """
        page = self.values_list("pk", flat=True)
        try:
            page_sql, page_params = page.query.get_compiler(using=self.db).as_sql()
        except EmptyResultSet:  # a filter that matches nothing (a scope of no cases)
            nothing = self.none()
            return nothing.annotate(list_count=Value(0)) if counted else nothing
        if connections[self.db].vendor == "postgresql":
            page_sql = f"SELECT unnest(ARRAY({page_sql}))"
        # The subquery chose the page in the reader's scope, in the same statement (and so
        # the same snapshot): the outer query reads those rows and applies nothing else.
        # The ORM's compiled SQL is pasted whole; every value in it stays a parameter.
        ids = RawSQL(page_sql, page_params)  # noqa: S611
        cases: QuerySet[Case, Any] = _for_lists(Case.objects.using(self.db)).filter(pk__in=ids)
        if self.query.order_by:
            cases = cases.order_by(*self.query.order_by)
        if counted:
            whole = self.all()
            whole.query.clear_limits()
            whole.query.clear_ordering(force=True)
            count_sql, count_params = (
                whole.values_list("pk").query.get_compiler(using=self.db).as_sql()
            )
            counting = f"SELECT COUNT(*) FROM ({count_sql}) listed"  # noqa: S608
            cases = cases.annotate(list_count=RawSQL(counting, count_params))  # noqa: S611
        return cases


def _listed_rows(
    found: list[tuple[Any, ...]], using: str, *, counted: bool
) -> tuple[list[ListedCase], int | None]:
    """Rows of ``ListedCases._rows_query`` as ``ListedCase``; with COUNTED, the count they
    carry (None when there are no rows to carry it)."""
    (fold,) = _LIST_FOLDS[using].folds
    rows: list[ListedCase] = []
    count = None
    for values in found:
        if counted:
            count, values = values[-1], values[:-1]
        rows.append(ListedCase(*(*values[:-1], tuple(plain_rows(fold, values[-1], using)))))
    return rows, count


def _for_lists(cases: QuerySet[Case]) -> ListedCases:
    """Cases as lists show them: one query, whatever the number of cases (``_list_folds``)."""
    compiled = _LIST_FOLDS.get(cases.db)
    if compiled is None:
        compiled = _LIST_FOLDS[cases.db] = compile_folds(_list_folds(), cases.db)
    listed = compiled.annotate(cases.select_related(None), CASE_PLACEHOLDER)
    listed.__class__ = ListedCases
    return listed  # type: ignore[return-value]


def case_list_for_user(
    user: User,
    *,
    status: str | None = None,
    school: str | None = None,
    pathway: str | None = None,
    overdue: bool | None = None,
    now: datetime | None = None,
) -> ListedCases:
    """The cases USER may see, as lists read them (``ListedCase``). A voided case (opened in
    error) is in no list but the one asked for with ``status="voided"``. OVERDUE keeps the
    open cases with a step past due at NOW (or all the others)."""
    cases = _case_queryset().filter(case_scope_for(user))
    cases = cases.filter(status=status) if status else cases.exclude(status=CaseStatus.VOIDED)
    if school:
        cases = cases.filter(school__code=school)
    if pathway:
        cases = cases.filter(pathway=pathway)
    if overdue is not None:
        late = Q(status=CaseStatus.OPEN, next_due_at__lt=now or timezone.now())
        cases = cases.filter(late) if overdue else cases.exclude(late)
    return _for_lists(_schools_first(user, cases))


# Stands for the moment of the read in a list's page compiled once (``CaseListing``).
NOW_PLACEHOLDER = datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC)


@dataclass(frozen=True)
class CaseListing:
    """The cases USER may see under a list's filters (``case_list_for_user``), read a page
    at a time, as the API's case list reads them.

    A page and the whole list's count are one query. Building it from the ORM took longer
    than the database took to answer it, and its SQL is the same for every read with the
    same reader, filters and page, but for the moment of the read: it is compiled once for
    those and run again with the time of each read.
    """

    user: User
    status: str | None = None
    school: str | None = None
    pathway: str | None = None
    overdue: bool | None = None
    # For Django's paginator, which warns of a list in no order: newest first.
    ordered: ClassVar[bool] = True

    def cases(self, now: datetime | None = None) -> ListedCases:
        return case_list_for_user(
            self.user,
            status=self.status,
            school=self.school,
            pathway=self.pathway,
            overdue=self.overdue,
            now=now,
        )

    def count(self) -> int:
        return self.cases().count()

    def page_with_count(self, start: int, stop: int) -> tuple[list[ListedCase], int]:
        """The rows from START to STOP of the list, and how many rows the whole list has."""
        using = router.db_for_read(Case)
        key = (using, *_scope_key(self.user), self.status, self.school, self.pathway)
        key += (self.overdue, start, stop)
        query = _LIST_PAGES.get(key)
        if query is None:
            page: ListedCases = self.cases(now=NOW_PLACEHOLDER).using(using)[start:stop]
            query = PreparedQuery(page._rows_query(counted=True))
            if len(_LIST_PAGES) >= _CASE_READS_MAX:
                _LIST_PAGES.clear()
            _LIST_PAGES[key] = query
        # A datetime reaches the database as the backend adapts it (SQLite: as text).
        adapt = connections[using].ops.adapt_datetimefield_value
        found = query.fetch_with({adapt(NOW_PLACEHOLDER): adapt(timezone.now())})
        rows, count = _listed_rows(found, using, counted=True)
        if count is None:  # an empty page: past the end, or an empty list
            count = self.count()
        return rows, count


_LIST_PAGES: dict[tuple[Any, ...], PreparedQuery] = {}


def _schools_first(user: User, cases: QuerySet[Case]) -> QuerySet[Case]:
    """On PostgreSQL, the scope of a school's staff once more, as the planner can use it.

    Their scope is "the cases of my schools" (``case_scope``): an ``IN`` subquery, which
    PostgreSQL joins after reading every open case of the district (73 ms at 20,000 cases).
    The same set as an array computed first lets it walk ``case_school_status_opened`` for
    each school (2 ms). It is the scope itself, so it narrows nothing further.
    """
    if connections[cases.db].vendor != "postgresql":
        return cases  # SQLite reads the subquery first by itself
    if not has_capability(user, Capability.CASE_READ) or is_district_wide(user):
        return cases
    if sees_placement_only(user):
        return cases
    # The table's name is the model's own; the user is a parameter.
    table = User.schools.through._meta.db_table
    mine = RawSQL(  # noqa: S611
        f'"cases_case"."school_id" = ANY(ARRAY('  # noqa: S608
        f'SELECT "school_id" FROM "{table}" WHERE "user_id" = %s))',
        [user.pk],
        output_field=BooleanField(),
    )
    return cases.filter(mine)


# What a concern's pages and outputs read of the students it names.
CONCERN_STUDENTS = ("named_students__student", "named_students__case")


def case_concerns_loaded(case: Case) -> list[Concern]:
    """The concerns behind CASE as its read loaded them (``case_concerns`` otherwise)."""
    loaded = getattr(case, "loaded_concerns", None)
    return list(loaded) if loaded is not None else list(case_concerns(case))


def case_concerns(case: Case) -> QuerySet[Concern]:
    """The concerns behind CASE, oldest first: the one it was opened from and any attached."""
    return (
        Concern.objects.filter(named_students__case=case)
        .distinct()
        .select_related("school", "submitted_by")
        .prefetch_related(*CONCERN_STUDENTS)
        .order_by("submitted_at", "id")
    )


def case_people_for_user(user: User, case: Case) -> list[CasePerson]:
    """The people on CASE that USER may see: none for a role without the people capability
    (the placement office)."""
    if not has_capability(user, Capability.CASE_PEOPLE):
        return []
    return list(case.people.all())


def case_definition(case: Case) -> Protocol:
    return definition_of(case.protocol)


def case_transfer_decided(case: Case) -> tuple[str, str, datetime] | None:
    """The placement review's live decision to transfer: (step id, new school, when).

    The definition says which record means a transfer: the placement review discloses the
    student's record to the new school (``discloses`` with a ``school`` recipient) exactly
    when it decides one, so its ``when`` and recipient field are read, not field names.
    """
    step_id = case_definition(case).step_id_with_role(STEP_ROLE_PLACEMENT_REVIEW)
    record = live_record_by_step(case).get(step_id or "")
    if record is None or record.resolution != Resolution.DONE:
        return None
    step = case_definition(case).pathway(case.pathway).step(record.step_id)
    declared = step.discloses
    if declared is None or declared.recipient.type != "school":
        return None
    if declared.when is not None and not declared.when.holds(record.details):
        return None
    new_school = record.details.get(declared.recipient.field_name)
    if not new_school:
        return None
    return record.step_id, str(new_school), record.occurred_at


def _live_records(case: Case) -> list[StepRecord]:
    cached = getattr(case, "live_records", None)
    if cached is not None:
        return list(cached)
    return list(case.step_records.filter(reopened_at__isnull=True).select_related("actor"))


def case_facts(case: Case) -> dict[str, bool | None]:
    return {fact.fact_id: fact.value for fact in case.facts.all()}


def record_input(record: StepRecord) -> RecordInput:
    """A stored step record as the protocol engine reads it."""
    return RecordInput(
        step_id=record.step_id,
        resolution=record.resolution,  # type: ignore[arg-type]
        occurred_at=record.occurred_at,
        recorded_at=record.recorded_at,
        key=f"{record.pk:012d}",
    )


def case_clock_anchor(case: Case) -> datetime:
    """When staff first knew: the case's suspicion time. Services keep it no later than any
    of the case's concerns' observations, so the legal clock never starts late."""
    return case.suspicion_formed_at


def case_evaluation(case: Case, *, now: datetime | None = None) -> Evaluation:
    """The protocol's verdict on this case: each step's state, due time, closability."""
    return evaluate(
        case_definition(case),
        case.pathway,
        facts=case_facts(case),
        records=[record_input(record) for record in _live_records(case)],
        now=now or timezone.now(),
        anchors={"suspicion_formed_at": case_clock_anchor(case), "case_opened_at": case.opened_at},
        tz=settings.TIME_ZONE,
    )


def live_record_by_step(case: Case) -> dict[str, StepRecord]:
    return {record.step_id: record for record in _live_records(case)}


def case_next_check_in_due(case: Case) -> datetime | None:
    plan = getattr(case, "check_in_plan", None)
    if plan is None or case.status != CaseStatus.OPEN:
        return None
    return next_check_in_due(
        plan_started_at=plan.started_at,
        every_days=plan.every_days,
        check_ins=[check_in.occurred_at for check_in in case.check_ins.all()],
        tz=settings.TIME_ZONE,
    )


def visible_details(
    user: User, case: Case, step: Step, details: dict[str, object]
) -> dict[str, object] | None:
    """The step details USER may read, or None when withheld entirely.

    Police-only steps' details are law-enforcement-unit records (34 CFR 99.8): only School
    Police see them. The placement office sees only the placement review's details.
    """
    if step.police_only and not sees_police_details(user):
        return None
    if sees_placement_only(user) and step.role != STEP_ROLE_PLACEMENT_REVIEW:
        return None
    if sees_police_details(user):
        return dict(details)
    hidden = {spec.name for spec in step.fields if spec.police_only}
    return {name: value for name, value in details.items() if name not in hidden}


def linked_cases_visible(user: User, case: Case) -> list[tuple[CaseLink, Case]]:
    """Links from CASE to cases USER may see; links to other cases stay invisible."""
    links = [*case.links_out.all(), *case.links_in.all()]
    if not links:
        return []
    if all(hasattr(link, "visible") for link in links):
        # The case's read already asked which of the other cases USER may see.
        return [
            (link, link.to_case if link.from_case_id == case.pk else link.from_case)
            for link in links
            if getattr(link, "visible", False)
        ]
    scope_ids = set(
        Case.objects.filter(case_scope_for(user))
        .filter(Q(links_in__from_case=case) | Q(links_out__to_case=case))
        .values_list("pk", flat=True)
    )
    found: list[tuple[CaseLink, Case]] = []
    for link in case.links_out.all():
        if link.to_case_id in scope_ids:
            found.append((link, link.to_case))
    for link in case.links_in.all():
        if link.from_case_id in scope_ids:
            found.append((link, link.from_case))
    return found


def concern_list_for_user(user: User, *, status: str | None = None) -> QuerySet[Concern]:
    """Reporters see their own concerns; triagers see their schools' (coordinators: all)."""
    concerns = Concern.objects.select_related("school", "submitted_by").prefetch_related(
        *CONCERN_STUDENTS
    )
    if has_capability(user, Capability.CONCERN_TRIAGE):
        concerns = concerns.filter(concern_triage_scope(user) | Q(submitted_by=user))
    elif has_capability(user, Capability.CONCERN_READ_OWN):
        concerns = concerns.filter(submitted_by=user)
    else:
        return concerns.none()
    if status:
        concerns = concerns.filter(status=status)
    return concerns


def concern_triaged_by(user: User, concern: Concern) -> bool:
    """Whether USER may triage CONCERN (and so read what the school knows of it)."""
    return Concern.objects.filter(concern_triage_scope(user), pk=concern.pk).exists()


def concern_get_for_triage(user: User, concern_id: int, *, for_write: bool = False) -> Concern:
    if not has_capability(user, Capability.CONCERN_TRIAGE):
        raise PermissionDenied(gettext("your role does not triage concerns"))
    if not 0 < concern_id <= MAX_ROW_ID:
        raise NotFound(gettext("no concern %(concern)s") % {"concern": concern_id})
    concerns = (
        Concern.objects.select_related("school")
        .prefetch_related(*CONCERN_STUDENTS)
        .filter(concern_triage_scope(user))
    )
    if for_write:
        concerns = concerns.select_for_update(of=("self",))
    concern = concerns.filter(pk=concern_id).first()
    if concern is None:
        raise NotFound(gettext("no concern %(concern)s") % {"concern": concern_id})
    return concern


@dataclass(frozen=True)
class RenderProgress:
    protocol: Protocol
    pathway_id: str
    states: dict[str, str]


def case_progress_for_render(*, case_id: int) -> RenderProgress:
    """For operators' `protocol render --case`: the case's pathway and step states."""
    case = _with_everything(_case_queryset()).filter(pk=case_id).first()
    if case is None:
        raise NotFound(gettext("no case %(case)s") % {"case": case_id})
    evaluation = case_evaluation(case)
    states = {
        status.step.id: ("overdue" if status.overdue else str(status.state))
        for status in evaluation.steps
    }
    return RenderProgress(case_definition(case), case.pathway, states)


# --- reads for the web pages ---------------------------------------------------------------


def concern_triage_queue_for_user(user: User) -> QuerySet[Concern]:
    """Submitted concerns that USER may triage now, oldest first (first come, first seen)."""
    if not has_capability(user, Capability.CONCERN_TRIAGE):
        return Concern.objects.none()
    concerns = (
        Concern.objects.select_related("school", "submitted_by")
        .prefetch_related(*CONCERN_STUDENTS)
        .filter(concern_triage_scope(user), status=ConcernStatus.SUBMITTED)
    )
    return concerns.order_by("submitted_at", "id")


def concern_own_list(user: User) -> QuerySet[Concern]:
    """The concerns USER reported, newest first: each reporter follows their own."""
    if not has_capability(user, Capability.CONCERN_READ_OWN):
        return Concern.objects.none()
    return (
        Concern.objects.select_related("school")
        .prefetch_related(*CONCERN_STUDENTS)
        .filter(submitted_by=user)
    )


def student_search_for_user(
    user: User, *, school_code: str, query: str, limit: int = 10
) -> list[Student]:
    """Students of SCHOOL_CODE matching QUERY (SIS id or name) that USER already knows of.

    Every student row exists because someone reported a concern about them, so a match
    would itself tell that a student is the subject of a CSEC concern. Only students with a
    case USER may read, or a concern USER may triage, are found; a reporter finds none and
    types the student's details instead.
    """
    words = query.split()
    if not words:
        return []
    students = _students_known_to(user, school_code)
    for word in words:
        students = students.filter(
            Q(sis_id__istartswith=word)
            | Q(first_name__istartswith=word)
            | Q(last_name__istartswith=word)
        )
    return list(students.distinct().order_by("last_name", "first_name", "sis_id")[:limit])


def student_visible_for_user(user: User, *, school_code: str, sis_id: str) -> Student | None:
    """The student with SIS_ID, if student_search_for_user would find them for USER."""
    return _students_known_to(user, school_code).filter(sis_id=sis_id).distinct().first()


def _students_known_to(user: User, school_code: str) -> QuerySet[Student]:
    visible = Q(cases__in=Case.objects.filter(case_scope_for(user)))
    if has_capability(user, Capability.CONCERN_TRIAGE):
        visible |= Q(mentions__concern__in=Concern.objects.filter(concern_triage_scope(user)))
    return Student.objects.select_related("school").filter(visible, school__code=school_code)


@dataclass(frozen=True)
class WorkCase:
    """The case an item of work belongs to, as My work names it."""

    pk: int
    reference: str
    school_code: str
    student_name: str


@dataclass(frozen=True)
class WorkItem:
    """One thing USER can act on now: a step of a case, or a check-in that is due."""

    case: WorkCase
    step: Step | None  # None for a check-in
    state: str
    due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class MyWork:
    """A person's home: the work waiting for them, and their newest open cases."""

    items: list[WorkItem]  # the most urgent first, at most the number asked for
    cases: list[ListedCase]  # newest first, at most the limit asked for
    open_cases: int = 0  # every open case in scope, listed or not
    # Every item of work, listed or not, counted up to one past COUNTED_UP_TO.
    work_total: int = 0
    counted_up_to: int = 0

    @property
    def more_than_counted(self) -> bool:
        """Whether there is more work than was counted (and than "all" lists)."""
        return self.work_total > self.counted_up_to


# The work states: a step waiting on another is not anyone's work yet.
_WORK_STATES = (StepState.PENDING, StepState.IN_PROGRESS)

# What a row of work reads of its case, through the row's ``case`` relation: plain values,
# not models (a list of work is read on every visit to the home page).
_WORK_CASE_COLUMNS = (
    "case_id",
    "case__reference",
    "case__school__code",
    "case__student__first_name",
    "case__student__last_name",
)


def _work_case(values: Sequence[Any]) -> WorkCase:
    case_id, reference, school_code, first_name, last_name = values
    return WorkCase(case_id, reference, school_code, f"{first_name} {last_name}")


def my_work_for_user(
    user: User, *, now: datetime | None = None, limit: int = 100, work_limit: int | None = None
) -> MyWork:
    """Steps USER may resolve, and check-ins USER keeps, across their open cases (the
    WORK_LIMIT most urgent, or all); and the LIMIT newest of those cases, as lists read
    them (``case_list_for_user``).

    The steps come from the rollup's open steps (``reports.models.OpenStep``), which each
    case change brings up to date in its own transaction: one indexed query, whatever the
    number of open cases, instead of evaluating each one. Work is ordered overdue first,
    then by due time (soonest first), then work without one.
    """
    if not has_capability(user, Capability.CASE_READ):
        return MyWork(items=[], cases=[])
    moment = now or timezone.now()
    steps, steps_total = _work_steps(user, moment, work_limit)
    check_ins = _work_check_ins(user, moment)

    def order(item: WorkItem) -> tuple[bool, datetime, int, int]:
        number = item.step.number if item.step is not None else 0
        # Overdue work has the earliest due times: ordering by due time puts it first. Ties
        # go by case, then step, as the open steps are read (``_work_steps``).
        return (item.due_at is None, item.due_at or moment, item.case.pk, number)

    items = sorted([*steps, *check_ins], key=order)
    items = items[: WORK_COUNTED_UP_TO if work_limit is None else work_limit]
    # The newest open cases and how many are open: one page of a listing, newest first.
    open_cases = CaseListing(user, status=CaseStatus.OPEN)
    listed, open_count = open_cases.page_with_count(0, limit) if limit else ([], open_cases.count())
    return MyWork(
        items=items,
        cases=listed,
        open_cases=open_count,
        work_total=steps_total + len(check_ins),
        counted_up_to=WORK_COUNTED_UP_TO,
    )


# My work counts the reader's items up to this many, and lists at most this many when asked
# for all of them: past it, the page says "more than" and the case list is the way in.
WORK_COUNTED_UP_TO = 1_000


def _work_steps(user: User, now: datetime, limit: int | None) -> tuple[list[WorkItem], int]:
    """The open steps USER may resolve, the LIMIT most urgent (or up to WORK_COUNTED_UP_TO),
    and how many in all, counted up to WORK_COUNTED_UP_TO + 1 (the ids of that many are
    read in order: the first LIMIT are listed, and their number is the count).

    The rollup's rows carry the school and pathway the case scope filters on
    (``case_scope``), so the reader's scope applies to them as it does to cases. The most
    urgent rows are found on the rows alone, by their due time (index ``open_step_due_at``,
    or ``open_step_school_due_at`` for a school's staff, whose schools are listed for the
    planner), and only those are joined to their cases: a district-wide reader may have
    hundreds of thousands of open steps at a million cases.
    """
    # Imported here: the rollup is the reports app's, which builds on this module.
    from safestep.reports.models import OpenStep

    mine = OpenStep.objects.filter(
        case_scope_for(user, schools_listed=True),
        state__in=_WORK_STATES,
        actor_roles__contains=f"|{user.role}|",
    )
    urgent = mine.order_by(F("due_at").asc(nulls_last=True), "case_id", "step_number")
    # One query counts (up to one past the limit) and finds the most urgent: their ids.
    ids = list(urgent.values_list("id", flat=True)[: WORK_COUNTED_UP_TO + 1])
    total = len(ids)
    wanted = WORK_COUNTED_UP_TO if limit is None else min(limit, WORK_COUNTED_UP_TO)
    rows = urgent.filter(id__in=ids[:wanted]).values_list(
        "pathway",
        "step_id",
        "state",
        "due_at",
        "case__protocol_id",
        "case__protocol__content_hash",
        *_WORK_CASE_COLUMNS,
    )
    items = []
    for pathway, step_id, state, due_at, version_id, content_hash, *case in rows:
        step = definition_of_id(version_id, content_hash).pathway(pathway).step(step_id)
        overdue = due_at is not None and due_at < now
        items.append(WorkItem(_work_case(case), step, state, due_at, overdue))
    return items, total


def _work_check_ins(user: User, now: datetime) -> list[WorkItem]:
    """The check-ins USER keeps in open cases in their scope, each with its next due time."""
    plans = (
        CheckInPlan.objects.filter(
            assignee=user,
            case__status=CaseStatus.OPEN,
            case__in=Case.objects.filter(case_scope_for(user)).values("pk"),
        )
        .annotate(latest=Max("case__check_ins__occurred_at"))
        .values_list("started_at", "every_days", "latest", *_WORK_CASE_COLUMNS)
    )
    items = []
    for started_at, every_days, latest, *case in plans:
        due = next_check_in_due(
            plan_started_at=started_at,
            every_days=every_days,
            check_ins=[latest] if latest is not None else [],
            tz=settings.TIME_ZONE,
        )
        if due is not None:
            items.append(WorkItem(_work_case(case), None, "check_in", due, due < now))
    return items


def case_find_for_user(user: User, reference: str) -> Case:
    """A case USER may see, by its reference (``CSEC-2026-0001``) or numeric id."""
    text = reference.strip()
    cases = Case.objects.filter(case_scope_for(user))
    found = (
        cases.filter(pk=int(text)).first()
        # ASCII digits only: int() also reads "²" and other Unicode digits.
        if text.isdecimal() and text.isascii() and len(text) <= 18
        else cases.filter(reference__iexact=text).first()
    )
    if found is None:
        raise NotFound(gettext("no case %(case)s") % {"case": text})
    return found


def case_notes_for_user(user: User, case: Case) -> list[Note]:
    """Notes on CASE (already authorized for USER); none for those who see no narrative."""
    if not sees_case_narrative(user):
        return []
    recent = getattr(case, "recent_notes", None)
    if recent is not None:
        return list(recent)
    return list(Note.objects.filter(case=case).select_related("author"))


def _page_before(rows: QuerySet[Any], before: Row | None, moment: str) -> tuple[list[Any], bool]:
    """The HISTORY_PAGE rows of ROWS just before BEFORE (the latest when None) in the order
    of MOMENT then id, oldest first, and whether there are earlier ones."""
    if before is not None:
        earlier = Q(**{f"{moment}__lt": before.moment})
        rows = rows.filter(earlier | Q(**{moment: before.moment, "pk__lt": before.pk}))
    found = list(rows.order_by(f"-{moment}", "-id")[: HISTORY_PAGE + 1])
    return found[:HISTORY_PAGE][::-1], len(found) > HISTORY_PAGE


@dataclass(frozen=True)
class Row:
    """Where a page of history ends: the moment and id of its oldest row."""

    moment: datetime
    pk: int


def case_check_ins_before(case: Case, before: int | None) -> tuple[list[CheckIn], bool]:
    """The check-ins of CASE (already authorized) just before the check-in BEFORE."""
    rows = CheckIn.objects.filter(case=case).select_related("recorded_by")
    return _page_before(rows, _row_of(rows, before, "occurred_at"), "occurred_at")


def case_notes_before(user: User, case: Case, before: int | None) -> tuple[list[Note], bool]:
    """The notes on CASE (already authorized for USER) just before the note BEFORE."""
    if not sees_case_narrative(user):
        return [], False
    rows = Note.objects.filter(case=case).select_related("author")
    return _page_before(rows, _row_of(rows, before, "created_at"), "created_at")


def _row_of(rows: QuerySet[Any], pk: int | None, moment: str) -> Row | None:
    if pk is None:
        return None
    start = rows.filter(pk=pk).values_list(moment, flat=True).first()
    if start is None:
        raise NotFound(f"no row {pk} in this part of the case")
    return Row(start, pk)


def case_own_report(case: Case) -> dict[str, object] | None:
    """The reporter's own call to CWS or law enforcement, from the concern behind CASE."""
    reports = [item.own_report for item in case_concerns_loaded(case) if item.own_report]
    return dict(reports[0]) if reports else None


def checkin_assignee_choices(case: Case) -> list[User]:
    """People who may keep check-ins on CASE: staff of its school who record check-ins."""
    loaded = getattr(case, "check_in_keepers", None)
    if loaded is not None:
        people = [person for person in loaded if person.is_active]
    else:
        found = User.objects.filter(is_active=True).filter(acting_at_school(case.school_id))
        people = list(found.distinct().order_by("username"))
    return [person for person in people if has_capability(person, Capability.CHECKIN_RECORD)]


def case_keeper_away(case: Case) -> bool | None:
    """Whether CASE's check-ins are kept by someone who may no longer keep them (they do
    not act at the case's school, or their role does not record check-ins), from what the
    case page's read loaded; None when the read did not load the school's people.

    The rule is ``accounts.access.check_in_assignable``, as ``notify`` applies it.
    """
    loaded = getattr(case, "check_in_keepers", None)
    if loaded is None:
        return None
    plan = getattr(case, "check_in_plan", None)
    if plan is None or case.status != CaseStatus.OPEN:
        return False
    at_school = {person.pk for person in loaded}
    return not (
        plan.assignee_id in at_school and has_capability(plan.assignee, Capability.CHECKIN_RECORD)
    )


def cases_linkable_for_user(user: User, case_id: int, *, limit: int = LINKABLE_LIMIT) -> list[Case]:
    """Other cases USER may see at the same school as case CASE_ID, to offer as link
    targets (the link form asks for them when it is first used, not with every case page).

    NotFound unless USER may see that case and link cases. Read and recorded as the case
    page is (``case.read``): the list names the school's other students."""
    if not has_capability(user, Capability.CASE_LINK) or not 0 < case_id <= MAX_ROW_ID:
        raise NotFound(gettext("no case %(case)s") % {"case": case_id})
    case = Case.objects.filter(case_scope_for(user), pk=case_id).only("id", "school_id").first()
    if case is None:
        raise NotFound(gettext("no case %(case)s") % {"case": case_id})
    event_record(actor=user, action="case.read", case_id=case.pk, payload={"via": "link_form"})
    return list(
        Case.objects.filter(case_scope_for(user), school=case.school_id)
        .exclude(pk=case.pk)
        .select_related("student")
        # Offered by reference and name only: not decrypting every summary and outcome
        # keeps the case page's cost flat as the school's cases grow.
        .only("id", "reference", "opened_at", "student__first_name", "student__last_name")
        .order_by("-opened_at", "-id")[:limit]
    )


def concern_get_own(user: User, concern_id: int, *, for_write: bool = False) -> Concern:
    """A concern USER reported; anyone else's is 404 (a reporter's duty is their own)."""
    if not has_capability(user, Capability.CONCERN_READ_OWN):
        raise PermissionDenied(gettext("your role does not report concerns"))
    if not 0 < concern_id <= MAX_ROW_ID:
        raise NotFound(gettext("no concern %(concern)s") % {"concern": concern_id})
    concerns = (
        Concern.objects.select_related("school", "submitted_by")
        .prefetch_related(*CONCERN_STUDENTS)
        .filter(submitted_by=user)
    )
    if for_write:
        concerns = concerns.select_for_update(of=("self",))
    concern = concerns.filter(pk=concern_id).first()
    if concern is None:
        raise NotFound(gettext("no concern %(concern)s") % {"concern": concern_id})
    return concern


def concern_get_for_user(user: User, concern_id: int) -> Concern:
    """A concern USER reported, or one USER may triage; otherwise 404."""
    if not 0 < concern_id <= MAX_ROW_ID:
        raise NotFound(gettext("no concern %(concern)s") % {"concern": concern_id})
    concern = concern_list_for_user(user).filter(pk=concern_id).first()
    if concern is None:
        raise NotFound(gettext("no concern %(concern)s") % {"concern": concern_id})
    return concern


def _reviews() -> QuerySet[Review]:
    return Review.objects.select_related(
        "case", "case__school", "concern", "concern__school", "opened_by", "decided_by"
    )


def review_list_for_user(user: User, *, status: str | None = None) -> QuerySet[Review]:
    """Reviews for the district coordinator: open ones oldest first, so none waits long."""
    if not has_capability(user, Capability.REVIEW_DECIDE):
        raise PermissionDenied(gettext("only the district coordinator reads reviews"))
    reviews = _reviews()
    if status:
        reviews = reviews.filter(status=status)
    return reviews.order_by("opened_at", "id")


def review_get_for_decision(user: User, review_id: int) -> Review:
    """The review, locked for deciding, if USER decides reviews."""
    if not has_capability(user, Capability.REVIEW_DECIDE):
        raise PermissionDenied(gettext("only the district coordinator decides reviews"))
    if not 0 < review_id <= MAX_ROW_ID:
        raise NotFound(gettext("no review %(review)s") % {"review": review_id})
    review = Review.objects.select_for_update(of=("self",)).filter(pk=review_id).first()
    if review is None:
        raise NotFound(gettext("no review %(review)s") % {"review": review_id})
    return review


def case_reviews(case: Case) -> list[Review]:
    """The reviews of a case the reader may already see: that one is open, and its outcome."""
    loaded = fetched_list(case, "reviews")
    if loaded is not None:
        return loaded
    return list(Review.objects.filter(case=case).order_by("opened_at", "id"))


def case_open_review_ids(case: Case) -> list[int]:
    return list(
        Review.objects.filter(case=case, status=ReviewStatus.OPEN).values_list("pk", flat=True)
    )


# --- looking cases and students up: the search and a student's page -----------------------

# A search reads at most this many words of at most this many characters, and lists at most
# SEARCH_LIMIT cases, newest first.
SEARCH_MAX_WORDS = 6
SEARCH_MAX_LENGTH = 100
SEARCH_LIMIT = 50


def search_digest(query: str) -> str:
    """What the audit trail keeps of a search: a digest keyed with the site's secret key.

    A search may be a child's name, which the trail must not hold in the clear; names are
    easy to guess, so a plain hash would not hide them. With the key, an investigator can
    still check whether a given name was searched for.
    """
    from django.utils.crypto import salted_hmac

    normal = " ".join(query.lower().split()[:SEARCH_MAX_WORDS])
    return salted_hmac("safestep.search", normal, algorithm="sha256").hexdigest()


def case_search_for_user(
    user: User, query: str, *, include_voided: bool = False, limit: int = SEARCH_LIMIT
) -> list[ListedCase]:
    """The cases USER may see whose reference, student's SIS id or student's name match
    every word of QUERY. Recorded as a search (``case.search``), with the cases found.

    The user's scope is applied first, then the words: a case outside it is never matched,
    counted or named. Names and SIS ids are plain columns of the student, the reference
    one of the case; nothing encrypted is searched.
    """
    if not has_capability(user, Capability.CASE_READ):
        raise PermissionDenied(gettext("your role does not read cases"))
    words = query[:SEARCH_MAX_LENGTH].split()[:SEARCH_MAX_WORDS]
    if not words:
        return []
    cases = _case_queryset().filter(case_scope_for(user))
    if not include_voided:
        cases = cases.exclude(status=CaseStatus.VOIDED)
    for word in words:
        cases = cases.filter(
            Q(reference__icontains=word)
            | Q(student__sis_id__istartswith=word)
            | Q(student__first_name__istartswith=word)
            | Q(student__last_name__istartswith=word)
        )
    found = list(_for_lists(cases).order_by("-opened_at", "-id")[:limit])
    event_record(
        actor=user,
        action="case.search",
        payload={
            "results": len(found),
            "cases": [case.pk for case in found],
            "words": len(words),
            "query_digest": search_digest(query),
        },
    )
    return found


@dataclass(frozen=True)
class StudentRecord:
    """A student as one reader may see them: their cases and concerns within that reader's
    reach, newest first."""

    student: Student
    cases: list[ListedCase]
    concerns: list[Concern]


def student_record_for_user(user: User, *, school_code: str, sis_id: str) -> StudentRecord:
    """The student SIS_ID of SCHOOL_CODE, if USER already knows of them; otherwise NotFound.

    Known means what the concern form's student search means: a case USER may read (voided
    cases aside: opened in error, perhaps for the wrong child), or a concern USER may
    triage. Then the page also lists the concerns USER reported about the student. A
    concern USER only reported does not open the page: the school's record may spell the
    name otherwise than they typed it, and a reporter never learns the record's name.
    Recorded (``case.student_read``), with the cases and concerns shown.
    """
    if not (
        has_capability(user, Capability.CASE_READ)
        or has_capability(user, Capability.CONCERN_TRIAGE)
    ):
        raise NotFound(
            gettext("no student %(sis_id)s at %(school)s")
            % {"sis_id": sis_id, "school": school_code}
        )
    student = (
        Student.objects.select_related("school")
        .filter(school__code=school_code, sis_id=sis_id)
        .first()
    )
    if student is None:
        raise NotFound(
            gettext("no student %(sis_id)s at %(school)s")
            % {"sis_id": sis_id, "school": school_code}
        )
    cases = list(
        _for_lists(
            _case_queryset()
            .filter(case_scope_for(user), student=student)
            .exclude(status=CaseStatus.VOIDED)
        ).order_by("-opened_at", "-id")
    )
    triaged = Concern.objects.filter(concern_triage_scope(user), named_students__student=student)
    if not cases and not triaged.exists():
        raise NotFound(
            gettext("no student %(sis_id)s at %(school)s")
            % {"sis_id": sis_id, "school": school_code}
        )
    concerns = list(
        Concern.objects.select_related("school", "submitted_by")
        .prefetch_related(*CONCERN_STUDENTS)
        .filter(concern_triage_scope(user) | Q(submitted_by=user), named_students__student=student)
        .distinct()
        .order_by("-submitted_at", "-id")
    )
    event_record(
        actor=user,
        action="case.student_read",
        payload={
            "school": student.school.code,
            "student": student.pk,
            "cases": [case.pk for case in cases],
            "concerns": [concern.pk for concern in concerns],
        },
    )
    return StudentRecord(student=student, cases=cases, concerns=concerns)


def case_attachments_for_user(user: User, case: Case) -> list[Attachment]:
    """The files attached to CASE (already authorized for USER), oldest first; none for a
    role that may not read them (the placement office)."""
    if not has_capability(user, Capability.ATTACHMENT_READ):
        return []
    loaded = fetched_list(case, "attachments")
    if loaded is not None:
        return loaded
    return list(case.attachments.select_related("uploaded_by").order_by("uploaded_at", "id"))
