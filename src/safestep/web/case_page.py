"""What the case page shows: the case as the protocol sees it, and the forms the user may use.

Everything a person may see comes from ``cases.outputs.case_output`` (which already withholds
police-only details), so the page and the API never disagree about visibility. Which forms
appear follows the same capability checks the services make; the services still check again
when a form is sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.http import QueryDict
from django.urls import NoReverseMatch
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from safestep.accounts.access import (
    Capability,
    has_capability,
    may_answer_fact,
    may_reopen_step,
    may_resolve_step,
    sees_sealed_payloads,
)
from safestep.accounts.models import Role, School, User
from safestep.audit.actions import Action, description
from safestep.audit.selectors import event_output
from safestep.cases.audit_reads import case_timeline_page
from safestep.cases.models import (
    Case,
    CaseStatus,
    CheckInMethod,
    LinkRelation,
    ReviewDecision,
    ReviewKind,
)
from safestep.cases.outputs import case_output, check_in_output
from safestep.cases.selectors import (
    HISTORY_PAGE,
    case_check_ins_before,
    case_concerns_loaded,
    case_definition,
    case_keeper_away,
    case_notes_before,
    case_notes_for_user,
    case_own_report,
    case_transfer_decided,
    checkin_assignee_choices,
    linked_cases_visible,
    sees_case_narrative,
)
from safestep.core.page_urls import page_url
from safestep.notify.selectors import checkin_keeper_away
from safestep.protocol import (
    ANCHOR_SUSPICION_FORMED,
    STEP_ROLE_CHILD_ABUSE_REPORT,
    Fact,
    FactIs,
    FieldSpec,
    Pathway,
    Protocol,
    Step,
    describe_condition,
    in_language,
    iter_condition_facts,
)
from safestep.web.attachments_page import ATTACHMENT_FORM, attachments_section
from safestep.web.concern_page import WITHHELD_REPORTER, withheld_reporters
from safestep.web.confirmations import case_confirmations, case_records, escalation_words
from safestep.web.forms import (
    ErrorItem,
    FormField,
    Option,
    choice_label,
    controls_of,
    error_summary,
    field_from_spec,
    format_detail,
    local_input_value,
    now_input_value,
    step_fields,
)
from safestep.web.people_page import (
    PeopleSection,
    form_summary,
    person_choice_label,
    person_fields,
    person_view,
    victim_facts,
    victim_fields,
)

LINK_RELATION_LABELS: dict[str, Any] = {
    LinkRelation.RECRUITED: gettext_lazy("This student recruited the other student"),
    LinkRelation.RECRUITED_BY: gettext_lazy("This student was recruited by the other student"),
    LinkRelation.SAME_INCIDENT: gettext_lazy("Same incident"),
    LinkRelation.SIBLING: gettext_lazy("Sibling"),
    LinkRelation.OTHER: gettext_lazy("Other connection"),
}
LINK_RELATION_SHORT: dict[str, Any] = {
    LinkRelation.RECRUITED: gettext_lazy("recruited"),
    LinkRelation.RECRUITED_BY: gettext_lazy("was recruited by"),
    LinkRelation.SAME_INCIDENT: gettext_lazy("same incident as"),
    LinkRelation.SIBLING: gettext_lazy("sibling of"),
    LinkRelation.OTHER: gettext_lazy("connected to"),
}
CHECK_IN_METHOD_LABELS: dict[str, Any] = {
    CheckInMethod.IN_PERSON: gettext_lazy("In person"),
    CheckInMethod.PHONE: gettext_lazy("Phone"),
    CheckInMethod.VIDEO: gettext_lazy("Video call"),
    CheckInMethod.OTHER: gettext_lazy("Other"),
}

# Names of the fields of the case page's own forms, for the error summaries.
FIELD_LABELS: dict[str, Any] = {
    "reason": gettext_lazy("Reason"),
    "outcome": gettext_lazy("Outcome"),
    "text": gettext_lazy("Note"),
    "notes": gettext_lazy("Notes"),
    "method": gettext_lazy("How"),
    "occurred_at": gettext_lazy("When"),
    "case": gettext_lazy("Case"),
    "relation": gettext_lazy("How they are connected"),
    "pathway": gettext_lazy("Pathway"),
    "version": gettext_lazy("Version"),
    "facts": gettext_lazy("Questions"),
    "suspicion_formed_at": gettext_lazy("When the suspicion was formed"),
    "school": gettext_lazy("New school"),
    "completed_at": gettext_lazy("When the transfer was completed"),
}
REVIEW_DECISION_LABELS: dict[str, Any] = {
    ReviewDecision.UPHELD: gettext_lazy("Upheld: the decision stands"),
    ReviewDecision.OVERRULED: gettext_lazy("Overruled"),
}

# Problems that belong to the form as a whole, not to one control to jump to.
UNLINKED_ERRORS = frozenset({"__all__", "facts", "version"})


@dataclass
class FormState:
    """What one form on the page shows after it was sent: the input, and what was wrong."""

    posted: QueryDict | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Accepted but not done: the page shows what it will do and asks for a second click.
    confirming: bool = False

    def value(self, name: str, default: str = "") -> str:
        if self.posted is None:
            return default
        return str(self.posted.get(name, default))


@dataclass
class StepView:
    data: dict[str, Any]  # the step as case_output shows it to this user
    step: Step
    anchor: str
    condition_text: str
    waiting_on: list[str]
    recorded: list[tuple[str, str]]
    can_act: bool
    can_reopen: bool
    done_fields: list[FormField] = field(default_factory=list)
    na_fields: list[FormField] = field(default_factory=list)
    done_form: FormState = field(default_factory=FormState)
    na_form: FormState = field(default_factory=FormState)
    reopen_form: FormState = field(default_factory=FormState)
    done_errors: list[ErrorItem] = field(default_factory=list)
    na_errors: list[ErrorItem] = field(default_factory=list)
    reopen_errors: list[ErrorItem] = field(default_factory=list)
    occurred_value: str = ""
    is_plan: bool = False  # resolved by setting a check-in plan
    open_form: bool = False  # the form starts unfolded
    condition_open: bool = False  # its condition waits on an unanswered question
    # The child abuse report (the statutory clock, the SS 8572).
    is_report: bool = False
    # Partial progress (the call before the written report), offered while the step is to do.
    can_progress: bool = False
    progress_fields: list[FormField] = field(default_factory=list)
    progress_form: FormState = field(default_factory=FormState)
    progress_errors: list[ErrorItem] = field(default_factory=list)
    # The done form asks when it happened, unless a field of the step says so.
    asks_occurred: bool = True
    # A report past its due time asks why it was late.
    asks_late_reason: bool = False
    may_mark_not_applicable: bool = False

    @property
    def open_not_applicable(self) -> bool:
        return self.na_form.posted is not None

    @property
    def in_progress(self) -> bool:
        return bool(self.data["state"] == "in_progress")

    @property
    def open_reopen(self) -> bool:
        return self.reopen_form.posted is not None

    @property
    def finished(self) -> bool:
        """Done or recorded as not applying: the page folds it to its heading."""
        return bool(self.data["state"] in ("done", "not_applicable"))


@dataclass
class FactView:
    id: str
    question: str
    help: str
    value: bool | None
    decides: list[str]
    reason_required_when: bool | None
    options: list[Option]
    may_answer: bool = True  # this user may answer it (else it shows read-only)
    answered_by: str = ""  # who answers it, when the protocol says


@dataclass
class ClockView:
    code: str
    title: str
    state: str
    due_at: str | None
    overdue: bool
    resolved_at: str | None
    progress_title: str = ""  # "Phoned in", while only the call is recorded
    late: bool = False


def describe_event(
    event: dict[str, Any], steps: dict[str, str], pathways: dict[str, str] | None = None
) -> str:
    """One line of the timeline, in words: the descriptions in ``audit.actions``."""
    action = event["action"]
    payload = event.get("payload") or {}
    sensitive = event.get("sensitive") or {}
    step = steps.get(event.get("step") or "", event.get("step") or "")
    names = pathways or {}
    reason = sensitive.get("reason") or payload.get("reason") or ""
    # Every action reads as a sentence from the one table (audit.actions), printing a form
    # or an e-mail sent as much as a step recorded; an unknown one (an older release's)
    # shows as recorded.
    try:
        known: Action | None = Action(action)
    except ValueError:
        known = None
    if known is not None:
        kind = payload.get("kind", "")
        shown = {
            key: names.get(payload.get(key, ""), choice_label(payload.get(key, "")))
            for key in ("pathway", "from", "to")
        }
        # Any other placeholder is a payload key, shown as stored ("?" when it is missing).
        values: defaultdict[str, Any] = defaultdict(lambda: "?", payload)
        values |= {
            **shown,
            "step": step,
            "facts": ", ".join(
                f"{choice_label(name)}: "
                f"{_('yes') if value else (_('no') if value is False else '—')}"
                for name, value in (payload.get("facts") or {}).items()
            ),
            "kind": dict(ReviewKind.choices).get(kind, kind),
            "legal_basis": choice_label(payload.get("legal_basis", "")),
            "reference": payload.get("reference", ""),
            "every_days": payload.get("every_days", "?"),
            "assignee": payload.get("assignee", "?"),
        }
        text = _(description(known, payload)) % values
    else:
        text = action
    if reason:
        text += " " + _("Reason: %(reason)s") % {"reason": reason}
    comment = sensitive.get("comment") or ""
    if action == Action.REVIEW_DECIDE and comment:
        text += " " + _("Comment: %(comment)s") % {"comment": comment}
    return text


def _condition_text(definition: Protocol, step: Step) -> str:
    condition = step.condition
    if condition is None:
        return ""
    if isinstance(condition, FactIs):
        try:
            question = in_language(definition.fact(condition.fact), "question", get_language())
        except KeyError:
            question = condition.fact
        answer = _("yes") if condition.value else _("no")
        return _("Only if the answer to “%(question)s” is %(answer)s.") % {
            "question": question,
            "answer": answer,
        }
    return _("Only if %(condition)s.") % {"condition": describe_condition(condition)}


def _recorded(
    step: Step, details: dict[str, Any] | None, names: Choices | None = None
) -> list[tuple[str, str]]:
    """A step's recorded details in words; NAMES words what a field refers to by id (the
    people on the case, the schools), by field type."""
    if not details:
        return []
    specs: dict[str, FieldSpec] = {spec.name: spec for spec in step.fields}
    shown = []
    for name, value in details.items():
        spec = specs.get(name)
        known = dict((names or {}).get(spec.type, ())) if spec is not None else {}
        text = known.get(str(value)) or format_detail(spec, value)
        shown.append((in_language(spec, "label", get_language()) if spec else name, text))
    return shown


def plan_fields(
    step: Step | None, basics: CaseBasics, state: FormState, initial: dict[str, Any]
) -> list[FormField]:
    """The check-in plan form: the recurring step's declared fields, or the plan's own."""
    every = FieldSpec(
        name="every_days",
        label=_("Check in every (days)"),
        type="integer",
        required=True,
        minimum=1,
        maximum=90,
    )
    assignee = FieldSpec(
        name="assignee", label=_("Person responsible for check-ins"), type="user", required=True
    )
    specs = list(step.fields) if step is not None and step.fields else [every, assignee]
    controls = []
    for spec in specs:
        controls.append(
            field_from_spec(
                spec,
                prefix="plan",
                required=True,
                posted=state.posted,
                initial=initial,
                errors=state.errors.get(spec.name, ()),
                choices_override=basics.assignees if spec.type == "user" else None,
            )
        )
    return controls


# What a step's fields that name something SafeStep holds offer, by field type.
Choices = dict[str, list[tuple[str, str]]]


class LazyChoices(dict[str, list[tuple[str, str]]]):
    """The choices by field type, the district's schools read only when a field asks: most
    pages show no field that names a school."""

    def _schools(self) -> None:
        if not super().__contains__("school"):
            super().__setitem__(
                "school",
                [
                    (school.code, f"{school.name} ({school.code})")
                    for school in School.objects.order_by("name")
                ],
            )

    def __getitem__(self, key: str) -> list[tuple[str, str]]:
        if key == "school":
            self._schools()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key == "school":
            self._schools()
        return super().get(key, default)


def _step_forms(
    view: StepView, forms: dict[str, FormState], own_report: Any, choices: Choices | None = None
) -> None:
    """The forms for resolving a step the user may act on: the call first, when the
    protocol declares such progress, then done, then "does not apply"."""
    step = view.step
    done = forms.get(f"step:{step.id}:done", FormState())
    not_applicable = forms.get(f"step:{step.id}:na", FormState())
    progress = forms.get(f"step:{step.id}:progress", FormState())
    # The reporter's own call pre-fills the child abuse report step.
    initial: dict[str, Any] = dict(own_report) if own_report else {}
    view.done_form, view.na_form, view.progress_form = done, not_applicable, progress

    if step.progress is not None and not view.in_progress:
        view.can_progress = True
        view.progress_fields = [
            field_from_spec(
                spec,
                prefix=f"progress-{step.id}",
                required=True,
                posted=progress.posted,
                initial=initial,
                errors=progress.errors.get(f"details.{spec.name}", ()),
                choices_override=(choices or {}).get(spec.type),
            )
            for spec in step.fields
            if spec.name in step.progress.fields
        ]
        view.progress_errors = error_summary(
            progress.errors, controls_of(view.progress_fields, key_prefix="details.")
        )

    # Once the call is recorded, completing the step asks only for what is still missing.
    given = set(step.progress.fields) if step.progress is not None and view.in_progress else set()
    view.done_fields = [
        item
        for item in step_fields(
            step,
            prefix=f"done-{step.id}",
            resolution="done",
            posted=done.posted,
            initial=initial,
            errors=done.errors,
            choices_by_type=choices,
        )
        if item.name not in given
    ]
    view.asks_occurred = step.done_at_field is None
    view.asks_late_reason = view.is_report and (
        bool(view.data["overdue"]) or "reason" in done.errors
    )
    controls = controls_of(view.done_fields, key_prefix="details.")
    controls["occurred_at"] = (f"done-{step.id}-occurred_at", _("When it happened"))
    controls["reason"] = (f"done-{step.id}-reason", _("Why was it late?"))
    view.done_errors = error_summary(done.errors, controls)
    view.occurred_value = done.value("occurred_at", now_input_value())

    # A pathway that always requires the step does not offer "does not apply" at all.
    view.may_mark_not_applicable = step.may_not_apply
    if step.may_not_apply:
        view.na_fields = step_fields(
            step,
            prefix=f"na-{step.id}",
            resolution="not_applicable",
            posted=not_applicable.posted,
            errors=not_applicable.errors,
            only_required=True,
            choices_by_type=choices,
        )
        controls = controls_of(view.na_fields, key_prefix="details.")
        controls["reason"] = (f"na-{step.id}-reason", _("Why it does not apply"))
        view.na_errors = error_summary(not_applicable.errors, controls)


def _answered_by(fact: Fact) -> str:
    """Who answers a question the protocol reserves for some roles."""
    if not fact.actor_roles:
        return ""
    if Role.SCHOOL_POLICE in fact.actor_roles:
        return _("School Police decide this.")
    names = ", ".join(str(Role(role).label) for role in fact.actor_roles if role in Role.values)
    return _("Answered by: %(roles)s.") % {"roles": names}


def _optional_url(name: str, *args: object) -> str:
    try:
        return page_url(name, *args)
    except NoReverseMatch:
        return ""


# --- the page's sections ------------------------------------------------------------------
#
# One builder per section of the page: each reads the case once built (``CaseBasics``) and
# returns what its template reads, so each rule of the page has one small place.


@dataclass(frozen=True)
class CaseBasics:
    """What every section starts from: the case as this user may see it."""

    user: User
    case: Case
    data: dict[str, Any]  # case_output: what this user may see
    definition: Protocol
    pathway: Pathway
    forms: dict[str, FormState]

    @property
    def is_open(self) -> bool:
        return self.case.status == CaseStatus.OPEN

    @cached_property
    def narrative(self) -> bool:
        return sees_case_narrative(self.user)

    @cached_property
    def codes(self) -> dict[str, str]:
        return {step.id: step.code for step in self.pathway.steps}

    @property
    def report_step_id(self) -> str | None:
        return self.definition.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)

    def may(self, capability: Capability) -> bool:
        return has_capability(self.user, capability)

    @cached_property
    def choices(self) -> Choices:
        """What step fields naming a person on the case or a school offer."""
        return LazyChoices(
            person=[
                (str(person["id"]), person_choice_label(person))
                for person in self.data.get("people") or []
            ]
        )

    @cached_property
    def assignees(self) -> list[tuple[str, str]]:
        """Who may keep the check-ins: read once, though the plan form can show twice."""
        return [
            (
                person.username,
                f"{person.get_full_name() or person.username} · {person.get_role_display()}",
            )
            for person in checkin_assignee_choices(self.case)
        ]

    def form(self, key: str) -> FormState:
        return self.forms.get(key, FormState())


def _plan_takes_step(basics: CaseBasics) -> bool:
    """Whether the recurring step's form is where the check-in plan is set up."""
    return basics.may(Capability.CHECKIN_PLAN) and basics.data["check_in_plan"] is None


