"""Who may see and do what: the one module that decides (access.md).

Deny by default. Every page and endpoint names a capability; a role has a capability only
when this table says so. Case scope (which cases a user may know exist) is a separate
question answered by :func:`case_scope`: a case outside it must look like it does not exist.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.db.models import Q

from safestep.accounts.models import Role

if TYPE_CHECKING:
    from safestep.accounts.models import User


class Capability(StrEnum):
    CONCERN_SUBMIT = "concern_submit"
    CONCERN_READ_OWN = "concern_read_own"
    CONCERN_TRIAGE = "concern_triage"
    CASE_OPEN = "case_open"
    CASE_READ = "case_read"
    # The case's event timeline: who did what. Not for the placement office, which sees a
    # case's summary and its placement step only.
    CASE_TIMELINE_READ = "case_timeline_read"
    CASE_SET_FACTS = "case_set_facts"
    CASE_ESCALATE = "case_escalate"
    CASE_LINK = "case_link"
    CASE_CLOSE = "case_close"
    CASE_REOPEN = "case_reopen"
    STEP_REOPEN = "step_reopen"
    CHECKIN_PLAN = "checkin_plan"
    CHECKIN_RECORD = "checkin_record"
    NOTE_ADD = "note_add"
    ATTACHMENT_ADD = "attachment_add"
    ATTACHMENT_READ = "attachment_read"
    SCAR_GENERATE = "scar_generate"
    PROTOCOL_READ = "protocol_read"
    PROTOCOL_MANAGE = "protocol_manage"
    STATISTICS = "statistics"
    # The district dashboard: identifying figures (overdue steps by case), so only for the
    # people who run cases, over the schools they may see.
    DASHBOARD_READ = "dashboard_read"
    AUDIT_READ = "audit_read"
    # Move a case's reporting clock (with a reason; it opens a review).
    CASE_MOVE_CLOCK = "case_move_clock"
    # Read and decide the reviews of decisions that could stop a mandated report.
    REVIEW_DECIDE = "review_decide"
    # The people on a case (family, suspects, witnesses): read, add and change them.
    CASE_PEOPLE = "case_people"
    # Record the student's own details that the SS 8572 asks for.
    VICTIM_DETAILS_EDIT = "victim_details_edit"
    # Void a case opened in error (with a reason; it opens a review).
    CASE_VOID = "case_void"
    # Record a completed transfer, which moves the case to the new school.
    CASE_TRANSFER = "case_transfer"
    # The district's accounts and schools: add, deactivate, roles, schools, one-time
    # passwords, API tokens (the administration area).
    ACCOUNTS_MANAGE = "accounts_manage"


_SITE_ADMIN_WORK = {
    Capability.CONCERN_TRIAGE,
    Capability.CASE_OPEN,
    Capability.CASE_READ,
    Capability.CASE_TIMELINE_READ,
    Capability.CASE_SET_FACTS,
    Capability.CASE_ESCALATE,
    Capability.CASE_LINK,
    Capability.CASE_CLOSE,
    Capability.CASE_REOPEN,
    Capability.STEP_REOPEN,
    Capability.CHECKIN_PLAN,
    Capability.CHECKIN_RECORD,
    Capability.NOTE_ADD,
    Capability.ATTACHMENT_ADD,
    Capability.ATTACHMENT_READ,
    Capability.SCAR_GENERATE,
    Capability.DASHBOARD_READ,
    Capability.CASE_MOVE_CLOCK,
    Capability.CASE_PEOPLE,
    Capability.VICTIM_DETAILS_EDIT,
    Capability.CASE_VOID,
}

# Every staff member may report a concern and follow their own reports.
_EVERY_STAFF = {Capability.CONCERN_SUBMIT, Capability.CONCERN_READ_OWN, Capability.PROTOCOL_READ}

CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.REPORTER: frozenset(_EVERY_STAFF),
    Role.SITE_ADMIN: frozenset(_EVERY_STAFF | _SITE_ADMIN_WORK),
    Role.COUNSELOR: frozenset(
        _EVERY_STAFF
        | {
            Capability.CASE_READ,
            Capability.CASE_TIMELINE_READ,
            Capability.CHECKIN_PLAN,
            Capability.CHECKIN_RECORD,
            Capability.NOTE_ADD,
            Capability.ATTACHMENT_ADD,
            Capability.ATTACHMENT_READ,
            # A counselor resolves the child abuse report step, so may print its form
            # and fill in what it asks about the student and the people involved.
            Capability.SCAR_GENERATE,
            Capability.CASE_PEOPLE,
            Capability.VICTIM_DETAILS_EDIT,
        }
    ),
    Role.SCHOOL_POLICE: frozenset(
        _EVERY_STAFF
        | {
            Capability.CASE_READ,
            Capability.CASE_TIMELINE_READ,
            Capability.NOTE_ADD,
            Capability.ATTACHMENT_ADD,
            Capability.ATTACHMENT_READ,
            Capability.CASE_PEOPLE,
        }
    ),
    Role.PLACEMENT_OFFICE: frozenset(
        _EVERY_STAFF | {Capability.CASE_READ, Capability.CASE_TRANSFER}
    ),
    Role.DISTRICT_COORDINATOR: frozenset(
        _EVERY_STAFF
        | _SITE_ADMIN_WORK
        | {
            Capability.PROTOCOL_MANAGE,
            Capability.ACCOUNTS_MANAGE,
            Capability.STATISTICS,
            Capability.AUDIT_READ,
            Capability.REVIEW_DECIDE,
            Capability.CASE_TRANSFER,
        }
    ),
    Role.AUDITOR: frozenset(
        {Capability.PROTOCOL_READ, Capability.STATISTICS, Capability.AUDIT_READ}
    ),
}

# Roles whose case scope is the whole district rather than their own schools.
DISTRICT_WIDE_ROLES = frozenset({Role.SCHOOL_POLICE, Role.DISTRICT_COORDINATOR})
# Roles that see the details of police-only steps (law-enforcement-unit records, 34 CFR 99.8).
POLICE_DETAIL_ROLES = frozenset({Role.SCHOOL_POLICE})
# Roles that still see who reported a concern when the reporter withheld their identity
# from school staff (PC 11166(i)(2)): the district, the auditors and law enforcement.
SEES_WITHHELD_REPORTER_ROLES = frozenset(
    {Role.DISTRICT_COORDINATOR, Role.AUDITOR, Role.SCHOOL_POLICE}
)
# Roles that may sign in on the web with a password alone; every other role needs a
# second factor (TOTP). A reporter sees only the status of their own concerns.
PASSWORD_ONLY_ROLES = frozenset({Role.REPORTER})
# Roles that see only the placement side of a case: the cases whose pathway has the
# placement review, their summary line and that one step (no narrative, no timeline).
PLACEMENT_ONLY_ROLES = frozenset({Role.PLACEMENT_OFFICE})
# Roles that act for every school as if they worked there: open cases and keep check-ins
# at any school, triage every concern, and hear of a school's concerns when nobody at the
# school can be told.
EVERY_SCHOOL_ROLES = frozenset({Role.DISTRICT_COORDINATOR})
# Roles whose case scope is their own schools, so they must work at one at least.
SCHOOL_SCOPED_ROLES = frozenset({Role.SITE_ADMIN, Role.COUNSELOR})
# Roles told first of a school's new concerns: the staff who triage them at that school.
SCHOOL_TRIAGE_ROLES = frozenset({Role.SITE_ADMIN})
# Roles that never read the sealed part of an audit event (reasons, narratives,
# recipients): auditors read the trail without it, and neither the placement office nor a
# reporter reads case narrative.
SEALED_BLIND_ROLES = frozenset({Role.AUDITOR, Role.PLACEMENT_OFFICE, Role.REPORTER})
# School Police: a law-enforcement unit (34 CFR 99.8), peace officers on the SS 8572.
SCHOOL_POLICE_ROLES = frozenset({Role.SCHOOL_POLICE})
# Roles whose only part is to report concerns: SafeStep knows nothing of their job.
REPORT_ONLY_ROLES = frozenset({Role.REPORTER})


def has_capability(user: User, capability: Capability) -> bool:
    if not user.is_active:
        return False
    return capability in CAPABILITIES.get(user.role, frozenset())


def sees_police_details(user: User) -> bool:
    return user.role in POLICE_DETAIL_ROLES


def is_district_wide(user: User) -> bool:
    """Whether USER's case scope is the whole district rather than their own schools."""
    return user.role in DISTRICT_WIDE_ROLES


