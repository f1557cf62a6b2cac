"""What the administration area's pages share: who may use them, and pages never cached."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.web.pages import acting_user, render_page

# Which capability each part of the area needs.
ACCOUNTS = Capability.ACCOUNTS_MANAGE
PROTOCOLS = Capability.PROTOCOL_MANAGE


def manager(request: HttpRequest, capability: Capability) -> User:
    """The signed-in user, if they hold CAPABILITY; "Not allowed" (403) otherwise."""
    user = acting_user(request)
    if not has_capability(user, capability):
        raise PageForbidden(f"the administration area needs {capability}")
    return user


def never_cached(response: HttpResponse) -> HttpResponse:
    """A page showing a one-time password, or account details: kept by no cache."""
    add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
    return response


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    sections = {
        "accounts": has_capability(user, ACCOUNTS),
        "protocols": has_capability(user, PROTOCOLS),
    }
    if not any(sections.values()):
        raise PageForbidden("the administration area is the district coordinator's")
    return render_page(request, "web/admin/index.html", {"sections": sections})