def _step_view(basics: CaseBasics, step_data: dict[str, Any], step: Step) -> StepView:
    user, definition, data = basics.user, basics.definition, basics.data
    state = step_data["state"]
    can_act = (
        basics.is_open
        and state in ("pending", "in_progress")
        and basics.may(Capability.CASE_READ)
        and may_resolve_step(user, step.actor_roles)
    )
    return StepView(
        data=step_data,
        step=step,
        anchor=f"step-{step.id}",
        condition_text=_condition_text(definition, step),
        waiting_on=[basics.codes.get(item, item) for item in step_data["waiting_on"]],
        recorded=_recorded(
            step, step_data["details"], basics.choices if step_data["details"] else None
        ),
        can_act=can_act,
        can_reopen=basics.is_open
        and state in ("done", "not_applicable")
        and may_reopen_step(user, police_only=step.police_only),
        is_plan=step.recurring,
        # Its condition waits on a question this user may answer.
        condition_open=step.condition is not None
        and any(
            data["facts"].get(name) is None
            and may_answer_fact(user, definition.fact(name).actor_roles)
            for name in iter_condition_facts(step.condition)
        ),
        is_report=step.id == basics.report_step_id,
    )


def _step_actions(basics: CaseBasics, view: StepView, own_report: Any) -> None:
    """The forms of one step the user may act on (the plan form for the recurring step)."""
    step = view.step
    if view.can_act and step.recurring:
        if _plan_takes_step(basics):
            plan_state = basics.form("plan")
            view.done_fields = plan_fields(step, basics, plan_state, {})
            view.done_form = plan_state
            view.done_errors = error_summary(plan_state.errors, controls_of(view.done_fields))
        else:
            view.can_act = False
    elif view.can_act:
        _step_forms(view, basics.forms, own_report if view.is_report else None, basics.choices)
    if view.can_reopen:
        view.reopen_form = basics.form(f"step:{step.id}:reopen")
        view.reopen_errors = error_summary(
            view.reopen_form.errors,
            {"reason": (f"reopen-{step.id}-reason", _("Why reopen it"))},
        )