def sees_placement_only(user: User) -> bool:
    """Whether USER sees of a case only its summary and its placement review."""
    return user.role in PLACEMENT_ONLY_ROLES


def sees_case_narrative(user: User) -> bool:
    """Notes, check-in notes, the summary and reasons: not for the placement office."""
    return not sees_placement_only(user)


def sees_sealed_payloads(user: User) -> bool:
    """Reasons and narratives in the trail: not for auditors (access.md), nor placement."""
    return user.role not in SEALED_BLIND_ROLES


def is_school_police(user: User) -> bool:
    return user.role in SCHOOL_POLICE_ROLES


def is_report_only(user: User) -> bool:
    """Whether USER only reports concerns (their role says nothing of their job)."""
    return user.role in REPORT_ONLY_ROLES


def acts_for_every_school(user: User) -> bool:
    return user.role in EVERY_SCHOOL_ROLES


def acts_at_school(user: User, school_id: int) -> bool:
    """Whether USER works at the school, or acts for every school (the coordinator)."""
    return acts_for_every_school(user) or user.schools.filter(pk=school_id).exists()


def acting_at_school(school_id: int) -> Q:
    """A filter for the users who work at the school or act for every school."""
    return Q(role__in=sorted(EVERY_SCHOOL_ROLES)) | Q(schools=school_id)


