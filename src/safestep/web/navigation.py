"""The main navigation: each entry shows only to roles that may use it, and only if installed.

Pages of other parts of SafeStep (the district dashboard, the audit trail) join the
navigation by listing their URL names here; an entry whose URL does not resolve is left out,
so the navigation never links to a page that is not there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User


@dataclass(frozen=True)
class NavItem:
    url_names: tuple[str, ...]  # the first that resolves is used
    label: Any
    capability: Capability | None  # None: every signed-in user


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem(("web:home",), _("Home"), None),
    NavItem(("web:concern-new",), _("Report a concern"), Capability.CONCERN_SUBMIT),
    NavItem(("web:triage",), _("Triage"), Capability.CONCERN_TRIAGE),
    NavItem(("web:cases",), _("Cases"), Capability.CASE_READ),
    NavItem(("web:protocol",), _("Protocol"), Capability.PROTOCOL_READ),
    # Pages of the reports and audit parts of SafeStep, shown once their routes exist.
    NavItem(
        ("reports:dashboard", "reports:district"),
        _("District dashboard"),
        Capability.DASHBOARD_READ,
    ),
    NavItem(
        ("audit:trail", "audit:events", "audit:index"), _("Audit trail"), Capability.AUDIT_READ
    ),
)


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    current: bool


def _resolve(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def nav_links(request: HttpRequest) -> list[NavLink]:
    """The navigation for whoever is signed in on REQUEST (none when nobody is)."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return []
    links = []
    for item in NAV_ITEMS:
        if item.capability is not None and not has_capability(user, item.capability):
            continue
        url = _resolve(item.url_names)
        if url is None:
            continue
        current = request.path == url if url == "/" else request.path.startswith(url)
        links.append(NavLink(url, str(item.label), current))
    return links
