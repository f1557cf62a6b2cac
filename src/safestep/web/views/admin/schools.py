"""Schools: list them, add one, rename one. A school's code never changes: cases, students
and accounts are filed under it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from safestep.accounts import services
from safestep.accounts.models import User
from safestep.accounts.selectors import schools_for_manager
from safestep.web.forms import error_summary
from safestep.web.pages import REFUSALS, refusal, render_page
from safestep.web.views.admin.common import ACCOUNTS, manager

SCHOOLS_TEMPLATE = "web/admin/schools.html"
ADD_CONTROLS: dict[str, tuple[str, Any]] = {
    "code": ("school-add-code", gettext_lazy("Code")),
    "name": ("school-add-name", gettext_lazy("Name")),
}


def _context(
    user: User,
    *,
    form: str = "",
    posted: QueryDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    errors = errors or {}
    controls = (
        ADD_CONTROLS
        if form == "add"
        else {"name": (f"school-{form}-name", gettext_lazy("New name"))}
    )
    return {
        "schools": list(schools_for_manager(user)),
        "form": form,
        "adding": form == "add",
        "posted": posted,
        "errors": errors,
        "summary": error_summary(
            errors, {key: (target, str(label)) for key, (target, label) in controls.items()}
        ),
    }


@login_required
@require_http_methods(["GET", "POST"])
def school_list(request: HttpRequest) -> HttpResponse:
    """GET: every school. POST: add one (a code such as LIN, and its name)."""
    user = manager(request, ACCOUNTS)
    if request.method == "GET":
        return render_page(request, SCHOOLS_TEMPLATE, _context(user))
    posted = request.POST
    code = str(posted.get("code", "")).strip().upper()
    try:
        school = services.school_add(code=code, name=str(posted.get("name", "")), acting_user=user)
    except REFUSALS as error:
        refused = refusal(error, general="code")
        context = _context(user, form="add", posted=posted, errors=refused.errors)
        return render_page(request, SCHOOLS_TEMPLATE, context, status=refused.status)
    messages.success(
        request, _("%(name)s (%(code)s) is added.") % {"name": school.name, "code": school.code}
    )
    return redirect("web:admin-schools")


@login_required
@require_POST
def school_rename(request: HttpRequest, school_code: str) -> HttpResponse:
    user = manager(request, ACCOUNTS)
    try:
        school = services.school_rename(
            code=school_code, name=str(request.POST.get("name", "")), acting_user=user
        )
    except REFUSALS as error:
        refused = refusal(error, general="name", not_found="No such school")
        context = _context(user, form=school_code, posted=request.POST, errors=refused.errors)
        return render_page(request, SCHOOLS_TEMPLATE, context, status=refused.status)
    messages.success(
        request, _("%(code)s is now called %(name)s.") % {"code": school.code, "name": school.name}
    )
    return redirect("web:admin-schools")
