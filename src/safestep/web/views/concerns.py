"""Reporting a concern, and the triage queue where site administrators act on it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import School, User
from safestep.cases import services
from safestep.cases.models import Concern, ConcernStatus
from safestep.cases.selectors import (
    concern_get_for_user,
    concern_own_list,
    concern_triage_queue_for_user,
    student_search_for_user,
    student_visible_for_user,
)
from safestep.core.errors import NotFound, PermissionDenied, SafeStepError, ValidationFailed
from safestep.protocol import Protocol
from safestep.web.concern_page import (
    STATUS_TEXT,
    agency_choices,
    current_protocol,
    own_report_errors,
    own_report_fields,
    own_report_from_post,
    own_report_state,
    own_report_summary,
    reporter_label,
)
from safestep.web.forms import (
    error_summary,
    local_input_value,
    moment_from_post,
    now_input_value,
)
from safestep.web.pages import REFUSALS, acting_user, refusal, render_page

# Where each problem a service names is shown on the concern form: (control id, label).
CONCERN_CONTROLS: dict[str, tuple[str, Any]] = {
    "school": ("school", gettext_lazy("School")),
    "student": ("student-search", gettext_lazy("Student")),
    "student.sis_id": ("sis_id", gettext_lazy("Student's SIS id")),
    "student.first_name": ("first_name", gettext_lazy("Student's first name")),
    "student.last_name": ("last_name", gettext_lazy("Student's last name")),
    "observed_at": ("observed_at", gettext_lazy("When you saw it")),
    "description": ("description", gettext_lazy("What you saw or heard")),
    "indicators": ("indicators", gettext_lazy("What you noticed")),
    "own_report": ("own_agency", gettext_lazy("Your own report")),
    "own_report.agency": ("own_agency", gettext_lazy("Agency you reported to")),
    "own_report.phoned_at": ("own_phoned_at", gettext_lazy("When you phoned")),
    "own_report.written_submitted_at": (
        "own_written_at",
        gettext_lazy("When you sent the written report"),
    ),
    "written_submitted_at": ("own_written_at", gettext_lazy("When you sent the written report")),
    "own_report.reference": ("own_reference", gettext_lazy("Their reference number")),
    "withhold_identity": ("withhold_identity", gettext_lazy("Do not show my name to school staff")),
}


def _controls() -> dict[str, tuple[str, str]]:
    return {key: (target, str(label)) for key, (target, label) in CONCERN_CONTROLS.items()}


def _field_errors(errors: dict[str, list[str]]) -> dict[str, str]:
    """Messages by the id of the control they belong to, to show next to it."""
    shown: dict[str, list[str]] = {}
    for key, messages_ in errors.items():
        target = CONCERN_CONTROLS.get(key, ("", ""))[0]
        if target:
            shown.setdefault(target, []).extend(messages_)
    return {target: " ".join(items) for target, items in shown.items()}


def _current_protocol() -> Protocol:
    return current_protocol()


def _schools_for(user: User) -> list[School]:
    # Their own schools first: the usual case is reporting at the school where they work.
    own = list(user.schools.all())
    others = list(School.objects.exclude(pk__in=[school.pk for school in own]))
    return own + others


def _searches_students(user: User) -> bool:
    return has_capability(user, Capability.CASE_READ) or has_capability(
        user, Capability.CONCERN_TRIAGE
    )


def _concern_context(
    user: User, form: QueryDict | None, errors: dict[str, list[str]], matches: list[Any] | None
) -> dict[str, Any]:
    definition = _current_protocol()
    groups: dict[str, list[Any]] = {}
    for indicator in definition.indicators:
        groups.setdefault(indicator.group, []).append(indicator)
    values = form if form is not None else QueryDict()
    schools = _schools_for(user)
    return {
        "schools": schools,
        "school_code": values.get("school", schools[0].code if schools else ""),
        "indicator_groups": [
            (INDICATOR_GROUP_LABELS.get(group, group.capitalize()), items)
            for group, items in groups.items()
        ],
        "chosen_indicators": values.getlist("indicators"),
        "form": values,
        "field_errors": _field_errors(errors),
        "summary": error_summary(errors, _controls()),
        "searches_students": _searches_students(user),
        "matches": matches,
        "picked": values.get("student_pick", ""),
        "observed_value": values.get("observed_at", ""),
        "now_value": now_input_value(),
        "agencies": agency_choices(definition),
        "own_report_open": bool(
            values.get("own_agency") or values.get("own_phoned_at") or values.get("own_written_at")
        ),
        "withhold_identity": bool(values.get("withhold_identity")),
    }


INDICATOR_GROUP_LABELS: dict[str, Any] = {
    "behavioral": gettext_lazy("Behavior"),
    "physical": gettext_lazy("Physical signs"),
    "social": gettext_lazy("Relationships and social life"),
    "school": gettext_lazy("At school"),
}


def _student_input(user: User, form: QueryDict) -> services.StudentInput:
    picked = str(form.get("student_pick", "")).strip()
    if picked and picked != "new" and _searches_students(user):
        student = student_visible_for_user(
            user, school_code=str(form.get("school", "")), sis_id=picked
        )
        if student is None:
            raise ValidationFailed({"student": [_("Choose the student again.")]})
        return services.StudentInput(
            sis_id=student.sis_id, first_name=student.first_name, last_name=student.last_name
        )
    return services.StudentInput(
        sis_id=str(form.get("sis_id", "")),
        first_name=str(form.get("first_name", "")),
        last_name=str(form.get("last_name", "")),
    )


def _own_report(form: QueryDict, problems: dict[str, list[str]]) -> dict[str, Any] | None:
    agency = str(form.get("own_agency", "")).strip()
    phoned = str(form.get("own_phoned_at", "")).strip()
    reference = str(form.get("own_reference", "")).strip()
    written_raw = str(form.get("own_written_at", "")).strip()
    if not (agency or phoned or written_raw or reference):
        return None
    report: dict[str, Any] = {"agency": agency}
    moment = moment_from_post(form, "own_phoned_at", problems)
    if "own_phoned_at" in problems:
        problems["own_report.phoned_at"] = problems.pop("own_phoned_at")
    if moment is not None:
        report["phoned_at"] = moment.isoformat()
    written = moment_from_post(form, "own_written_at", problems, required=False)
    if "own_written_at" in problems:
        problems["own_report.written_submitted_at"] = problems.pop("own_written_at")
    if written is not None:
        report["written_submitted_at"] = written.isoformat()
    if reference:
        report["reference"] = reference
    return report


@login_required
@require_http_methods(["GET", "POST"])
def concern_new(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not has_capability(user, Capability.CONCERN_SUBMIT):
        raise Http404("This role does not report concerns")
    if request.method != "POST":
        return render_page(request, "web/concern_form.html", _concern_context(user, None, {}, None))
    form = request.POST
    if form.get("action") == "find":
        matches = student_search_for_user(
            user, school_code=str(form.get("school", "")), query=str(form.get("q", ""))
        )
        return render_page(
            request, "web/concern_form.html", _concern_context(user, form, {}, matches)
        )
    problems: dict[str, list[str]] = {}
    observed_at = moment_from_post(form, "observed_at", problems)
    own_report = _own_report(form, problems)
    errors: dict[str, list[str]] = dict(problems)
    status = 400
    if not errors and observed_at is not None:
        try:
            services.concern_submit(
                acting_user=user,
                school_code=str(form.get("school", "")),
                student=_student_input(user, form),
                observed_at=observed_at,
                description=str(form.get("description", "")),
                indicators=[str(item) for item in form.getlist("indicators")],
                own_report=own_report,
                withhold_identity=bool(form.get("withhold_identity")),
            )
        except REFUSALS as error:
            refused = refusal(error, not_found="No such school")
            errors, status = refused.errors, refused.status
        else:
            messages.success(
                request,
                _(
                    "Thank you. Your concern is with the site administrator. "
                    "You can follow its status here."
                ),
            )
            return redirect("web:home")
    return render_page(
        request, "web/concern_form.html", _concern_context(user, form, errors, None), status=status
    )


@login_required
@require_GET
def student_search(request: HttpRequest) -> HttpResponse:
    """Matches for the concern form's student search (an htmx fragment, or nothing)."""
    user = acting_user(request)
    matches = student_search_for_user(
        user,
        school_code=str(request.GET.get("school", "")),
        query=str(request.GET.get("q", "")),
    )
    return render_page(
        request,
        "web/concern/_students.html",
        {"matches": matches, "picked": "", "searched": bool(request.GET.get("q", "").strip())},
    )


