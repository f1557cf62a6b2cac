"""Drafts back in their forms: what someone typed when their session ended, shown again
after they sign in the way a refused form shows what was sent.

The session guard keeps the draft (``accounts/drafts.py``); the page the form was on takes
it here, once, when its owner opens that page again. Each page hands the draft's values to
the same context its refused submissions use (``FormState(posted=...)`` on the case page,
``posted=`` or ``form=`` elsewhere), so a draft and a refusal look alike, field for field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy

from safestep.accounts.drafts import drafts_take
from safestep.web.confirmations import CONFIRM_FIELD
from safestep.web.pages import acting_user, is_htmx

DRAFT_NOTICE = gettext_lazy(
    "You were signed out before this was sent. What you typed is back in the form: check "
    "it, then send it again."
)

# The case page's forms by the route they are sent to: the key each one's refusals use
# (``views/cases.py``, ``_write(form=...)``), filled in from the route's own arguments.
CASE_FORMS: dict[str, str] = {
    "case-facts": "facts",
    "step-complete": "step:{step_id}:done",
    "step-progress": "step:{step_id}:progress",
    "step-not-applicable": "step:{step_id}:na",
    "step-reopen": "step:{step_id}:reopen",
    "case-escalate": "escalate",
    "case-clock": "clock",
    "case-link": "link",
    "check-in-plan": "plan",
    "check-in-add": "checkin",
    "note-add": "note",
    "case-people": "person:new",
    "case-person": "person:{person_id}",
    "case-student-details": "victim",
    "case-void": "void",
    "case-transfer": "transfer",
    "case-close": "close",
    "case-reopen": "reopen",
}


@dataclass(frozen=True)
class RestoredDraft:
    """One form's draft: the route it was sent to, that route's arguments, and what it
    held, as ``request.POST`` held it."""

    route: str
    arguments: dict[str, Any]
    posted: QueryDict


def _posted(fields: object) -> QueryDict:
    posted = QueryDict(mutable=True)
    if isinstance(fields, dict):
        for name, values in fields.items():
            # A draft is never a "yes" to what is hard to undo: sent again, it asks again.
            if isinstance(values, list) and name != CONFIRM_FIELD:
                posted.setlist(str(name), [str(value) for value in values])
    return posted


def drafts_restore(request: HttpRequest) -> list[RestoredDraft]:
    """The signed-in user's drafts of forms on this page, taken (so deleted) now.

    Only for a whole page: an htmx fragment leaves them for the page itself. The page says
    that the form holds a draft in its messages.
    """
    if request.method != "GET" or is_htmx(request):
        return []
    restored = []
    for draft in drafts_take(user=acting_user(request), page=request.path):
        try:
            match = resolve(draft.action)
        except Resolver404:
            continue
        if match.namespace != "web" or match.url_name is None:
            continue
        restored.append(RestoredDraft(match.url_name, dict(match.kwargs), _posted(draft.fields)))
    if restored:
        messages.info(request, DRAFT_NOTICE)
    return restored


def draft_for(request: HttpRequest, *routes: str, **arguments: Any) -> RestoredDraft | None:
    """The newest draft on this page of a form sent to one of ROUTES with ARGUMENTS."""
    found = None
    for draft in drafts_restore(request):
        if draft.route in routes and all(
            draft.arguments.get(name) == value for name, value in arguments.items()
        ):
            found = draft
    return found


def case_drafts(request: HttpRequest, case_id: int) -> list[tuple[str, QueryDict]]:
    """The case page's drafts of this case's forms: (the form's key, what it held)."""
    found = []
    for draft in drafts_restore(request):
        key = CASE_FORMS.get(draft.route)
        if key is None or draft.arguments.get("case_id") != case_id:
            continue
        found.append((key.format(**draft.arguments), draft.posted))
    return found