def _unfold_next(steps: list[StepView]) -> None:
    """Unfold the form someone just sent (to show what was wrong), else the first step the
    user can act on: the page opens on the next thing to do."""
    sent = [
        view
        for view in steps
        if view.can_act
        and (view.done_form.posted or view.na_form.posted or view.progress_form.posted)
    ]
    actionable = [view for view in steps if view.can_act]
    if sent:
        sent[0].open_form = True
    elif actionable:
        actionable[0].open_form = True


def _clocks(steps: list[StepView]) -> list[ClockView]:
    return [
        ClockView(
            code=view.step.code,
            title=in_language(view.step, "title", get_language()),
            state=view.data["state"],
            due_at=view.data["due_at"],
            overdue=view.data["overdue"],
            resolved_at=view.data["resolved_at"],
            progress_title=(
                in_language(view.step.progress, "title", get_language())
                if view.in_progress and view.step.progress is not None
                else ""
            ),
            late=bool(view.data["late"]),
        )
        for view in steps
        if view.step.deadline is not None and view.step.deadline.anchor == ANCHOR_SUSPICION_FORMED
    ]


def steps_section(basics: CaseBasics) -> dict[str, Any]:
    """The steps with their forms, the statutory clocks, and what is still unresolved."""
    own_report = case_own_report(basics.case) if basics.narrative else None
    steps = []
    for step_data, step in zip(basics.data["steps"], basics.pathway.steps, strict=True):
        view = _step_view(basics, step_data, step)
        _step_actions(basics, view, own_report)
        steps.append(view)
    _unfold_next(steps)
    return {
        "steps": steps,
        # The recurring step offers the plan form: the check-ins section then does not.
        "plan_in_step": any(view.can_act and view.is_plan for view in steps),
        "clocks": _clocks(steps),
        "unresolved": [
            {
                "code": view.step.code,
                "title": in_language(view.step, "title", get_language()),
                "anchor": view.anchor,
            }
            for view in steps
            if view.data["state"] in ("pending", "waiting", "in_progress")
        ],
        # For the step navigator: "3 of 8 finished".
        "finished_count": sum(1 for view in steps if view.finished),
    }