# --- triage -----------------------------------------------------------------------------

TRIAGE_CONTROLS = {
    "pathway": ("pathway", gettext_lazy("Pathway")),
    "suspicion_formed_at": ("suspicion_formed_at", gettext_lazy("When the suspicion was formed")),
    "summary": ("summary", gettext_lazy("Summary")),
    "reason": ("reason", gettext_lazy("Why it is dismissed")),
    "concern": ("", gettext_lazy("Concern")),
    "school": ("", gettext_lazy("School")),
}


def _triage_context(
    user: User, *, concern_id: int | None = None, form: QueryDict | None = None, errors: Any = None
) -> dict[str, Any]:
    definition = _current_protocol()
    indicator_text = {indicator.id: indicator.text for indicator in definition.indicators}
    now = timezone.now()
    items = []
    for concern in concern_triage_queue_for_user(user):
        mine = concern.pk == concern_id
        problems = (errors or {}) if mine else {}
        posted = form if mine else None
        items.append(
            {
                "concern": concern,
                "reporter": reporter_label(user, concern),
                "own_report": own_report_state(concern, now=now, definition=definition),
                "due_at": concern.report_due_at,
                "overdue": concern.report_due_at is not None and concern.report_due_at < now,
                "indicators": [indicator_text.get(item, item) for item in concern.indicators],
                "form": posted,
                # The clock runs from when the reporter saw it: that is the default, and
                # the latest time the service accepts.
                "suspicion_value": (
                    str(posted.get("suspicion_formed_at", ""))
                    if posted is not None and "suspicion_formed_at" in posted
                    else local_input_value(concern.observed_at)
                ),
                "errors": problems,
                "summary": error_summary(
                    problems,
                    {
                        key: (f"{target}-{concern.pk}" if target else "", str(label))
                        for key, (target, label) in TRIAGE_CONTROLS.items()
                    },
                ),
            }
        )
    return {
        "items": items,
        "pathways": definition.pathways,
        "now_value": now_input_value(),
    }


