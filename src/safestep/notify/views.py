"""The page where a person chooses how reminders reach them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from safestep.accounts.models import User
from safestep.core.errors import ValidationFailed
from safestep.notify.selectors import reminder_preference_of
from safestep.notify.services import reminder_preference_set

HOURS = list(range(24))


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    current = reminder_preference_of(user)
    errors: dict[str, list[str]] = {}
    saved = request.GET.get("saved") == "1"
    if request.method == "POST":
        try:
            hour = int(request.POST.get("digest_hour", "7"))
        except ValueError:
            errors["digest_hour"] = [gettext("An hour from 0 to 23.")]
        else:
            try:
                reminder_preference_set(
                    acting_user=user,
                    daily_digest=request.POST.get("delivery") == "digest",
                    digest_hour=hour,
                )
            except ValidationFailed as error:
                errors = error.errors
            else:
                return redirect(f"{request.path}?saved=1")
    return render(
        request,
        "notify/preferences.html",
        {
            "daily_digest": current.daily_digest if current else False,
            "digest_hour": current.digest_hour if current else 7,
            "hours": HOURS,
            "errors": errors,
            "saved": saved,
            "has_email": bool(user.email),
        },
        status=400 if errors else 200,
    )