def facts_section(basics: CaseBasics) -> dict[str, Any]:
    """The team's questions: the answers, and which of them this user may give."""
    facts_state = basics.form("facts")
    facts = []
    for fact in basics.definition.facts:
        value = basics.data["facts"].get(fact.id)
        chosen = facts_state.value(fact.id, {True: "yes", False: "no", None: ""}[value])
        facts.append(
            FactView(
                id=fact.id,
                question=in_language(fact, "question", get_language()),
                help=in_language(fact, "help", get_language()),
                value=value,
                decides=[
                    step.code
                    for step in basics.pathway.steps
                    if isinstance(step.condition, FactIs) and step.condition.fact == fact.id
                ],
                reason_required_when=fact.reason_required_when,
                options=[
                    Option("yes", _("Yes"), chosen == "yes"),
                    Option("no", _("No"), chosen == "no"),
                    Option("", _("Not decided yet"), chosen == ""),
                ],
                may_answer=may_answer_fact(basics.user, fact.actor_roles),
                answered_by=_answered_by(fact),
            )
        )
    return {"facts": facts, "facts_form": facts_state}


def escalate_section(basics: CaseBasics) -> dict[str, Any]:
    """Every other pathway the case may move to; a lower one opens a review."""
    definition, pathway, codes = basics.definition, basics.pathway, basics.codes
    chosen = basics.form("escalate").value("pathway")
    # What each move would do to this case's records: only for those who may move it.
    planned = basics.is_open and basics.may(Capability.CASE_ESCALATE)
    records = case_records(basics.case) if planned else []
    moves = []
    for move in definition.moves_from(pathway.id):
        target = definition.pathway(move.to_pathway)
        moves.append(
            {
                "to": target,
                "title": in_language(move, "title", get_language()),
                "carries": [codes[item] for item in move.carries if item in codes],
                "new_steps": [
                    step.code for step in target.steps if step.id not in pathway.step_ids
                ],
                "lowers": definition.is_lower(pathway.id, target.id),
                "checked": chosen == target.id,
                # What the move does to this case's records, as the protocol plans it.
                "plan": " ".join(escalation_words(basics.case, target.id, records))
                if planned
                else "",
            }
        )
    return {"escalations": moves}