def check_in_assignable(user: User, school_id: int) -> bool:
    """Whether USER may be given the check-ins of a case at the school."""
    return has_capability(user, Capability.CHECKIN_RECORD) and acts_at_school(user, school_id)


def school_scoped_staff(school_id: int) -> Q:
    """A filter for the users whose case scope is that school (site administrators and
    counselors who work there): the people a case's move to or from the school concerns."""
    return Q(role__in=sorted(SCHOOL_SCOPED_ROLES), schools__id=school_id)


def school_triagers(school_id: int) -> Q:
    """A filter for the users told first of the school's new concerns."""
    return Q(role__in=sorted(SCHOOL_TRIAGE_ROLES), schools__id=school_id)


def every_school_triagers() -> Q:
    """A filter for the users told of a school's concerns when nobody there can be."""
    return Q(role__in=sorted(EVERY_SCHOOL_ROLES))


def case_scope(
    user: User, *, placement_pathways: frozenset[str] = frozenset(), schools_listed: bool = False
) -> Q:
    """A filter for the cases USER may know exist. Deny by default: an empty match.

    ``placement_pathways`` names the pathways that contain a placement review; the caller
    computes it from the protocol so that this module needs no protocol knowledge.
    A school member's schools are a subquery of their memberships, so a filter compiled
    once stays right when those change; with SCHOOLS_LISTED they are read now and listed,
    so that the database plans for those schools (an index that starts with the school).
    """
    nothing = Q(pk__in=[])
    if not has_capability(user, Capability.CASE_READ):
        return nothing
    if is_district_wide(user):
        return Q()
    if sees_placement_only(user):
        return Q(pathway__in=sorted(placement_pathways)) if placement_pathways else nothing
    if schools_listed:
        return Q(school__in=sorted(user.schools.values_list("pk", flat=True)))
    return Q(school__in=user.schools.all())


def case_scope_names_no_school(user: User) -> bool:
    """Whether :func:`case_scope` of USER filters on no school: the whole district, or the
    placement office's pathways. Such a scope applies as well to figures kept for the whole
    district (by pathway and month), which hold no school to filter on."""
    return is_district_wide(user) or sees_placement_only(user)


def concern_triage_scope(user: User) -> Q:
    """A filter for the concerns USER may triage: their schools' (the coordinator: all)."""
    if not has_capability(user, Capability.CONCERN_TRIAGE):
        return Q(pk__in=[])
    if acts_for_every_school(user):
        # Every concern, as a condition that still holds when OR-ed with another
        # (an empty Q() would vanish from "scope | own").
        return Q(pk__isnull=False)
    return Q(school__in=user.schools.all())


def needs_second_factor(user: User) -> bool:
    return user.role not in PASSWORD_ONLY_ROLES


def may_resolve_step(user: User, actor_roles: tuple[str, ...]) -> bool:
    """Whether USER may resolve a step whose protocol names ACTOR_ROLES."""
    return user.is_active and user.role in actor_roles


def may_answer_fact(user: User, actor_roles: tuple[str, ...]) -> bool:
    """Whether USER may answer a protocol fact whose definition names ACTOR_ROLES.

    A fact that names who judges it (School Police judge the evidence) is answered by those
    roles alone; any other fact by whoever may set a case's facts.
    """
    if not user.is_active:
        return False
    if actor_roles:
        return user.role in actor_roles
    return has_capability(user, Capability.CASE_SET_FACTS)


def may_reopen_step(user: User, *, police_only: bool) -> bool:
    """Reopening undoes a resolution. A police-only step, whose details only School Police
    can see, is reopened by School Police alone."""
    if police_only:
        return user.is_active and user.role in POLICE_DETAIL_ROLES
    return has_capability(user, Capability.STEP_REOPEN)


def sees_withheld_reporter(user: User) -> bool:
    return user.is_active and user.role in SEES_WITHHELD_REPORTER_ROLES


def reporter_hidden_from(user: User, *, reporter_id: int | None, withheld: bool) -> bool:
    """Whether USER may not learn who reported a concern (PC 11166(i)(2)).

    Hidden when the reporter (REPORTER_ID) WITHHELD their identity from school staff, USER
    is someone else, and USER's role is not one that still sees withheld reporters.
    """
    return withheld and reporter_id != user.pk and not sees_withheld_reporter(user)


def role_needs_schools(role: str) -> bool:
    """Whether a user in ROLE sees only their schools' cases, so must work at one."""
    return role in SCHOOL_SCOPED_ROLES


# Roles a roster import (`safestep roster import`) may give, and change for a user who
# holds one: OneRoster's teachers, aides and proctors report, its administrators run their
# schools. Every other role reaches far more records and is granted by hand only; an import
# never gives it, and leaves the role and schools of whoever holds it as they are.
ROSTER_ROLES = frozenset({Role.REPORTER, Role.SITE_ADMIN})


def roster_manages_role(role: str) -> bool:
    """Whether a roster import may set the role and schools of a user who holds ROLE."""
    return role in ROSTER_ROLES
