"""The case page and every form on it. Each write is one service call.

A form that is sent answers, without JavaScript, with a redirect back to the case (or the
page again with the problems marked); with htmx, with the case body as a fragment. A stale
version never overwrites: the page comes back with the current state and says so.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.cases import people, services
from safestep.cases.models import Case, CaseStatus
from safestep.cases.outputs import case_summary_output
from safestep.cases.selectors import (
    case_definition,
    case_find_for_user,
    case_get_for_user,
    case_history_for_user,
    case_list_for_user,
    cases_linkable_for_user,
)
from safestep.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from safestep.protocol import Step
from safestep.web.case_page import (
    HISTORY_SECTIONS,
    FormState,
    build_case_context,
    history_context,
)
from safestep.web.confirmations import confirmed, rehearse
from safestep.web.drafts import case_drafts
from safestep.web.forms import details_from_post, moment_from_post, whole_number
from safestep.web.pages import FORM_WIDE, REFUSALS, acting_user, is_htmx, refusal, render_page
from safestep.web.people_page import person_from_post, victim_from_post

CASE_TEMPLATE = "web/case_detail.html"
# Forms whose fields show the case's current values rather than a draft.
CURRENT_STATE_FORMS = frozenset({"facts", "plan"})
CASE_FRAGMENT = "web/case/_fragment.html"
HISTORY_TEMPLATE = "web/case/history.html"
HISTORY_FRAGMENT = "web/case/_history_rows.html"

STALE_NOTICE = gettext_lazy(
    "Someone else changed this case since you opened it. Nothing you sent was saved. "
    "Here is the current state: check it, then send your change again if it still applies."
)


def _case_or_404(user: User, case_id: int, *, audit_read: bool = True) -> Case:
    try:
        return case_get_for_user(user, case_id, channel="page", audit_read=audit_read, page=True)
    except NotFound:
        raise Http404("No such case") from None


@login_required
@require_GET
def case_history(request: HttpRequest, case_id: int, section: str) -> HttpResponse:
    """Earlier rows of the timeline, the check-ins or the notes ("Show earlier ..."): for
    htmx the rows alone, without JavaScript a page of their own. Read and recorded as the
    case page is (``case.read``)."""
    user = acting_user(request)
    given = request.GET.get("before", "")
    before = whole_number(given) if given else None
    if given and before is None:
        return HttpResponse(
            _("“before” must be a whole number: the row the earlier ones come before."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    if section not in HISTORY_SECTIONS:
        raise Http404("No such part of a case")
    try:
        case = case_history_for_user(user, case_id)
        context = history_context(
            user,
            case,
            section,
            before=before,
            show_all_events=request.GET.get("events") == "all",
        )
    except NotFound:
        raise Http404("No such case") from None
    if context is None:
        raise Http404("No such part of a case")
    return render_page(request, HISTORY_TEMPLATE, context, fragment=HISTORY_FRAGMENT)


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not has_capability(user, Capability.CASE_READ):
        raise Http404("No cases for this role")
    status = request.GET.get("status", CaseStatus.OPEN)
    if status not in (*CaseStatus.values, "all"):
        status = CaseStatus.OPEN
    cases = case_list_for_user(user, status=None if status == "all" else status)[:500]
    return render_page(
        request,
        "web/case_list.html",
        {
            "cases": [case_summary_output(user, case) for case in cases],
            "status": status,
            # "All" is every case but the voided ones: those show only when asked for.
            "statuses": [
                ("open", _("Open")),
                ("closed", _("Closed")),
                ("voided", _("Voided")),
                ("all", _("All")),
            ],
        },
    )


@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    user = acting_user(request)
    case = _case_or_404(user, case_id)
    forms, notice = _drafts(request, case)
    context = build_case_context(
        user, case, forms=forms, show_all_events=request.GET.get("events") == "all"
    )
    if notice:
        context["notice"] = notice
    return render_page(request, CASE_TEMPLATE, context, fragment=CASE_FRAGMENT)


def _drafts(request: HttpRequest, case: Case) -> tuple[dict[str, FormState], str]:
    """What the user typed before their session ended, back in its form as after a
    refusal; if the case changed since, the same rule as for a stale version (_write)."""
    forms: dict[str, FormState] = {}
    changed = False
    for form, posted in case_drafts(request, case.pk):
        stale = whole_number(str(posted.get("version", ""))) not in (None, case.version)
        changed = changed or stale
        if not (stale and form in CURRENT_STATE_FORMS):
            forms[form] = FormState(posted=posted)
    return forms, str(STALE_NOTICE) if changed else ""


def _version(posted: QueryDict) -> int:
    version = whole_number(posted.get("version", ""))
    if version is None:
        raise ValidationFailed({"version": [_("The form lost track of the case's version.")]})
    return version


def _answer(
    request: HttpRequest,
    user: User,
    case_id: int,
    *,
    status: int,
    forms: dict[str, FormState] | None = None,
    notice: str = "",
    done: str = "",
    done_anchor: str = "",
) -> HttpResponse:
    # Re-read after the attempt: the page shows what is stored now. The write (or this
    # refused attempt) is not a new read of the case worth a second audit event.
    case = _case_or_404(user, case_id, audit_read=False)
    context = build_case_context(user, case, forms=forms)
    context["notice"] = notice
    context["done_message"] = done
    context["done_anchor"] = done_anchor
    return render_page(request, CASE_TEMPLATE, context, fragment=CASE_FRAGMENT, status=status)


def _write(
    request: HttpRequest,
    case_id: int,
    *,
    form: str,
    anchor: str,
    action: Callable[[User, QueryDict], str],
    confirm: bool = False,
) -> HttpResponse:
    """Run ACTION (one service call) and answer with the outcome, whatever it was.

    With CONFIRM (what is hard to undo), the first time the form is sent nothing is kept:
    the action is rehearsed, so it is refused as the real one would be, and the page
    answers with what it will do and a "Yes, ..." button (``web.confirmations``).
    """
    user = acting_user(request)
    posted = request.POST
    try:
        if confirm and not confirmed(posted):
            rehearse(lambda: action(user, posted))
            asking = FormState(posted=posted.copy(), confirming=True)
            return _answer(request, user, case_id, status=200, forms={form: asking})
        message = action(user, posted)
    except REFUSALS as error:
        refused = refusal(error, not_found="No such case")
        state = FormState(posted=posted.copy(), errors=refused.errors)
        notice = ""
        if isinstance(error, StaleVersion):
            # Keep what they typed, except where the form shows the case's current answers
            # (the questions, the check-in plan): those must show what is stored now.
            state = FormState(posted=None if form in CURRENT_STATE_FORMS else posted.copy())
            notice = str(STALE_NOTICE)
        elif isinstance(error, Conflict):
            state.errors[FORM_WIDE] = [_conflict_detail(user, case_id, error)]
        return _answer(
            request, user, case_id, status=refused.status, forms={form: state}, notice=notice
        )
    if is_htmx(request):
        return _answer(request, user, case_id, status=200, done=message, done_anchor=anchor)
    messages.success(request, message)
    return redirect(reverse("web:case", args=[case_id]) + f"#{anchor}")


def _conflict_detail(user: User, case_id: int, error: Conflict) -> str:
    """A conflict's message, naming what stands in the way of closing the case."""
    unresolved = error.extra.get("unresolved")
    open_reviews = error.extra.get("open_reviews")
    if isinstance(open_reviews, list) and open_reviews:
        return ngettext(
            "The case cannot close while a review is open: the district coordinator "
            "decides it first (see Reviews below).",
            "The case cannot close while %(count)d reviews are open: the district "
            "coordinator decides them first (see Reviews below).",
            len(open_reviews),
        ) % {"count": len(open_reviews)}
    if isinstance(unresolved, list):
        return _("These steps are not resolved yet: %(steps)s.") % {
            "steps": ", ".join(_step_codes(user, case_id, unresolved))
        }
    return error.detail