def links_section(basics: CaseBasics) -> dict[str, Any]:
    return {
        "links": [
            {**link, "label": LINK_RELATION_SHORT.get(link["relation"], link["relation"])}
            for link in basics.data["links"]
        ],
        "relations": [(value, LINK_RELATION_LABELS[value]) for value in LinkRelation.values],
    }


def check_ins_section(basics: CaseBasics, *, plan_in_step: bool) -> dict[str, Any]:
    """The check-in plan and the check-ins, and whether their keeper is out of reach."""
    plan_state = FormState() if plan_in_step else basics.form("plan")
    plan = basics.data["check_in_plan"]
    fields = plan_fields(
        None,
        basics,
        plan_state,
        {"every_days": plan["every_days"], "assignee": plan["assignee"]} if plan else {},
    )
    # The latest page of check-ins; earlier ones come with "Show earlier check-ins".
    shown, more = latest_page(basics.data["check_ins"])
    away = case_keeper_away(basics.case)
    return {
        "plan_fields": fields,
        "plan_errors": error_summary(plan_state.errors, controls_of(fields)),
        "check_in_methods": [
            (value, CHECK_IN_METHOD_LABELS[value]) for value in CheckInMethod.values
        ],
        "check_ins": check_in_views(shown),
        "check_ins_more": _more_url(basics.case, "check-ins", shown[0]["id"]) if more else "",
        # After a transfer the keeper may not work at the case's school any more.
        "keeper_away": plan is not None
        and (away if away is not None else checkin_keeper_away(basics.case)),
    }


