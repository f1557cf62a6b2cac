"""Reporting a concern, and the triage queue where site administrators act on it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import School, User
from safestep.cases import services
from safestep.cases.models import Case, Concern, ConcernStatus
from safestep.cases.selectors import (
    case_find_for_user,
    concern_get_for_triage,
    concern_get_for_user,
    concern_own_list,
    concern_triage_queue_for_user,
    student_search_for_user,
    student_visible_for_user,
)
from safestep.core.errors import NotFound, PermissionDenied, SafeStepError, ValidationFailed
from safestep.core.moments import check_moment
from safestep.protocol import Protocol, in_language
from safestep.web.concern_page import (
    STATUS_TEXT,
    SentTriageForm,
    agency_choices,
    concern_confirmation,
    concern_reference,
    concern_wide_errors,
    current_protocol,
    dismiss_confirming,
    open_cases_by_student,
    own_report_errors,
    own_report_fields,
    own_report_from_post,
    own_report_state,
    own_report_summary,
    reporter_label,
    student_name,
    triage_students,
)
from safestep.web.confirmations import confirmed, rehearse
from safestep.web.drafts import draft_for
from safestep.web.forms import error_summary, moment_from_post
from safestep.web.pages import REFUSALS, acting_user, refusal, render_page
from safestep.web.protocol_choice import triage_protocol_options

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
    "students": ("sis_id", gettext_lazy("Students")),
}
# The concern form offers this many students (the first required); with JavaScript the
# others stay folded away until "Add another student" asks for one.
STUDENT_FIELDSETS = 3
STUDENT_ORDINALS: tuple[Any, ...] = (
    gettext_lazy("The student"),
    gettext_lazy("Second student"),
    gettext_lazy("Third student"),
)
STUDENT_FIELDS: dict[str, Any] = {
    "sis_id": gettext_lazy("%(student)s's SIS id"),
    "first_name": gettext_lazy("%(student)s's first name"),
    "last_name": gettext_lazy("%(student)s's last name"),
}


def _student_control_label(index: int, name: str) -> str:
    return str(STUDENT_FIELDS[name]) % {"student": STUDENT_ORDINALS[index]}


def _input_name(index: int, name: str) -> str:
    """The name of a student fieldset's input: the first keeps the plain names."""
    return name if index == 0 else f"{name}_{index + 1}"


def _controls() -> dict[str, tuple[str, str]]:
    controls = {key: (target, str(label)) for key, (target, label) in CONCERN_CONTROLS.items()}
    for index in range(1, STUDENT_FIELDSETS):
        for name in STUDENT_FIELDS:
            controls[f"student{index + 1}.{name}"] = (
                _input_name(index, name),
                _student_control_label(index, name),
            )
    return controls


# How a service names the Nth student it was given: ``students.N.<field>`` (or
# ``students[N].<field>``), and ``student.<field>`` when it was given one.
_NTH_STUDENT = re.compile(r"^students(?:\[(\d+)\]|\.(\d+))\.(.+)$")


def _errors_by_fieldset(errors: dict[str, list[str]], sent: list[int]) -> dict[str, list[str]]:
    """The service's problems with each student, at the fieldset that student came from."""
    shown: dict[str, list[str]] = {}
    for key, messages_ in errors.items():
        target = key
        index: int | None = None
        field = ""
        nth = _NTH_STUDENT.match(key)
        if nth is not None:
            position = int(nth.group(1) or nth.group(2))
            index = sent[position] if position < len(sent) else None
            field = nth.group(3)
        elif key.startswith("student.") and sent:
            index, field = sent[0], key.removeprefix("student.")
        if index is not None:
            target = f"student.{field}" if index == 0 else f"student{index + 1}.{field}"
        shown.setdefault(target, []).extend(messages_)
    return shown


