"""What the case page shows: the case as the protocol sees it, and the forms the user may use.

Everything a person may see comes from ``cases.outputs.case_output`` (which already withholds
police-only details), so the page and the API never disagree about visibility. Which forms
appear follows the same capability checks the services make; the services still check again
when a form is sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safestep.accounts.access import (
    Capability,
    has_capability,
    may_answer_fact,
    may_reopen_step,
    may_resolve_step,
    sees_sealed_payloads,
)
from safestep.accounts.models import Role, User
from safestep.audit.actions import CASE_WORK, Action, description
from safestep.audit.selectors import case_timeline, event_output
from safestep.cases.models import (
    Case,
    CaseStatus,
    CheckInMethod,
    LinkRelation,
    ReviewDecision,
    ReviewKind,
)
from safestep.cases.outputs import case_output
from safestep.cases.selectors import (
    case_definition,
    case_notes_for_user,
    case_own_report,
    cases_linkable_for_user,
    checkin_assignee_choices,
    sees_case_narrative,
)
from safestep.protocol import (
    ANCHOR_SUSPICION_FORMED,
    STEP_ROLE_CHILD_ABUSE_REPORT,
    Fact,
    FactIs,
    FieldSpec,
    Protocol,
    Step,
    describe_condition,
    iter_condition_facts,
)
from safestep.web.concern_page import WITHHELD_REPORTER, withheld_reporters
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
}
REVIEW_DECISION_LABELS: dict[str, Any] = {
    ReviewDecision.UPHELD: gettext_lazy("Upheld: the decision stands"),
    ReviewDecision.OVERRULED: gettext_lazy("Overruled"),
}

# Problems that belong to the form as a whole, not to one control to jump to.
UNLINKED_ERRORS = frozenset({"__all__", "facts", "version", "pathway"})


@dataclass
class FormState:
    """What one form on the page shows after it was sent: the input, and what was wrong."""

    posted: QueryDict | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

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
    if action in CASE_WORK:
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
        text = _(description(Action(action), payload)) % values
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
            question = definition.fact(condition.fact).question
        except KeyError:
            question = condition.fact
        answer = _("yes") if condition.value else _("no")
        return _("Only if the answer to “%(question)s” is %(answer)s.") % {
            "question": question,
            "answer": answer,
        }
    return _("Only if %(condition)s.") % {"condition": describe_condition(condition)}


def _recorded(step: Step, details: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not details:
        return []
    specs: dict[str, FieldSpec] = {spec.name: spec for spec in step.fields}
    shown = []
    for name, value in details.items():
        spec = specs.get(name)
        shown.append((spec.label if spec else name, format_detail(spec, value)))
    return shown


def _assignee_pairs(case: Case) -> list[tuple[str, str]]:
    return [
        (
            person.username,
            f"{person.get_full_name() or person.username} · {person.get_role_display()}",
        )
        for person in checkin_assignee_choices(case)
    ]


def plan_fields(
    step: Step | None, case: Case, state: FormState, initial: dict[str, Any]
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
                choices_override=_assignee_pairs(case) if spec.type == "user" else None,
            )
        )
    return controls


def _step_forms(view: StepView, forms: dict[str, FormState], own_report: Any) -> None:
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
        return reverse(name, args=list(args))
    except NoReverseMatch:
        return ""


def build_case_context(
    user: User,
    case: Case,
    *,
    forms: dict[str, FormState] | None = None,
    show_all_events: bool = False,
) -> dict[str, Any]:
    """Everything the case page and its fragment render."""
    forms = forms or {}
    data = case_output(user, case)
    definition = case_definition(case)
    pathway = definition.pathway(case.pathway)
    is_open = case.status == CaseStatus.OPEN
    narrative = sees_case_narrative(user)
    codes = {step.id: step.code for step in pathway.steps}

    own_report = case_own_report(case) if narrative else None
    plan_exists = data["check_in_plan"] is not None
    plan_state = forms.get("plan", FormState())
    plan_in_step = False

    report_step_id = definition.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    steps: list[StepView] = []
    for step_data, step in zip(data["steps"], pathway.steps, strict=True):
        state = step_data["state"]
        can_act = (
            is_open
            and state in ("pending", "in_progress")
            and has_capability(user, Capability.CASE_READ)
            and may_resolve_step(user, step.actor_roles)
        )
        view = StepView(
            data=step_data,
            step=step,
            anchor=f"step-{step.id}",
            condition_text=_condition_text(definition, step),
            waiting_on=[codes.get(item, item) for item in step_data["waiting_on"]],
            recorded=_recorded(step, step_data["details"]),
            can_act=can_act,
            can_reopen=is_open
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
            is_report=step.id == report_step_id,
        )
        if can_act and step.recurring:
            if has_capability(user, Capability.CHECKIN_PLAN) and not plan_exists:
                plan_in_step = True
                view.done_fields = plan_fields(step, case, plan_state, {})
                view.done_form = plan_state
                view.done_errors = error_summary(plan_state.errors, controls_of(view.done_fields))
            else:
                view.can_act = False
        elif can_act:
            _step_forms(view, forms, own_report if view.is_report else None)
        if view.can_reopen:
            view.reopen_form = forms.get(f"step:{step.id}:reopen", FormState())
            view.reopen_errors = error_summary(
                view.reopen_form.errors,
                {"reason": (f"reopen-{step.id}-reason", _("Why reopen it"))},
            )
        steps.append(view)

    # Unfold the form someone just sent (to show what was wrong), else the first step the
    # user can act on: the page opens on the next thing to do.
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

    clocks = [
        ClockView(
            code=view.step.code,
            title=view.step.title,
            state=view.data["state"],
            due_at=view.data["due_at"],
            overdue=view.data["overdue"],
            resolved_at=view.data["resolved_at"],
            progress_title=(view.data["progress"] or "") if view.in_progress else "",
            late=bool(view.data["late"]),
        )
        for view in steps
        if view.step.deadline is not None and view.step.deadline.anchor == ANCHOR_SUSPICION_FORMED
    ]

    facts_state = forms.get("facts", FormState())
    facts = []
    for fact in definition.facts:
        value = data["facts"].get(fact.id)
        chosen = facts_state.value(fact.id, {True: "yes", False: "no", None: ""}[value])
        decides = [
            step.code
            for step in pathway.steps
            if isinstance(step.condition, FactIs) and step.condition.fact == fact.id
        ]
        facts.append(
            FactView(
                id=fact.id,
                question=fact.question,
                help=fact.help,
                value=value,
                decides=decides,
                reason_required_when=fact.reason_required_when,
                options=[
                    Option("yes", _("Yes"), chosen == "yes"),
                    Option("no", _("No"), chosen == "no"),
                    Option("", _("Not decided yet"), chosen == ""),
                ],
                may_answer=may_answer_fact(user, fact.actor_roles),
                answered_by=_answered_by(fact),
            )
        )

    escalations = []
    for escalation in definition.escalations:
        if escalation.from_pathway != case.pathway:
            continue
        target = definition.pathway(escalation.to_pathway)
        escalations.append(
            {
                "to": target,
                "title": escalation.title,
                "carries": [codes[item] for item in escalation.carries if item in codes],
                "new_steps": [
                    step.code for step in target.steps if step.id not in pathway.step_ids
                ],
            }
        )

    linkable = (
        cases_linkable_for_user(user, case)
        if is_open and has_capability(user, Capability.CASE_LINK)
        else []
    )
    plan_state_for_section = FormState() if plan_in_step else plan_state
    plan = data["check_in_plan"]
    section_plan_fields = plan_fields(
        None,
        case,
        plan_state_for_section,
        {"every_days": plan["every_days"], "assignee": plan["assignee"]} if plan else {},
    )

    events = []
    step_names = {
        step.id: f"{step.code} {step.title}" for item in definition.pathways for step in item.steps
    } | {step.id: f"{step.code} {step.title}" for step in pathway.steps}
    pathway_names = {item.id: f"{item.code} · {item.title}" for item in definition.pathways}
    if narrative:
        # Who reported is withheld from school staff when the reporter asked for it, also
        # where they acted on the case (their own report to an agency is logged on it).
        hidden = withheld_reporters(user, case.concerns.select_related("submitted_by"))
        with_sealed = sees_sealed_payloads(user)
        # A link to a case outside the reader's scope is left out entirely: even "linked to
        # another case" would tell them that a case they may not see exists.
        visible_links = {link["case"]: link["reference"] for link in data["links"]}
        for event in case_timeline(case.pk):
            if event.action == "case.read" and not show_all_events:
                continue
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

    forms_errors = {
        key: error_summary(
            state.errors,
            {
                name: (f"{key}-{name.removeprefix('facts.')}", str(FIELD_LABELS.get(name, name)))
                for name in state.errors
                if name not in UNLINKED_ERRORS
            },
        )
        for key, state in forms.items()
        if not key.startswith("step:") and key != "plan"
    }
    unresolved = [
        {"code": view.step.code, "title": view.step.title, "anchor": view.anchor}
        for view in steps
        if view.data["state"] in ("pending", "waiting", "in_progress")
    ]
    kinds = dict(ReviewKind.choices)
    reviews = [
        {
            **review,
            "kind_label": kinds.get(review["kind"], review["kind"]),
            "decision_label": REVIEW_DECISION_LABELS.get(review["decision"] or "", ""),
        }
        for review in data["reviews"]
    ]
    open_reviews = [review for review in reviews if review["status"] == "open"]
    clock_state = forms.get("clock", FormState())
    return {
        "case": data,
        "case_row": case,
        "definition": definition,
        "pathway": pathway,
        "is_open": is_open,
        "narrative": narrative,
        "steps": steps,
        "clocks": clocks,
        "facts": facts,
        "facts_form": facts_state,
        "escalations": escalations,
        "links": [
            {**link, "label": LINK_RELATION_SHORT.get(link["relation"], link["relation"])}
            for link in data["links"]
        ],
        "linkable": linkable,
        "relations": [(value, LINK_RELATION_LABELS[value]) for value in LinkRelation.values],
        "plan_in_step": plan_in_step,
        "plan_fields": section_plan_fields,
        "plan_errors": error_summary(
            plan_state_for_section.errors, controls_of(section_plan_fields)
        ),
        "check_in_methods": [
            (value, CHECK_IN_METHOD_LABELS[value]) for value in CheckInMethod.values
        ],
        "check_ins": [
            {**item, "method_label": CHECK_IN_METHOD_LABELS.get(item["method"], item["method"])}
            for item in data["check_ins"]
        ],
        "notes": case_notes_for_user(user, case),
        "events": events,
        "show_all_events": show_all_events,
        "unresolved": unresolved,
        "forms": forms,
        "form_errors": forms_errors,
        "now_value": now_input_value(),
        "reviews": reviews if narrative else [],
        "open_reviews": open_reviews,
        "reviews_url": _optional_url("web:reviews")
        if has_capability(user, Capability.REVIEW_DECIDE)
        else "",
        "clock_form": clock_state,
        "clock_value": clock_state.value(
            "suspicion_formed_at", local_input_value(case.suspicion_formed_at)
        ),
        "scar_url": _optional_url("api:case-scar", case.pk)
        if has_capability(user, Capability.SCAR_GENERATE)
        and report_step_id is not None
        and pathway.has_step(report_step_id)
        else "",
        "can": {
            "facts": is_open and any(fact.may_answer for fact in facts),
            "fact_reason": any(
                fact.may_answer and fact.reason_required_when is not None for fact in facts
            ),
            "move_clock": is_open and has_capability(user, Capability.CASE_MOVE_CLOCK),
            "escalate": is_open
            and bool(escalations)
            and has_capability(user, Capability.CASE_ESCALATE),
            "link": is_open and has_capability(user, Capability.CASE_LINK),
            "plan": is_open and has_capability(user, Capability.CHECKIN_PLAN),
            "check_in": is_open and plan_exists and has_capability(user, Capability.CHECKIN_RECORD),
            "note": is_open and has_capability(user, Capability.NOTE_ADD),
            "close": is_open and has_capability(user, Capability.CASE_CLOSE),
            "reopen": not is_open and has_capability(user, Capability.CASE_REOPEN),
        },
    }