def check_in_views(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**item, "method_label": CHECK_IN_METHOD_LABELS.get(item["method"], item["method"])}
        for item in items
    ]


def latest_page(items: list[Any]) -> tuple[list[Any], bool]:
    """The latest HISTORY_PAGE of ITEMS (oldest first), and whether earlier ones exist."""
    if len(items) > HISTORY_PAGE:
        return items[-HISTORY_PAGE:], True
    return items, False


def _more_url(case: Case, section: str, before: object, *, show_all_events: bool = False) -> str:
    """Where "Show earlier ..." fetches the page of SECTION before the row BEFORE."""
    url = page_url("web:case-history", case.pk, section) + f"?before={before}"
    return url + "&events=all" if show_all_events else url


def _timeline_names(basics: CaseBasics) -> tuple[dict[str, str], dict[str, str]]:
    definition, pathway = basics.definition, basics.pathway
    language = get_language()

    def step_name(step: Step) -> str:
        return f"{step.code} {in_language(step, 'title', language)}"

    step_names = {
        step.id: step_name(step) for item in definition.pathways for step in item.steps
    } | {step.id: step_name(step) for step in pathway.steps}
    pathway_names = {
        item.id: f"{item.code} · {in_language(item, 'title', language)}"
        for item in definition.pathways
    }
    return step_names, pathway_names


def timeline_section(
    basics: CaseBasics, *, show_all_events: bool, before: int | None = None
) -> dict[str, Any]:
    """The case's latest events in words, for those who read its narrative; earlier ones
    come with "Show earlier events" (BEFORE: the event the page ends before)."""
    events: list[dict[str, Any]] = []
    more = ""
    if basics.narrative:
        rows, earlier = case_timeline_page(
            basics.case.pk, size=HISTORY_PAGE, before=before, with_reads=show_all_events
        )
        events = _timeline_events(basics, rows)
        if earlier and rows:
            more = _more_url(basics.case, "timeline", rows[0].seq, show_all_events=show_all_events)
    return {"events": events, "show_all_events": show_all_events, "events_more": more}


def _timeline_events(basics: CaseBasics, rows: list[Any]) -> list[dict[str, Any]]:
    user, case = basics.user, basics.case
    step_names, pathway_names = _timeline_names(basics)
    # Who reported is withheld from school staff when the reporter asked for it, also
    # where they acted on the case (their own report to an agency is logged on it).
    hidden = withheld_reporters(user, case_concerns_loaded(case))
    with_sealed = sees_sealed_payloads(user)
    # A link to a case outside the reader's scope is left out entirely: even "linked to
    # another case" would tell them that a case they may not see exists.
    visible_links = {link["case"]: link["reference"] for link in basics.data["links"]}
    events = []
    for event in rows:
        shown = event_output(event, with_sealed=with_sealed)
        if event.action == "case.link":
            other = (shown.get("payload") or {}).get("other_case")
            if other not in visible_links:
                continue
            shown["payload"] = {"reference": visible_links[other]}
        shown["text"] = describe_event(shown, step_names, pathway_names)
        if shown.get("actor") in hidden:
            shown["actor"], shown["role"] = str(WITHHELD_REPORTER), None
        events.append(shown)
    return events


def notes_section(user: User, case: Case) -> dict[str, Any]:
    """The latest notes; earlier ones come with "Show earlier notes"."""
    notes, more = latest_page(case_notes_for_user(user, case))
    return {"notes": notes, "notes_more": _more_url(case, "notes", notes[0].pk) if more else ""}


# The sections of the case page whose earlier rows come a page at a time.
HISTORY_SECTIONS = ("timeline", "check-ins", "notes")