def _require_triage(user: User) -> None:
    if not has_capability(user, Capability.CONCERN_TRIAGE):
        raise Http404("This role does not triage concerns")


@login_required
@require_GET
def triage(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    _require_triage(user)
    return render_page(request, "web/triage.html", _triage_context(user))


def _triage_refused(
    request: HttpRequest, user: User, concern_id: int, error: SafeStepError
) -> HttpResponse:
    # A refusal of the whole form shows on the concern it was about.
    refused = refusal(error, general="concern", not_found="No such concern")
    context = _triage_context(user, concern_id=concern_id, form=request.POST, errors=refused.errors)
    return render_page(request, "web/triage.html", context, status=refused.status)


@login_required
@require_POST
def triage_open(request: HttpRequest, concern_id: int) -> HttpResponse:
    user = acting_user(request)
    _require_triage(user)
    form = request.POST
    problems: dict[str, list[str]] = {}
    formed_at = moment_from_post(form, "suspicion_formed_at", problems)
    try:
        if problems or formed_at is None:
            raise ValidationFailed(problems)
        case = services.case_open(
            acting_user=user,
            pathway=str(form.get("pathway", "")),
            suspicion_formed_at=formed_at,
            summary=str(form.get("summary", "")),
            concern_id=concern_id,
        )
    except REFUSALS as error:
        return _triage_refused(request, user, concern_id, error)
    messages.success(
        request,
        _("Case %(reference)s is open. Its first steps are below.") % {"reference": case.reference},
    )
    return redirect(reverse("web:case", args=[case.pk]))


@login_required
@require_POST
def triage_dismiss(request: HttpRequest, concern_id: int) -> HttpResponse:
    user = acting_user(request)
    _require_triage(user)
    try:
        services.concern_dismiss(
            acting_user=user, concern_id=concern_id, reason=str(request.POST.get("reason", ""))
        )
    except REFUSALS as error:
        return _triage_refused(request, user, concern_id, error)
    messages.success(
        request,
        _(
            "The concern is dismissed and your reason is recorded. The district coordinator "
            "will review the decision, and the reporter is told that their own duty to report "
            "stands."
        ),
    )
    return redirect("web:triage")


# --- one concern ------------------------------------------------------------------------

CONCERN_TEMPLATE = "web/concern_detail.html"


def _concern_or_404(user: User, concern_id: int) -> Concern:
    """A concern USER reported, or one USER may triage; anything else does not exist."""
    try:
        return concern_get_for_user(user, concern_id)
    except (NotFound, PermissionDenied):
        raise Http404("No such concern") from None


def _concern_page_context(
    user: User,
    concern: Concern,
    *,
    posted: QueryDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    definition = _current_protocol()
    own = concern.submitted_by_id == user.pk
    problems = own_report_errors(errors or {})
    fields = own_report_fields(
        definition, posted=posted, initial=concern.own_report, errors=problems
    )
    indicator_text = {indicator.id: indicator.text for indicator in definition.indicators}
    return {
        "concern": concern,
        "own": own,
        "status_text": STATUS_TEXT.get(concern.status, concern.get_status_display()),
        "dismissed": concern.status == ConcernStatus.DISMISSED,
        "state": own_report_state(concern, definition=definition),
        "fields": fields,
        "summary": own_report_summary(fields, problems),
        "form_sent": posted is not None,
        # Those who triage see what was reported; the reporter sees their own duty.
        "details": not own and has_capability(user, Capability.CONCERN_TRIAGE),
        "reporter": reporter_label(user, concern),
        "indicators": [indicator_text.get(item, item) for item in concern.indicators],
        "reads_cases": has_capability(user, Capability.CASE_READ),
        "scar_url": _optional_reverse("api:concern-scar", concern.pk) if own else "",
    }


def _optional_reverse(name: str, *args: object) -> str:
    try:
        return reverse(name, args=list(args))
    except NoReverseMatch:
        return ""


@login_required
@require_GET
def concern_detail(request: HttpRequest, concern_id: int) -> HttpResponse:
    user = acting_user(request)
    concern = _concern_or_404(user, concern_id)
    return render_page(request, CONCERN_TEMPLATE, _concern_page_context(user, concern))


@login_required
@require_POST
def concern_own_report(request: HttpRequest, concern_id: int) -> HttpResponse:
    """The reporter records or updates their own call and written report."""
    user = acting_user(request)
    posted = request.POST
    details, problems = own_report_from_post(_current_protocol(), posted)
    try:
        if problems:
            raise ValidationFailed(problems)
        written = details.get("written_submitted_at")
        concern = services.concern_own_report_set(
            acting_user=user,
            concern_id=concern_id,
            agency=str(details.get("agency", "")),
            phoned_at=str(details.get("phoned_at", "")),
            written_submitted_at=str(written) if written else None,
            reference=str(details.get("reference", "")),
            agency_name=str(details.get("agency_name", "")),
        )
    except REFUSALS as error:
        refused = refusal(error, not_found="No such concern")
        # Someone else's concern does not exist for them, whatever the refusal.
        concern = _concern_or_404(user, concern_id)
        if concern.submitted_by_id != user.pk:
            raise Http404("No such concern") from None
        context = _concern_page_context(user, concern, posted=posted, errors=refused.errors)
        return render_page(request, CONCERN_TEMPLATE, context, status=refused.status)
    if own_report_state(concern).written:
        messages.success(request, _("Your written report is recorded. Thank you."))
    else:
        messages.success(
            request,
            _(
                "Your call is recorded. Send the written report (SS 8572) before it is due, "
                "then record it here."
            ),
        )
    return redirect(reverse("web:concern", args=[concern_id]) + "#own-report")


def own_concerns(user: User) -> list[Any]:
    return list(concern_own_list(user)[:50])
