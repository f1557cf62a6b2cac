"""Accounts: list and filter them, add one, and change one (active, role, schools, API
token, sessions, a new one-time password). Each change is one call to the same service the
command line uses (``safestep user ...``), which records it.

A one-time password is shown once, on the page that answers the form (never stored for
showing again, never cached); the person must choose their own at the next sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from safestep.accounts import services
from safestep.accounts.models import Role, School, User
from safestep.accounts.selectors import (
    USER_LIST_LIMIT,
    USER_STATUSES,
    user_for_manager,
    users_for_manager,
)
from safestep.core.errors import NotFound, SafeStepError
from safestep.web.forms import ErrorItem, error_summary
from safestep.web.pages import REFUSALS, refusal, render_page
from safestep.web.views.admin.common import ACCOUNTS, manager, never_cached

USERS_TEMPLATE = "web/admin/users.html"
USER_TEMPLATE = "web/admin/user.html"

STATUS_LABELS: dict[str, Any] = {
    "active": gettext_lazy("Active"),
    "inactive": gettext_lazy("Deactivated"),
    "all": gettext_lazy("All"),
}
ADD_CONTROLS: dict[str, tuple[str, Any]] = {
    "username": ("add-username", gettext_lazy("Username")),
    "role": ("add-role", gettext_lazy("Role")),
    "email": ("add-email", gettext_lazy("E-mail address")),
    "school": ("add-school", gettext_lazy("Schools")),
}


def _summary(errors: dict[str, list[str]], controls: dict[str, tuple[str, Any]]) -> list[ErrorItem]:
    return error_summary(
        errors, {key: (target, str(label)) for key, (target, label) in controls.items()}
    )


def _roles(chosen: str) -> list[tuple[str, str, bool]]:
    return [(value, str(label), value == chosen) for value, label in Role.choices]


def _schools(chosen: list[str]) -> list[tuple[str, str, bool]]:
    return [
        (school.code, school.name, school.code in chosen)
        for school in School.objects.order_by("name")
    ]


def _list_context(
    user: User,
    filters: QueryDict,
    *,
    posted: QueryDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    status = str(filters.get("status", "active"))
    status = status if status in USER_STATUSES else "active"
    text = str(filters.get("q", ""))[:100]
    role = str(filters.get("role", ""))
    school = str(filters.get("school", ""))[:16]
    users = list(users_for_manager(user, text=text, role=role, school=school, status=status))
    errors = errors or {}
    return {
        "users": users,
        "at_limit": len(users) >= USER_LIST_LIMIT,
        "filters": {"q": text, "role": role, "school": school, "status": status},
        "statuses": [(value, STATUS_LABELS[value]) for value in USER_STATUSES],
        "filter_roles": _roles(role),
        "filter_schools": _schools([school]),
        "add": {
            "username": str(posted.get("username", "")) if posted else "",
            "email": str(posted.get("email", "")) if posted else "",
            "roles": _roles(str(posted.get("role", "")) if posted else ""),
            "schools": _schools(posted.getlist("school") if posted else []),
            "open": posted is not None,
        },
        "errors": errors,
        "summary": _summary(errors, ADD_CONTROLS),
    }


@login_required
@require_http_methods(["GET", "POST"])
def user_list(request: HttpRequest) -> HttpResponse:
    """GET: the accounts, filtered. POST: add one, and show its one-time password once."""
    user = manager(request, ACCOUNTS)
    if request.method == "GET":
        return never_cached(render_page(request, USERS_TEMPLATE, _list_context(user, request.GET)))
    posted = request.POST
    try:
        account, password = services.user_add(
            username=str(posted.get("username", "")).strip(),
            role=str(posted.get("role", "")),
            school_codes=[str(code) for code in posted.getlist("school")],
            email=str(posted.get("email", "")).strip(),
            acting_user=user,
        )
    except REFUSALS as error:
        refused = refusal(error, general="username")
        context = _list_context(user, request.GET, posted=posted, errors=refused.errors)
        return never_cached(render_page(request, USERS_TEMPLATE, context, status=refused.status))
    context = _user_context(user, account.username)
    context["one_time_password"] = password
    context["added"] = True
    return never_cached(render_page(request, USER_TEMPLATE, context))


# --- one account ------------------------------------------------------------------------


def _user_context(
    user: User,
    username: str,
    *,
    form: str = "",
    posted: QueryDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    try:
        details = user_for_manager(user, username)
    except NotFound:
        raise Http404("No such account") from None
    account = details.account
    role = str(posted.get("role", account.role)) if form == "role" and posted else account.role
    codes = posted.getlist("school") if form == "schools" and posted else details.school_codes
    errors = errors or {}
    return {
        "account": account,
        "details": details,
        "is_self": account.pk == user.pk,
        "roles": _roles(role),
        "schools": _schools(list(codes)),
        "form": form,
        "errors": errors,
        "summary": error_summary(errors, {}),
        "one_time_password": "",
    }


def _change(
    request: HttpRequest,
    username: str,
    *,
    form: str,
    action: Callable[[User, QueryDict], str],
    show_password: bool = False,
) -> HttpResponse:
    """Run ACTION (one service call) for the account; redirect back with what happened, or
    show the page again with the refusal next to the form that was sent."""
    user = manager(request, ACCOUNTS)
    posted = request.POST
    try:
        message = action(user, posted)
    except REFUSALS as error:
        return _refused(request, user, username, form, error)
    if show_password:
        # The one-time password is the answer itself: shown on this page, once.
        context = _user_context(user, username)
        context["one_time_password"] = message
        return never_cached(render_page(request, USER_TEMPLATE, context))
    messages.success(request, message)
    return redirect(reverse("web:admin-user", args=[username]))


def _refused(
    request: HttpRequest, user: User, username: str, form: str, error: SafeStepError
) -> HttpResponse:
    refused = refusal(error, not_found="No such account")
    context = _user_context(user, username, form=form, posted=request.POST, errors=refused.errors)
    return never_cached(render_page(request, USER_TEMPLATE, context, status=refused.status))


@login_required
@require_http_methods(["GET"])
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    user = manager(request, ACCOUNTS)
    return never_cached(render_page(request, USER_TEMPLATE, _user_context(user, username)))


@login_required
@require_POST
def user_active(request: HttpRequest, username: str) -> HttpResponse:
    """Deactivate (``active=no``) or activate (``active=yes``) the account."""

    def action(user: User, posted: QueryDict) -> str:
        if posted.get("active") == "yes":
            services.user_activate(username=username, acting_user=user)
            return _("%(username)s may sign in again.") % {"username": username}
        revoked = services.user_deactivate(username=username, acting_user=user)
        return _(
            "%(username)s is deactivated: they cannot sign in or use the API "
            "(%(tokens)d API token revoked, %(sessions)d sessions ended). Their records stay."
        ) % {
            "username": username,
            "tokens": revoked.tokens_revoked,
            "sessions": revoked.sessions_ended,
        }

    return _change(request, username, form="active", action=action)


@login_required
@require_POST
def user_role(request: HttpRequest, username: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        role = str(posted.get("role", ""))
        if not services.user_role_set(username=username, role=role, acting_user=user):
            return _("%(username)s already has this role.") % {"username": username}
        return _("%(username)s is now: %(role)s.") % {
            "username": username,
            "role": Role(role).label,
        }

    return _change(request, username, form="role", action=action)


@login_required
@require_POST
def user_schools(request: HttpRequest, username: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        codes = services.user_schools_set(
            username=username,
            school_codes=[str(code) for code in posted.getlist("school")],
            acting_user=user,
        )
        if not codes:
            return _("%(username)s works at no school now.") % {"username": username}
        return _("%(username)s works at: %(schools)s.") % {
            "username": username,
            "schools": ", ".join(codes),
        }

    return _change(request, username, form="schools", action=action)


@login_required
@require_POST
def user_token_revoke(request: HttpRequest, username: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        if services.user_token_revoke(username=username, acting_user=user):
            return _("The API token of %(username)s is revoked.") % {"username": username}
        return _("%(username)s had no API token.") % {"username": username}

    return _change(request, username, form="token", action=action)


@login_required
@require_POST
def user_sessions_end(request: HttpRequest, username: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        ended = services.user_sessions_revoke(username=username, acting_user=user)
        return _("%(count)d sessions of %(username)s ended: they must sign in again.") % {
            "count": ended,
            "username": username,
        }

    return _change(request, username, form="sessions", action=action)


@login_required
@require_POST
def user_password_reset(request: HttpRequest, username: str) -> HttpResponse:
    def action(user: User, posted: QueryDict) -> str:
        return services.user_password_reset(username=username, acting_user=user)

    return _change(request, username, form="password", action=action, show_password=True)