def history_context(
    user: User, case: Case, section: str, *, before: int | None, show_all_events: bool = False
) -> dict[str, Any] | None:
    """The page of SECTION's rows before the row BEFORE, for "Show earlier ...": None when
    USER does not see that section at all (the timeline and notes are narrative)."""
    if section not in HISTORY_SECTIONS:
        return None
    narrative = sees_case_narrative(user)
    context: dict[str, Any] = {"case_row": case, "section": section, "before": before}
    items: list[Any]
    if section == "check-ins":
        rows, more = case_check_ins_before(case, before)
        items = check_in_views([check_in_output(row, narrative) for row in rows])
        cursor = items[0]["id"] if items else None
    elif not narrative:
        return None
    elif section == "notes":
        items, more = case_notes_before(user, case, before)
        cursor = items[0].pk if items else None
    else:
        definition = case_definition(case)
        basics = CaseBasics(
            user=user,
            case=case,
            data={
                "links": [
                    {"case": other.pk, "reference": other.reference}
                    for _link, other in linked_cases_visible(user, case)
                ]
            },
            definition=definition,
            pathway=definition.pathway(case.pathway),
            forms={},
        )
        events, more = case_timeline_page(
            case.pk, size=HISTORY_PAGE, before=before, with_reads=show_all_events
        )
        cursor = events[0].seq if events else None
        items = _timeline_events(basics, events)
    more_url = (
        _more_url(case, section, cursor, show_all_events=show_all_events)
        if more and cursor is not None
        else ""
    )
    return context | {"items": items, "more_url": more_url}


def reviews_section(basics: CaseBasics) -> dict[str, Any]:
    kinds = dict(ReviewKind.choices)
    reviews = [
        {
            **review,
            "kind_label": kinds.get(review["kind"], review["kind"]),
            "decision_label": REVIEW_DECISION_LABELS.get(review["decision"] or "", ""),
        }
        for review in basics.data["reviews"]
    ]
    return {
        "reviews": reviews if basics.narrative else [],
        "open_reviews": [review for review in reviews if review["status"] == "open"],
        "reviews_url": _optional_url("web:reviews") if basics.may(Capability.REVIEW_DECIDE) else "",
    }


def header_section(basics: CaseBasics) -> dict[str, Any]:
    """The header's clock correction and the SS 8572 link."""
    clock_state = basics.form("clock")
    report_step_id = basics.report_step_id
    return {
        "clock_form": clock_state,
        "clock_value": clock_state.value(
            "suspicion_formed_at", local_input_value(basics.case.suspicion_formed_at)
        ),
        "scar_url": _optional_url("web:case-scar", basics.case.pk)
        if basics.may(Capability.SCAR_GENERATE)
        and report_step_id is not None
        and basics.pathway.has_step(report_step_id)
        else "",
    }


# Forms whose summaries the page builds from their own controls, not from FIELD_LABELS.
_OWN_SUMMARY_PREFIXES = ("step:", "person:")
_OWN_SUMMARY_FORMS = frozenset({"plan", "victim"})


def form_errors(forms: dict[str, FormState]) -> dict[str, list[ErrorItem]]:
    """Each simple form's problems, linked to the control each one is about."""
    return {
        key: error_summary(
            state.errors,
            {
                name: (f"{key}-{name.removeprefix('facts.')}", str(FIELD_LABELS.get(name, name)))
                for name in state.errors
                if name not in UNLINKED_ERRORS
            },
        )
        for key, state in forms.items()
        if not key.startswith(_OWN_SUMMARY_PREFIXES) and key not in _OWN_SUMMARY_FORMS
    }


@dataclass(frozen=True)
class VoidedBanner:
    """How a voided case says so: when, by whom, and (to those who read it) why."""

    at: str | None
    by: str | None
    reason: str | None


def voided_banner(basics: CaseBasics) -> VoidedBanner | None:
    if basics.case.status != CaseStatus.VOIDED:
        return None
    data = basics.data
    return VoidedBanner(
        at=data.get("voided_at"),
        by=data.get("voided_by"),
        reason=data.get("void_reason") if basics.narrative else None,
    )


def people_section(basics: CaseBasics) -> PeopleSection | None:
    """The people on the case; none at all (not even the heading) without the capability."""
    if not basics.may(Capability.CASE_PEOPLE):
        return None
    may_edit = basics.is_open
    people = []
    for person in basics.data.get("people") or []:
        state = basics.form(f"person:{person['id']}")
        people.append(person_view(person, posted=state.posted, errors=state.errors))
    added = basics.form("person:new")
    add_fields = person_fields(prefix="person-new", posted=added.posted, errors=added.errors)
    return PeopleSection(
        people=people,
        may_edit=may_edit,
        add_fields=add_fields,
        add_summary=form_summary(add_fields, added.errors),
        add_open=added.posted is not None,
    )


