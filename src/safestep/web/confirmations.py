"""A second click for what is hard to undo: escalating, closing, voiding, transferring a case
and dismissing a concern.

The first time such a form is sent (without ``confirm=1``), nothing is kept: the page answers
with what will happen and a "Yes, ..." button that sends the same values again with
``confirm=1``. It works without JavaScript (a form post answered with a page) and with htmx
(the same answer as a fragment).

Before asking, the page runs the service itself and undoes everything it wrote
(:func:`rehearse`), so the first click is refused exactly as the real change would be (not
allowed, a stale version, a missing reason), and no rule is written twice. What a service
does outside the database waits for the commit (``transaction.on_commit``: notices, the
audit checkpoint file), so a rehearsal sends and signs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from safestep.accounts.access import (
    DISTRICT_WIDE_ROLES,
    PLACEMENT_ONLY_ROLES,
    school_scoped_staff,
)
from safestep.accounts.models import Role, School, User
from safestep.cases.models import Case
from safestep.cases.selectors import case_definition, live_record_by_step, record_input
from safestep.protocol import Pathway, RecordInput, in_language, plan_escalation
from safestep.web.concern_page import and_list

CONFIRM_FIELD = "confirm"

Result = TypeVar("Result")


def confirmed(posted: QueryDict) -> bool:
    """Whether POSTED is the second click: the person saw what will happen and said yes."""
    return str(posted.get(CONFIRM_FIELD, "")) == "1"


def rehearse(action: Callable[[], Result]) -> Result:
    """Run ACTION (one service call) and roll back everything it wrote.

    A refusal propagates as it would from the real call; otherwise its result is returned,
    though nothing of it is stored.
    """
    with transaction.atomic():
        result = action()
        transaction.set_rollback(True)
    return result


# --- what each form will do, in words ------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """The second-click box of one case form: what will happen, and the button that does it."""

    key: str  # the form: escalate | close | void | transfer
    heading: str
    lines: list[str]
    button: str
    # The values that were sent, sent again with confirm=1 by the button.
    hidden: list[tuple[str, str]]


class _Sent(Protocol):
    """A form as the case page keeps it after it was sent (``case_page.FormState``)."""

    posted: QueryDict | None
    confirming: bool


def sent_values(posted: QueryDict) -> list[tuple[str, str]]:
    """What POSTED carried, to send again: everything but the token and the confirmation."""
    return [
        (name, str(value))
        for name, values in posted.lists()
        if name not in ("csrfmiddlewaretoken", CONFIRM_FIELD)
        for value in values
    ]


def case_confirmations(
    user: User, case: Case, forms: Mapping[str, _Sent]
) -> dict[str, Confirmation]:
    """The confirmation of each case form that was just sent for the first time."""
    found: dict[str, Confirmation] = {}
    for key, build in CASE_CONFIRMATIONS.items():
        state = forms.get(key)
        if state is None or not state.confirming or state.posted is None:
            continue
        heading, lines, button = build(user, case, state.posted)
        found[key] = Confirmation(key, heading, lines, button, sent_values(state.posted))
    return found


Words = tuple[str, list[str], str]  # heading, lines, button


def _pathway_name(pathway: Pathway) -> str:
    return f"{pathway.code} · {in_language(pathway, 'title', get_language())}"


def _step_code(step_id: str, *pathways: Pathway) -> str:
    for pathway in pathways:
        if pathway.has_step(step_id):
            return pathway.step(step_id).code
    return step_id.replace("_", " ")


def case_records(case: Case) -> list[RecordInput]:
    """CASE's live step records, as the protocol's engine reads them."""
    return [record_input(record) for record in live_record_by_step(case).values()]


def escalation_words(
    case: Case, target_id: str, records: Sequence[RecordInput] | None = None
) -> list[str]:
    """What moving CASE to TARGET_ID keeps, adds, asks again and leaves behind, computed by
    the protocol's own plan (``plan_escalation``) on the case's RECORDS (read when not
    given), as the move itself computes it."""
    definition = case_definition(case)
    source = definition.pathway(case.pathway)
    target = definition.pathway(target_id)
    given = case_records(case) if records is None else records
    plan = plan_escalation(definition, case.pathway, target_id, given)
    kept = [_step_code(item.step_id, source, target) for item in plan.carried]
    added = [_step_code(step_id, target) for step_id in plan.new_step_ids]
    kept_text = (
        ngettext("%(steps)s is kept", "%(steps)s are kept", len(kept)) % {"steps": and_list(kept)}
        if kept
        else _("Nothing recorded so far carries over")
    )
    added_text = (
        ngettext("%(steps)s is added", "%(steps)s are added", len(added))
        % {"steps": and_list(added)}
        if added
        else _("no step is added")
    )
    lines = [_("%(kept)s; %(added)s.") % {"kept": kept_text, "added": added_text}]
    if plan.reasked:
        asked = [_step_code(item.step_id, target) for item in plan.reasked]
        lines.append(
            ngettext(
                "%(steps)s must be decided again: the new pathway always requires it.",
                "%(steps)s must be decided again: the new pathway always requires them.",
                len(asked),
            )
            % {"steps": and_list(asked)}
        )
    if plan.left_behind:
        left = [_step_code(item.step_id, source, target) for item in plan.left_behind]
        lines.append(
            ngettext(
                "%(steps)s is not a step of the new pathway: its record stays in the case's "
                "history.",
                "%(steps)s are not steps of the new pathway: their records stay in the case's "
                "history.",
                len(left),
            )
            % {"steps": and_list(left)}
        )
    return lines


def _escalate(user: User, case: Case, posted: QueryDict) -> Words:
    definition = case_definition(case)
    target = definition.pathway(str(posted.get("pathway", "")))
    lines = escalation_words(case, target.id)
    if definition.is_lower(case.pathway, target.id):
        lines.append(_("This is a lower pathway: the district coordinator reviews the move."))
    lines.append(_("Your reason: %(reason)s") % {"reason": str(posted.get("reason", "")).strip()})
    heading = _("Move %(reference)s from %(from)s to %(to)s?") % {
        "reference": case.reference,
        "from": _pathway_name(definition.pathway(case.pathway)),
        "to": _pathway_name(target),
    }
    return heading, lines, _("Yes, move the case to %(code)s") % {"code": target.code}


def _close(user: User, case: Case, posted: QueryDict) -> Words:
    lines = [
        _("The case closes with this outcome: “%(outcome)s”.")
        % {"outcome": str(posted.get("outcome", "")).strip()},
        _(
            "It leaves the open cases and nothing more can be recorded on it, unless someone "
            "reopens it with a reason."
        ),
    ]
    return (
        _("Close %(reference)s?") % {"reference": case.reference},
        lines,
        _("Yes, close the case"),
    )


def _void(user: User, case: Case, posted: QueryDict) -> Words:
    lines = [
        _("The case is marked as opened in error. Nothing is deleted: it keeps its whole history."),
        _("It leaves every list but “Voided”, and nothing more can be recorded on it."),
        _("The district coordinator reviews your decision, and may open the case again."),
        _("The staff who reported its concerns are told that their own duty to report stands."),
        _("Your reason: %(reason)s") % {"reason": str(posted.get("reason", "")).strip()},
    ]
    heading = _("Void %(reference)s as opened in error?") % {"reference": case.reference}
    return heading, lines, _("Yes, void the case")


def _staff_only_at(school: School, other: School) -> list[str]:
    """The school-scoped staff (site administrators, counselors) who work at SCHOOL but not
    at OTHER: the people whose access to a case moving between the two changes."""
    people = (
        User.objects.filter(school_scoped_staff(school.pk), is_active=True)
        .exclude(schools=other)
        .order_by("last_name", "first_name", "username")
        .distinct()
    )
    return [
        f"{person.get_full_name() or person.username} ({person.get_role_display()})"
        for person in people
    ]


def _role_names(roles: Iterable[str]) -> str:
    return and_list(sorted(str(Role(role).label) for role in roles if role in Role.values))


def _transfer(user: User, case: Case, posted: QueryDict) -> Words:
    old = case.school
    new = School.objects.get(code=str(posted.get("school", "")).strip())
    losing = _staff_only_at(old, new)
    gaining = _staff_only_at(new, old)
    lines = [
        _("The case moves from %(old)s to %(new)s at once, with everything recorded on it.")
        % {"old": old.name, "new": new.name},
        _("They lose access: %(people)s.") % {"people": and_list(losing)}
        if losing
        else _("Nobody at %(old)s loses access.") % {"old": old.name},
        _("They gain access: %(people)s.") % {"people": and_list(gaining)}
        if gaining
        else _("Nobody at %(new)s has an account that sees cases yet.") % {"new": new.name},
        _("%(roles)s keep their access.")
        % {"roles": _role_names(DISTRICT_WIDE_ROLES | PLACEMENT_ONLY_ROLES)},
    ]
    heading = _("Move %(reference)s to %(school)s?") % {
        "reference": case.reference,
        "school": new.name,
    }
    return heading, lines, _("Yes, move the case to %(school)s") % {"school": new.name}


CASE_CONFIRMATIONS: dict[str, Callable[[User, Case, QueryDict], Words]] = {
    "escalate": _escalate,
    "close": _close,
    "void": _void,
    "transfer": _transfer,
}
