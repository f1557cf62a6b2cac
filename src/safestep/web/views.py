"""Pages. Thin: fetch through selectors, write through services, render a template."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import School, User
from safestep.api.outputs import case_output, case_summary_output
from safestep.cases import services
from safestep.cases.selectors import case_get_for_user, case_list_for_user, concern_list_for_user
from safestep.core.errors import NotFound, SafeStepError, ValidationFailed
from safestep.definitions.selectors import definition_of, protocol_current


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    context: dict[str, object] = {"role": user.get_role_display()}
    context["concerns"] = concern_list_for_user(user)[:50]
    if has_capability(user, Capability.CASE_READ):
        cases = case_list_for_user(user, status="open")[:100]
        context["cases"] = [case_summary_output(user, case) for case in cases]
    context["can_read_cases"] = has_capability(user, Capability.CASE_READ)
    return render(request, "web/home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def concern_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    definition = definition_of(protocol_current(services.DEFAULT_PROTOCOL_ID))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = request.POST
        try:
            observed_at = _parse_local(form.get("observed_at", ""))
        except ValueError:
            errors["observed_at"] = ["Give the date and time you saw it."]
        if not errors:
            try:
                services.concern_submit(
                    acting_user=user,
                    school_code=form.get("school", ""),
                    student=services.StudentInput(
                        sis_id=form.get("sis_id", ""),
                        first_name=form.get("first_name", ""),
                        last_name=form.get("last_name", ""),
                    ),
                    observed_at=observed_at,
                    description=form.get("description", ""),
                    indicators=form.getlist("indicators"),
                )
            except ValidationFailed as error:
                errors = error.errors
            else:
                return redirect("web:home")
    return render(
        request,
        "web/concern_form.html",
        {
            "schools": School.objects.all(),
            "indicators": definition.indicators,
            "errors": errors,
            "form": request.POST,
        },
        status=400 if errors else 200,
    )


def _parse_local(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    user = _user(request)
    try:
        case = case_get_for_user(user, case_id, channel="page")
    except NotFound:
        raise Http404("No such case") from None
    except SafeStepError:
        raise Http404("No such case") from None
    return render(request, "web/case_detail.html", {"case": case_output(user, case)})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: is the app up and can it reach its database?"""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
