"""Drafts: what someone typed into a form when their session had ended, kept until they
sign in again.

A form sent after the idle timeout is never acted on. The session guard
(``accounts/middleware.py``) keeps its fields here instead, for the user whose session it
was, and sends the browser to the sign-in page; once that user has signed in, the page the
form was on shows it again, filled in the way it shows a refused form (``web/drafts.py``).

- **Whose**: the session's own user, read from the ended session (``accounts/sessions.py``),
  or the signed-in user when a form's CSRF token went stale because they signed in again
  in another window (``accounts/views.csrf_failure``). Never a user id from the request.
- **From where**: only forms sent from SafeStep's own pages, as the browser itself says
  (``Sec-Fetch-Site``, ``Origin``): another site cannot plant text in someone's forms.
- **What**: every field but the CSRF token and passwords; nothing from the sign-in pages,
  the API or file uploads.
- **How**: sealed with the encryption keys (``EncryptedJSONField``), never in the browser's
  storage. Shown once, then deleted; gone after ``DRAFT_LIFETIME`` whatever happens.

A draft records no audit event: it changes nothing the trail records (it is what the page
already held), and it is never acted on. Sending it again is an ordinary, audited write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from safestep.accounts.models import Draft, User

DRAFT_LIFETIME = timedelta(hours=2)
# A few forms at once is plenty; more would be someone (or something) sending in a loop.
MAX_DRAFTS_PER_USER = 20
MAX_DRAFT_CHARACTERS = 200_000
MAX_PATH_LENGTH = 500
# Routes whose forms are never kept: secrets, and the session's own machinery.
NEVER_KEPT_ROUTES = (
    "accounts:signin",
    "accounts:second-factor",
    "accounts:enrol",
    "accounts:signout",
    "accounts:password-change",
    "accounts:session",
)


def _never_kept(path: str) -> bool:
    if path.startswith(("/api/", settings.STATIC_URL)):
        return True
    for name in NEVER_KEPT_ROUTES:
        try:
            if path == reverse(name):
                return True
        except NoReverseMatch:
            continue
    return False


def _secret(name: str) -> bool:
    lowered = name.lower()
    return lowered == "csrfmiddlewaretoken" or "password" in lowered


def typed_fields(posted: QueryDict) -> dict[str, list[str]]:
    """What a form sent, but the CSRF token and passwords; empty if nothing was typed.

    The hidden ``version`` alone is not typing: a form of buttons only leaves no draft.
    """
    fields = {
        str(name): [str(value) for value in posted.getlist(name)]
        for name in posted
        if not _secret(str(name))
    }
    typed = any(
        value.strip() for name, values in fields.items() if name != "version" for value in values
    )
    if not typed or sum(len(value) for values in fields.values() for value in values) > (
        MAX_DRAFT_CHARACTERS
    ):
        return {}
    return fields


def sent_from_own_page(request: HttpRequest) -> bool:
    """Whether the browser says this request came from one of SafeStep's own pages.

    Browsers set ``Sec-Fetch-Site`` and ``Origin`` themselves; a page on another site
    cannot choose them. Without either (an old browser) nothing is kept.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        own = f"{request.scheme}://{request.get_host()}"
        return origin == own or origin in settings.CSRF_TRUSTED_ORIGINS
    return fetch_site == "same-origin"


def own_path(request: HttpRequest, url: str | None) -> str | None:
    """The path (and query) of URL if it is a page of this site, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", request.get_host()):
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//") or _never_kept(parts.path):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if len(path) <= MAX_PATH_LENGTH else None


def _sending_page(request: HttpRequest) -> str | None:
    """The page a request was sent from: htmx names it in ``HX-Current-URL``, browsers in
    ``Referer`` (sent within the site: ``Referrer-Policy: same-origin``)."""
    for header in ("HX-Current-URL", "Referer"):
        found = own_path(request, request.headers.get(header))
        if found is not None:
            return found
    return None


def page_of(request: HttpRequest) -> str:
    """The page the person was on: the address they asked for, or the page a form or an
    htmx request was sent from (home if that is unknown)."""
    asks_for_page = request.method in ("GET", "HEAD")
    if asks_for_page and request.headers.get("HX-Request") != "true":
        return request.get_full_path()
    found = _sending_page(request)
    if found is not None:
        return found
    return request.get_full_path() if asks_for_page else reverse(settings.LOGIN_REDIRECT_URL)


def drafts_purge(*, now: datetime | None = None) -> int:
    """Delete every draft past its lifetime; return how many."""
    moment = now or timezone.now()
    return int(Draft.objects.filter(expires_at__lte=moment).delete()[0])


def draft_keep(*, user: User, page: str, action: str, fields: dict[str, list[str]]) -> Draft | None:
    """Keep FIELDS, sent to ACTION from PAGE, for USER; a newer draft of the same form
    replaces the older one. None if there is nothing to keep."""
    if not fields or len(page) > MAX_PATH_LENGTH or len(action) > MAX_PATH_LENGTH:
        return None
    now = timezone.now()
    with transaction.atomic():
        drafts_purge(now=now)
        Draft.objects.filter(user=user, action=action).delete()
        draft = Draft.objects.create(
            user=user,
            page=page,
            action=action,
            fields=fields,
            created_at=now,
            expires_at=now + DRAFT_LIFETIME,
        )
        surplus = list(
            Draft.objects.filter(user=user)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[MAX_DRAFTS_PER_USER:]
        )
        if surplus:
            Draft.objects.filter(pk__in=surplus).delete()
    return draft


def drafts_take(*, user: User, page: str) -> list[Draft]:
    """USER's drafts of forms on PAGE (a path), oldest first, deleted as they are read."""
    found = list(Draft.objects.filter(user=user, page=page))
    if not found:
        return []
    Draft.objects.filter(pk__in=[draft.pk for draft in found]).delete()
    now = timezone.now()
    return [draft for draft in found if draft.expires_at > now]


def typed_work_keep(request: HttpRequest, user: User) -> Draft | None:
    """Keep what REQUEST's form carried as USER's draft, if it is a form from one of
    SafeStep's own pages with something typed in it. Nothing is acted on."""
    if request.method != "POST" or _never_kept(request.path) or not sent_from_own_page(request):
        return None
    try:
        fields = typed_fields(request.POST)
    except (RequestDataTooBig, TooManyFieldsSent, MultiPartParserError):
        return None
    # A form sent with no page named (no Referer) is filed under its own address, where
    # a page that posts to itself (the concern form) finds it.
    page = urlsplit(_sending_page(request) or request.path).path
    return draft_keep(user=user, page=page, action=request.path, fields=fields)
