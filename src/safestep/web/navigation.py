"""The main navigation: each entry shows only to roles that may use it, and only if installed.

Pages of other parts of SafeStep (the district dashboard, the audit trail) join the
navigation by listing their URL names here; an entry whose URL does not resolve is left out,
so the navigation never links to a page that is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.cases.models import ReviewStatus
from safestep.cases.selectors import review_list_for_user
from safestep.core.page_urls import page_url


def _open_reviews(user: User) -> int:
    return review_list_for_user(user, status=ReviewStatus.OPEN).count()


def _open_reviews_text(count: int) -> str:
    return ngettext("%(count)d open", "%(count)d open", count) % {"count": count}


@dataclass(frozen=True)
class NavItem:
    url_names: tuple[str, ...]  # the first that resolves is used
    label: Any
    capability: Capability | None  # None: every signed-in user
    # How many things wait there for the user (shown next to the label when not zero),
    # and those words for screen readers.
    count: Callable[[User], int] | None = None
    count_text: Callable[[int], str] | None = None


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem(("web:home",), _("Home"), None),
    NavItem(("web:concern-new",), _("Report a concern"), Capability.CONCERN_SUBMIT),
    NavItem(("web:triage",), _("Triage"), Capability.CONCERN_TRIAGE),
    NavItem(
        ("web:reviews",),
        _("Reviews"),
        Capability.REVIEW_DECIDE,
        count=_open_reviews,
        count_text=_open_reviews_text,
    ),
    NavItem(("web:cases",), _("Cases"), Capability.CASE_READ),
    NavItem(("web:search",), _("Search"), Capability.CASE_READ),
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
    # The district coordinator's administration area: accounts, schools, protocols.
    NavItem(("web:admin",), _("Administration"), Capability.ACCOUNTS_MANAGE),
    NavItem(("web:account",), _("My account"), None),
)


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    current: bool
    count: int = 0
    count_text: str = ""


def _resolve(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return page_url(name)
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
        count = item.count(user) if item.count is not None else 0
        text = item.count_text(count) if item.count_text is not None and count else ""
        links.append(NavLink(url, str(item.label), current, count, text))
    return links