def _field_errors(errors: dict[str, list[str]]) -> dict[str, str]:
    """Messages by the id of the control they belong to, to show next to it."""
    controls = _controls()
    shown: dict[str, list[str]] = {}
    for key, messages_ in errors.items():
        target = controls.get(key, ("", ""))[0]
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
    field_errors = _field_errors(errors)
    return {
        "student_fieldsets": _student_fieldsets(values, field_errors),
        "schools": schools,
        "school_code": values.get("school", schools[0].code if schools else ""),
        "indicator_groups": [
            (INDICATOR_GROUP_LABELS.get(group, group.capitalize()), items)
            for group, items in groups.items()
        ],
        "chosen_indicators": values.getlist("indicators"),
        "form": values,
        "field_errors": field_errors,
        "summary": error_summary(errors, _controls()),
        "searches_students": _searches_students(user),
        "matches": matches,
        "picked": values.get("student_pick", ""),
        # Never pre-filled: the time someone saw it starts the 36-hour clock and becomes
        # the SS 8572's incident time, so a default "now" would be a wrong time on record.
        "observed_value": values.get("observed_at", ""),
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


def _student_fieldsets(values: QueryDict, field_errors: dict[str, str]) -> list[dict[str, Any]]:
    """The student fieldsets of the concern form: what each shows, and whether it is used."""
    fieldsets = []
    for index in range(STUDENT_FIELDSETS):
        controls = [
            {
                "id": _input_name(index, name),
                "label": _student_control_label(index, name) if index else "",
                "value": str(values.get(_input_name(index, name), "")),
                "error": field_errors.get(_input_name(index, name), ""),
            }
            for name in STUDENT_FIELDS
        ]
        fieldsets.append(
            {
                "index": index,
                "number": index + 1,
                "legend": STUDENT_ORDINALS[index],
                "controls": controls,
                # Folded away (with JavaScript) until someone asks for another student.
                "empty": not any(item["value"].strip() or item["error"] for item in controls),
            }
        )
    return fieldsets


def _typed_student(form: QueryDict, index: int) -> services.StudentInput:
    return services.StudentInput(
        sis_id=str(form.get(_input_name(index, "sis_id"), "")),
        first_name=str(form.get(_input_name(index, "first_name"), "")),
        last_name=str(form.get(_input_name(index, "last_name"), "")),
    )


def _student_input(user: User, form: QueryDict) -> services.StudentInput:
    """The first student: picked from the search, or typed in."""
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
    return _typed_student(form, 0)


def _students_input(user: User, form: QueryDict) -> tuple[list[services.StudentInput], list[int]]:
    """The students a concern form names, and the fieldset each came from. The first
    fieldset always counts (a concern names a student); the others when filled in."""
    students = [_student_input(user, form)]
    sent = [0]
    for index in range(1, STUDENT_FIELDSETS):
        typed = _typed_student(form, index)
        if typed.sis_id.strip() or typed.first_name.strip() or typed.last_name.strip():
            students.append(typed)
            sent.append(index)
    return students, sent


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


# What the concern form asks of each student, with the sentence for a blank one.
STUDENT_REQUIRED: dict[str, Any] = {
    "sis_id": gettext_lazy("Enter the student's SIS id."),
    "first_name": gettext_lazy("Enter the student's first name."),
    "last_name": gettext_lazy("Enter the student's last name."),
}


def _concern_form_problems(
    form: QueryDict, students: list[services.StudentInput], observed_at: datetime | None
) -> dict[str, list[str]]:
    """What the concern service would refuse that the form itself shows, keyed as the
    service keys them (``student.sis_id``, ``students.1.last_name``): blank fields, and a
    time outside the bounds every time is held to. The service checks all of it again."""
    problems: dict[str, list[str]] = {}
    if observed_at is not None:
        message = check_moment(observed_at, now=timezone.now())
        if message:
            problems["observed_at"] = [message]
    if not str(form.get("description", "")).strip():
        problems["description"] = [_("Describe what you saw or heard.")]
    for index, student in enumerate(students):
        prefix = "student" if len(students) == 1 else f"students.{index}"
        for name, message in STUDENT_REQUIRED.items():
            if not str(getattr(student, name)).strip():
                problems[f"{prefix}.{name}"] = [str(message)]
    sis_ids = [student.sis_id.strip() for student in students if student.sis_id.strip()]
    if len(set(sis_ids)) != len(sis_ids):
        problems["students"] = [_("A student is named twice.")]
    return problems


@login_required
@require_http_methods(["GET", "POST"])
def concern_new(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not has_capability(user, Capability.CONCERN_SUBMIT):
        raise Http404("This role does not report concerns")
    if request.method != "POST":
        # A draft (typed before the session ended) shows like a refused form's values.
        draft = draft_for(request, "concern-new")
        form = draft.posted if draft is not None else None
        return render_page(request, "web/concern_form.html", _concern_context(user, form, {}, None))
    form = request.POST
    if form.get("action") == "find":
        matches = student_search_for_user(
            user, school_code=str(form.get("school", "")), query=str(form.get("q", ""))
        )
        return render_page(
            request, "web/concern_form.html", _concern_context(user, form, {}, matches)
        )
    # Every problem the form can show is collected before the service is asked, so a
    # person sees all of them at once rather than one more each time they send it.
    problems: dict[str, list[str]] = {}
    observed_at = moment_from_post(
        form, "observed_at", problems, missing=_("Enter when you saw or heard it.")
    )
    own_report = _own_report(form, problems)
    sent: list[int] = [0]
    students: list[services.StudentInput] = []
    try:
        students, sent = _students_input(user, form)
    except ValidationFailed as error:
        problems |= error.errors
    problems |= _concern_form_problems(form, students, observed_at)
    errors = _errors_by_fieldset(problems, sent)
    status = 400
    if not errors and observed_at is not None:
        try:
            concern = services.concern_submit(
                acting_user=user,
                school_code=str(form.get("school", "")),
                students=students,
                observed_at=observed_at,
                description=str(form.get("description", "")),
                indicators=[str(item) for item in form.getlist("indicators")],
                own_report=own_report,
                withhold_identity=bool(form.get("withhold_identity")),
            )
        except REFUSALS as error:
            refused = refusal(error, not_found="No such school")
            errors, status = _errors_by_fieldset(refused.errors, sent), refused.status
        else:
            messages.success(request, concern_confirmation(concern))
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


def _triage_context(user: User, *, sent: SentTriageForm | None = None) -> dict[str, Any]:
    definition = _current_protocol()
    indicator_text = {
        indicator.id: in_language(indicator, "text", get_language())
        for indicator in definition.indicators
    }
    now = timezone.now()
    concerns = list(concern_triage_queue_for_user(user))
    open_cases = open_cases_by_student(user, concerns)
    reads_cases = has_capability(user, Capability.CASE_READ)
    items = []
    for concern in concerns:
        errors, summary = concern_wide_errors(concern, sent)
        items.append(
            {
                "concern": concern,
                "students": triage_students(concern, open_cases=open_cases, sent=sent),
                "several": len(concern.mentions) > 1,
                "reporter": reporter_label(user, concern),
                "own_report": own_report_state(concern, now=now, definition=definition),
                "due_at": concern.report_due_at,
                "overdue": concern.report_due_at is not None and concern.report_due_at < now,
                "indicators": [indicator_text.get(item, item) for item in concern.indicators],
                "form": sent.posted if sent is not None and sent.concern_id == concern.pk else None,
                "errors": errors,
                "summary": summary,
                "confirming": dismiss_confirming(concern, sent),
            }
        )
    return {
        "items": items,
        "pathways": definition.pathways,
        "protocol_options": triage_protocol_options(),
        "reads_cases": reads_cases,
    }


def _require_triage(user: User) -> None:
    if not has_capability(user, Capability.CONCERN_TRIAGE):
        raise Http404("This role does not triage concerns")


@login_required
@require_GET
def triage(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    _require_triage(user)
    # A draft (typed before the session ended) shows like a refused form's values.
    draft = draft_for(request, *TRIAGE_KINDS)
    sent = None
    if draft is not None and isinstance(draft.arguments.get("concern_id"), int):
        kind = TRIAGE_KINDS[draft.route]
        sent = SentTriageForm(draft.arguments["concern_id"], kind, draft.posted, {})
    return render_page(request, "web/triage.html", _triage_context(user, sent=sent))


# The triage forms by route, as SentTriageForm names them.
TRIAGE_KINDS = {"triage-open": "open", "triage-attach": "attach", "triage-dismiss": "dismiss"}


def _triage_refused(
    request: HttpRequest, user: User, concern_id: int, error: SafeStepError, *, kind: str
) -> HttpResponse:
    # A refusal of the whole form shows on the concern (or the student) it was about.
    refused = refusal(error, general="concern", not_found="No such concern")
    sent = SentTriageForm(concern_id, kind, request.POST, refused.errors)
    context = _triage_context(user, sent=sent)
    return render_page(request, "web/triage.html", context, status=refused.status)


@login_required
@require_POST
def triage_open(request: HttpRequest, concern_id: int) -> HttpResponse:
    user = acting_user(request)
    _require_triage(user)
    form = request.POST
    problems: dict[str, list[str]] = {}
    # Both are asked of the person, never assumed: say everything missing at once.
    if not str(form.get("pathway", "")).strip():
        problems["pathway"] = [_("Choose the pathway the case follows.")]
    formed_at = moment_from_post(
        form,
        "suspicion_formed_at",
        problems,
        missing=_("Enter when the suspicion was first formed."),
    )
    try:
        if problems or formed_at is None:
            raise ValidationFailed(problems)
        case = services.case_open(
            acting_user=user,
            pathway=str(form.get("pathway", "")),
            suspicion_formed_at=formed_at,
            summary=str(form.get("summary", "")),
            concern_id=concern_id,
            student_sis_id=str(form.get("student_sis_id", "")).strip() or None,
            protocol_id=str(form.get("protocol", "")).strip() or None,
        )
    except REFUSALS as error:
        return _triage_refused(request, user, concern_id, error, kind="open")
    messages.success(
        request,
        _("Case %(reference)s is open. Its first steps are below.") % {"reference": case.reference},
    )
    return redirect(reverse("web:case", args=[case.pk]))


def _attach_target(user: User, form: QueryDict) -> Case:
    """The open case a triage form chose to add its concern to (by id or reference)."""
    reference = str(form.get("case", "")).strip()
    if not reference:
        raise ValidationFailed({"case": [_("Choose the case to add the concern to.")]})
    try:
        return case_find_for_user(user, reference)
    except NotFound:
        raise ValidationFailed(
            {"case": [_("No case %(reference)s.") % {"reference": reference}]}
        ) from None


@login_required
@require_POST
def triage_attach(request: HttpRequest, concern_id: int) -> HttpResponse:
    """Add the concern to a student's open case (a second report of the same harm)."""
    user = acting_user(request)
    _require_triage(user)
    # A concern outside the user's scope is 404 before anything about the case is said.
    try:
        concern_get_for_triage(user, concern_id)
    except NotFound:
        raise Http404("No such concern") from None
    try:
        target = _attach_target(user, request.POST)
        case = services.concern_attach(
            acting_user=user,
            concern_id=concern_id,
            case_id=target.pk,
            # Nothing of the case is shown here to be overwritten: its current version.
            expected_version=target.version,
        )
    except REFUSALS as error:
        return _triage_refused(request, user, concern_id, error, kind="attach")
    messages.success(
        request,
        _(
            "The concern is added to case %(reference)s. The report's clock runs from the "
            "earliest time a staff member knew."
        )
        % {"reference": case.reference},
    )
    return redirect(reverse("web:case", args=[case.pk]))


@login_required
@require_POST
def triage_dismiss(request: HttpRequest, concern_id: int) -> HttpResponse:
    """Dismiss a concern, after a second click: the first answers with what will happen."""
    user = acting_user(request)
    _require_triage(user)

    def dismiss() -> None:
        services.concern_dismiss(
            acting_user=user, concern_id=concern_id, reason=str(request.POST.get("reason", ""))
        )

    try:
        if not confirmed(request.POST):
            # The service's own checks, with nothing kept: the same refusals as the real
            # dismissal, before anyone is asked to confirm it.
            rehearse(dismiss)
            sent = SentTriageForm(concern_id, "dismiss", request.POST, {}, confirming=True)
            return render_page(request, "web/triage.html", _triage_context(user, sent=sent))
        dismiss()
    except REFUSALS as error:
        return _triage_refused(request, user, concern_id, error, kind="dismiss")
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
    indicator_text = {
        indicator.id: in_language(indicator, "text", get_language())
        for indicator in definition.indicators
    }
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
        # Each student it names, and the case their part went into (if any yet).
        "students": [{"row": row, "name": student_name(row.student)} for row in concern.mentions],
        "names": ", ".join(student_name(row.student) for row in concern.mentions),
        "scar_url": _optional_reverse("web:concern-scar", concern.pk) if own else "",
        "reference": concern_reference(concern),
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
    # A draft (typed before the session ended) shows like a refused form's values.
    draft = draft_for(request, "concern-own-report", concern_id=concern.pk)
    posted = draft.posted if draft is not None else None
    return render_page(
        request, CONCERN_TEMPLATE, _concern_page_context(user, concern, posted=posted)
    )


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
