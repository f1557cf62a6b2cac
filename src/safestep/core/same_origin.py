"""Audited reads only from SafeStep's own pages: another site cannot make a browser read a case.

Opening a case, its timeline, an attachment, the SS 8572 or the audit trail writes an
event naming the person who read it. The session cookie is ``SameSite=Lax``, so a browser
still sends it on a top-level GET that another site starts (a link, a redirect, a script
setting ``location``): any page a signed-in coordinator visited could have filled the trail
with reads they never made.

Browsers say where a request came from in ``Sec-Fetch-Site``. For the views that the
``AUDITED_READS`` setting names (by URL name: the settings know the apps, core does not), a
GET or HEAD whose ``Sec-Fetch-Site`` is anything but ``same-origin`` (a SafeStep page) or
``none`` (an address typed, a bookmark, a desktop mail client) is refused with 403 before
the session is even loaded, so nothing is written. The refusal page offers a link to the
same address, which the person may follow on purpose (a link in web mail lands here).
Requests without the header (older browsers, scripts) and API requests carrying an
``Authorization`` header (a token: nothing a browser sends by itself) are not affected.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from safestep.core.problems import is_api, problem_response

ALLOWED_SITES = frozenset({"same-origin", "none"})

DETAIL = (
    "This address was opened from another site. Reading it is recorded in the audit trail, "
    "so SafeStep answers it only from its own pages or an address typed into the browser."
)
PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<p>{text}</p>
<p>{if_meant} <a href="{path}">{open_it}</a>.</p>
</body>
</html>
"""


def audited_reads() -> frozenset[str]:
    """URL names of the views whose GET writes a read to the audit trail (settings)."""
    return frozenset(getattr(settings, "AUDITED_READS", ()))


def is_cross_site_read(request: HttpRequest) -> bool:
    """Whether REQUEST is a browser's GET of an audited read started by another site."""
    if request.method not in ("GET", "HEAD"):
        return False
    site = request.headers.get("Sec-Fetch-Site")
    if site is None or site.strip().lower() in ALLOWED_SITES:
        return False
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in audited_reads()


def refusal(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return problem_response(403, DETAIL)
    # Always a path on this site, never "//elsewhere".
    # This guard runs before the language is chosen for the request: the browser's then.
    with translation.override(translation.get_language_from_request(request)):
        page = PAGE.format(
            language=translation.get_language(),
            title=escape(gettext("Open this from SafeStep")),
            text=escape(
                gettext(
                    "You followed a link from another site. Every time a case is read it is "
                    "recorded in the audit trail under your name, so SafeStep opens it only "
                    "from its own pages or an address you typed yourself."
                )
            ),
            if_meant=escape(gettext("If you meant to open it:")),
            open_it=escape(gettext("open it in SafeStep")),
            path=escape("/" + request.get_full_path().lstrip("/")),
        )
    return HttpResponse(page, status=403, content_type="text/html; charset=utf-8")


class SameOriginReadMiddleware:
    """Refuse audited reads that another site started (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if is_cross_site_read(request):
            return refusal(request)
        return self.get_response(request)