def _step_codes(user: User, case_id: int, step_ids: list[str]) -> list[str]:
    case = _case_or_404(user, case_id, audit_read=False)
    pathway = case_definition(case).pathway(case.pathway)
    return [
        f"{pathway.step(item).code} {pathway.step(item).title}" if pathway.has_step(item) else item
        for item in step_ids
    ]


def _step_of(user: User, case_id: int, step_id: str) -> Step:
    case = _case_or_404(user, case_id, audit_read=False)
    pathway = case_definition(case).pathway(case.pathway)
    if not pathway.has_step(step_id):
        raise Http404("No such step")
    return pathway.step(step_id)


@login_required
@require_POST
def step_complete(request: HttpRequest, case_id: int, step_id: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        step = _step_of(user, case_id, step_id)
        details, problems = details_from_post(step, posted)
        # A step whose own field says when it was done (the written report's time) does not
        # ask again: the service takes that field as the time it happened.
        asks_time = step.done_at_field is None
        occurred_at = moment_from_post(posted, "occurred_at", problems, required=asks_time)
        if problems or (asks_time and occurred_at is None):
            raise ValidationFailed(problems)
        services.step_complete(
            acting_user=user,
            case_id=case_id,
            step_id=step.id,
            occurred_at=occurred_at or timezone.now(),
            details=details,
            expected_version=_version(posted),
            reason=str(posted.get("reason", "")),
        )
        return _("%(code)s is recorded as done.") % {"code": step.code}

    return _write(
        request, case_id, form=f"step:{step_id}:done", anchor=f"step-{step_id}", action=action
    )


@login_required
@require_POST
def step_progress(request: HttpRequest, case_id: int, step_id: str) -> HttpResponse:
    """Partial progress the protocol declares: the phone call before the written report."""

    def action(user: User, posted: QueryDict) -> str:
        step = _step_of(user, case_id, step_id)
        if step.progress is None:
            raise Http404("This step records no partial progress")
        details, problems = details_from_post(step, posted, only=step.progress.fields)
        if problems:
            raise ValidationFailed(problems)
        services.step_progress(
            acting_user=user,
            case_id=case_id,
            step_id=step.id,
            details=details,
            expected_version=_version(posted),
        )
        return _("%(code)s: “%(title)s” is recorded. The step stays open until it is done.") % {
            "code": step.code,
            "title": step.progress.title,
        }

    return _write(
        request, case_id, form=f"step:{step_id}:progress", anchor=f"step-{step_id}", action=action
    )


@login_required
@require_POST
def step_not_applicable(request: HttpRequest, case_id: int, step_id: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        step = _step_of(user, case_id, step_id)
        details, problems = details_from_post(step, posted)
        if problems:
            raise ValidationFailed(problems)
        services.step_mark_not_applicable(
            acting_user=user,
            case_id=case_id,
            step_id=step.id,
            reason=str(posted.get("reason", "")),
            details=details,
            expected_version=_version(posted),
        )
        return _("%(code)s is recorded as not applying, with your reason.") % {"code": step.code}

    return _write(
        request, case_id, form=f"step:{step_id}:na", anchor=f"step-{step_id}", action=action
    )


@login_required
@require_POST
def step_reopen(request: HttpRequest, case_id: int, step_id: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        step = _step_of(user, case_id, step_id)
        services.step_reopen(
            acting_user=user,
            case_id=case_id,
            step_id=step.id,
            reason=str(posted.get("reason", "")),
            expected_version=_version(posted),
        )
        return _("%(code)s is open again; the earlier record is kept.") % {"code": step.code}

    return _write(
        request, case_id, form=f"step:{step_id}:reopen", anchor=f"step-{step_id}", action=action
    )


_ANSWERS: dict[str, bool | None] = {"yes": True, "no": False, "": None}


@login_required
@require_POST
def case_facts(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        case = _case_or_404(user, case_id, audit_read=False)
        current = {fact.fact_id: fact.value for fact in case.facts.all()}
        changed: dict[str, bool | None] = {}
        for fact in case_definition(case).facts:
            if fact.id not in posted:
                continue
            answer = _ANSWERS.get(str(posted.get(fact.id)))
            if answer != current.get(fact.id):
                changed[fact.id] = answer
        if not changed:
            return _("No answer changed.")
        services.case_facts_set(
            acting_user=user,
            case_id=case_id,
            facts=changed,
            reason=str(posted.get("reason", "")),
            expected_version=_version(posted),
        )
        return _("Your answers are saved.")

    return _write(request, case_id, form="facts", anchor="facts", action=action)


@login_required
@require_POST
def case_escalate(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        services.case_escalate(
            acting_user=user,
            case_id=case_id,
            pathway=str(posted.get("pathway", "")),
            reason=str(posted.get("reason", "")),
            expected_version=_version(posted),
        )
        return _("The case has moved to its new pathway; the work already done is kept.")

    return _write(request, case_id, form="escalate", anchor="top", action=action, confirm=True)


@login_required
@require_POST
def case_clock_move(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        problems: dict[str, list[str]] = {}
        formed_at = moment_from_post(posted, "suspicion_formed_at", problems)
        if problems or formed_at is None:
            raise ValidationFailed(problems)
        services.case_clock_move(
            acting_user=user,
            case_id=case_id,
            suspicion_formed_at=formed_at,
            reason=str(posted.get("reason", "")),
            expected_version=_version(posted),
        )
        return _(
            "The time the suspicion was formed is corrected, and the report's clock with it. "
            "The district coordinator will review the change."
        )

    return _write(request, case_id, form="clock", anchor="top", action=action)


@login_required
@require_POST
def case_link(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        reference = str(posted.get("case", "")).strip()
        if not reference:
            raise ValidationFailed({"case": [_("Give the other case's reference.")]})
        if not reference.isascii() or len(reference) > 32:
            # A reference is CSEC-2026-0001 or a number in ASCII digits ("²" is not one).
            message = _("Give a case reference such as CSEC-2026-0001, or its number.")
            raise ValidationFailed({"case": [message]})
        try:
            other = case_find_for_user(user, reference)
        except NotFound:
            raise ValidationFailed(
                {"case": [_("No case %(reference)s.") % {"reference": reference}]}
            ) from None
        services.case_link(
            acting_user=user,
            case_id=case_id,
            other_case_id=other.pk,
            relation=str(posted.get("relation", "")),
        )
        return _("The cases are linked.")

    return _write(request, case_id, form="link", anchor="links", action=action)


@login_required
@require_GET
def case_link_options(request: HttpRequest, case_id: int) -> HttpResponse:
    """The link form's list of the school's other cases, asked for by the form when it is
    first used (htmx): a case page does not carry two hundred names it rarely needs.
    Without JavaScript the form takes a typed reference, as it always has."""
    try:
        cases = cases_linkable_for_user(acting_user(request), case_id)
    except NotFound:
        raise Http404("No such case") from None
    return render_page(request, "web/case/_link_options.html", {"linkable": cases})


@login_required
@require_POST
def checkin_plan(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        every_days = whole_number(posted.get("every_days", ""))
        if every_days is None:
            raise ValidationFailed({"every_days": [_("A whole number of days from 1 to 90.")]})
        services.checkin_plan_set(
            acting_user=user,
            case_id=case_id,
            every_days=every_days,
            assignee=str(posted.get("assignee", "")),
            expected_version=_version(posted),
        )
        return _("The check-in plan is saved.")

    return _write(request, case_id, form="plan", anchor="check-ins", action=action)


@login_required
@require_POST
def checkin_add(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        problems: dict[str, list[str]] = {}
        occurred_at = moment_from_post(posted, "occurred_at", problems)
        if problems or occurred_at is None:
            raise ValidationFailed(problems)
        services.checkin_record(
            acting_user=user,
            case_id=case_id,
            occurred_at=occurred_at,
            method=str(posted.get("method", "")),
            notes=str(posted.get("notes", "")),
            expected_version=None,
        )
        return _("The check-in is recorded.")

    return _write(request, case_id, form="checkin", anchor="check-ins", action=action)


@login_required
@require_POST
def note_add(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        services.note_add(
            acting_user=user,
            case_id=case_id,
            text=str(posted.get("text", "")),
            expected_version=None,
        )
        return _("The note is added.")

    return _write(request, case_id, form="note", anchor="notes", action=action)


@login_required
@require_POST
def case_close(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        services.case_close(
            acting_user=user,
            case_id=case_id,
            outcome=str(posted.get("outcome", "")),
            expected_version=_version(posted),
        )
        return _("The case is closed.")

    return _write(request, case_id, form="close", anchor="top", action=action, confirm=True)


@login_required
@require_POST
def case_reopen(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        services.case_reopen(
            acting_user=user,
            case_id=case_id,
            reason=str(posted.get("reason", "")),
            expected_version=_version(posted),
        )
        return _("The case is open again.")

    return _write(request, case_id, form="reopen", anchor="top", action=action)


@login_required
@require_POST
def person_add(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        values, problems = person_from_post(posted, change=False)
        if problems:
            raise ValidationFailed(problems)
        people.case_person_add(
            acting_user=user, case_id=case_id, values=values, expected_version=_version(posted)
        )
        return _("The person is added to the case.")

    return _write(request, case_id, form="person:new", anchor="people", action=action)


@login_required
@require_POST
def person_update(request: HttpRequest, case_id: int, person_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        changes, problems = person_from_post(posted, change=True)
        if problems:
            raise ValidationFailed(problems)
        people.case_person_update(
            acting_user=user,
            case_id=case_id,
            person_id=person_id,
            changes=changes,
            expected_version=_version(posted),
        )
        return _("The changes are saved.")

    return _write(
        request, case_id, form=f"person:{person_id}", anchor=f"person-{person_id}", action=action
    )


@login_required
@require_POST
def victim_details(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        people.case_victim_details_set(
            acting_user=user,
            case_id=case_id,
            changes=victim_from_post(posted),
            expected_version=_version(posted),
        )
        return _("The student's details are saved.")

    return _write(request, case_id, form="victim", anchor="student-details", action=action)


@login_required
@require_POST
def case_void(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        services.case_void(
            acting_user=user,
            case_id=case_id,
            reason=str(posted.get("reason", "")),
            expected_version=_version(posted),
        )
        return _(
            "The case is voided. Nothing is deleted, and the district coordinator will "
            "review the decision."
        )

    return _write(request, case_id, form="void", anchor="top", action=action, confirm=True)


@login_required
@require_POST
def case_transfer(request: HttpRequest, case_id: int) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        problems: dict[str, list[str]] = {}
        completed_at = moment_from_post(posted, "completed_at", problems)
        if problems or completed_at is None:
            raise ValidationFailed(problems)
        case = services.case_transfer(
            acting_user=user,
            case_id=case_id,
            school_code=str(posted.get("school", "")),
            completed_at=completed_at,
            expected_version=_version(posted),
        )
        return _("The case has moved to %(school)s.") % {"school": case.school.name}

    return _write(request, case_id, form="transfer", anchor="top", action=action, confirm=True)