@dataclass(frozen=True)
class VictimSection:
    """The student's details the SS 8572 asks for, and the form to record them."""

    facts: list[tuple[str, str]]
    may_edit: bool
    fields: list[FormField]
    summary: list[ErrorItem]
    open_form: bool


def victim_section(basics: CaseBasics) -> VictimSection | None:
    details = basics.data.get("victim_details")
    if not basics.narrative or details is None:
        return None
    state = basics.form("victim")
    may_edit = basics.is_open and basics.may(Capability.VICTIM_DETAILS_EDIT)
    fields = (
        victim_fields(posted=state.posted, initial=details, errors=state.errors) if may_edit else []
    )
    return VictimSection(
        facts=victim_facts(details),
        may_edit=may_edit,
        fields=fields,
        summary=form_summary(fields, state.errors),
        open_form=state.posted is not None or not details,
    )


@dataclass(frozen=True)
class TransferSection:
    """The completed-transfer form, once the placement review decided a transfer."""

    decided_school: str
    schools: list[tuple[str, str, bool]]  # code, name, chosen
    completed_value: str


def transfer_decided_school(case: Case) -> str | None:
    """The school the placement review decided to transfer CASE to, if it decided one.

    The rule is the one the transfer service applies (``case_transfer_decided``).
    """
    decided = case_transfer_decided(case)
    return decided[1] if decided is not None else None


def transfer_section(basics: CaseBasics) -> TransferSection | None:
    if not (basics.is_open and basics.may(Capability.CASE_TRANSFER)):
        return None
    decided = transfer_decided_school(basics.case)
    if decided is None or decided == basics.case.school.code:
        # No transfer decided, or it is already recorded: the case is at that school.
        return None
    state = basics.form("transfer")
    chosen = state.value("school", decided)
    schools = [
        (school.code, school.name, school.code == chosen)
        for school in School.objects.exclude(pk=basics.case.school_id).order_by("name")
    ]
    return TransferSection(
        decided_school=decided,
        schools=schools,
        completed_value=state.value("completed_at", now_input_value()),
    )


def abilities(basics: CaseBasics, *, facts: list[FactView], moves: list[Any]) -> dict[str, bool]:
    """Which forms the page offers this user: the services check again when one is sent.

    A voided case offers none: it is kept whole, and only a review can open it again.
    """
    is_open = basics.is_open
    plan_exists = basics.data["check_in_plan"] is not None
    may = basics.may
    return {
        "facts": is_open and any(fact.may_answer for fact in facts),
        "fact_reason": any(
            fact.may_answer and fact.reason_required_when is not None for fact in facts
        ),
        "move_clock": is_open and may(Capability.CASE_MOVE_CLOCK),
        "escalate": is_open and bool(moves) and may(Capability.CASE_ESCALATE),
        "link": is_open and may(Capability.CASE_LINK),
        "plan": is_open and may(Capability.CHECKIN_PLAN),
        "check_in": is_open and plan_exists and may(Capability.CHECKIN_RECORD),
        "note": is_open and may(Capability.NOTE_ADD),
        "close": is_open and may(Capability.CASE_CLOSE),
        "reopen": basics.case.status == CaseStatus.CLOSED and may(Capability.CASE_REOPEN),
        "void": is_open and may(Capability.CASE_VOID),
    }


def build_case_context(
    user: User,
    case: Case,
    *,
    forms: dict[str, FormState] | None = None,
    show_all_events: bool = False,
) -> dict[str, Any]:
    """Everything the case page and its fragment render, section by section."""
    definition = case_definition(case)
    basics = CaseBasics(
        user=user,
        case=case,
        data=case_output(user, case),
        definition=definition,
        pathway=definition.pathway(case.pathway),
        forms=forms or {},
    )
    steps = steps_section(basics)
    facts = facts_section(basics)
    moves = escalate_section(basics)
    return {
        "case": basics.data,
        "case_row": case,
        "definition": definition,
        "pathway": basics.pathway,
        "is_open": basics.is_open,
        "narrative": basics.narrative,
        **steps,
        **facts,
        **moves,
        **links_section(basics),
        **check_ins_section(basics, plan_in_step=steps["plan_in_step"]),
        **timeline_section(basics, show_all_events=show_all_events),
        **reviews_section(basics),
        **header_section(basics),
        **notes_section(user, case),
        "forms": basics.forms,
        "form_errors": form_errors(basics.forms),
        # What a form sent for the first time will do, with its "Yes, ..." button.
        "confirm": case_confirmations(user, case, basics.forms),
        "now_value": now_input_value(),
        "voided": voided_banner(basics),
        "people": people_section(basics),
        "victim": victim_section(basics),
        "transfer": transfer_section(basics),
        "attachments": attachments_section(user, case, errors=basics.form(ATTACHMENT_FORM).errors),
        "can": abilities(basics, facts=facts["facts"], moves=moves["escalations"]),
    }
