"""My account: where reminders are e-mailed, and the language of the pages.

Every signed-in person has this page, for their own account only; a change is one call to
``accounts.services.user_account_set``, which checks the address and records the change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from safestep.accounts.models import Language, User
from safestep.accounts.services import user_account_set
from safestep.web.forms import error_summary
from safestep.web.pages import REFUSALS, acting_user, refusal, render_page

CONTROLS = {
    "email": ("account-email", gettext_lazy("E-mail address for reminders")),
    "language": ("account-language", gettext_lazy("Language")),
}


def _context(user: User, posted: dict[str, str], errors: dict[str, list[str]]) -> dict[str, object]:
    chosen = posted.get("language", user.language)
    return {
        "email": posted.get("email", user.email),
        "languages": [(value, label, value == chosen) for value, label in Language.choices],
        "errors": errors,
        "summary": error_summary(
            errors, {key: (target, str(label)) for key, (target, label) in CONTROLS.items()}
        ),
        "schools": list(user.schools.order_by("name")),
    }


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if request.method == "GET":
        return render_page(request, "web/account.html", _context(user, {}, {}))
    posted = {
        "email": str(request.POST.get("email", "")),
        "language": str(request.POST.get("language", "")),
    }
    try:
        changed = user_account_set(
            acting_user=user, email=posted["email"], language=posted["language"]
        )
    except REFUSALS as error:
        refused = refusal(error)
        return render_page(
            request,
            "web/account.html",
            _context(user, posted, refused.errors),
            status=refused.status,
        )
    messages.success(request, _("Your account is saved.") if changed else _("Nothing changed."))
    return redirect("web:account")
