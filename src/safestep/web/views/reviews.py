"""The district coordinator's review queue: decisions that could stop a mandated report.

Dismissing a concern, waiving or reopening the child abuse report, answering that abuse is
not suspected, moving the reporting clock: each opens a review. The coordinator upholds the
decision or overrules it (with a comment), and overruling restores what it switched off.
Only the district coordinator reads this page; everyone else gets "Not allowed" (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.cases import services
from safestep.cases.models import Review, ReviewDecision, ReviewKind, ReviewStatus
from safestep.cases.selectors import review_list_for_user
from safestep.core.errors import PermissionDenied, SafeStepError
from safestep.web.drafts import draft_for
from safestep.web.forms import ErrorItem, error_summary
from safestep.web.pages import REFUSALS, acting_user, refusal, render_page

REVIEWS_TEMPLATE = "web/reviews.html"
# How many decided reviews the page lists, most recent first.
RECENTLY_DECIDED = 20

# What overruling each kind of decision restores (review_decide does it).
OVERRULE_EFFECTS: dict[str, Any] = {
    ReviewKind.ABUSE_NOT_SUSPECTED: gettext_lazy(
        "Overruling answers the question the other way: the child abuse report is due again."
    ),
    ReviewKind.REPORT_WAIVED: gettext_lazy("Overruling makes the child abuse report due again."),
    ReviewKind.REPORT_REOPENED: gettext_lazy(
        "Overruling restores the report as it was recorded before it was reopened."
    ),
    ReviewKind.CONCERN_DISMISSED: gettext_lazy("Overruling sends the concern back to triage."),
    ReviewKind.CLOCK_MOVED: gettext_lazy("Overruling puts the reporting clock back where it was."),
    ReviewKind.CASE_VOIDED: gettext_lazy("Overruling opens the case again, as it was."),
    ReviewKind.PATHWAY_LOWERED: gettext_lazy(
        "Overruling moves the case back to the pathway it was on."
    ),
}
NO_EFFECT = gettext_lazy(
    "Overruling records your disagreement; nothing is switched back by itself."
)
DECISION_WORDS: dict[str, Any] = {
    ReviewDecision.UPHELD: gettext_lazy("Upheld"),
    ReviewDecision.OVERRULED: gettext_lazy("Overruled"),
}


@dataclass
class ReviewItem:
    review: Review
    kind: str
    school: str
    url: str  # the case, or the concern, the review is about
    effect: str
    opened_by: str
    decision: str = ""
    decided_by: str = ""
    form: QueryDict | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    summary: list[ErrorItem] = field(default_factory=list)


def _person(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _item(review: Review) -> ReviewItem:
    if review.case is not None:
        school = review.case.school.name
        url = reverse("web:case", args=[review.case_id])
    else:
        assert review.concern is not None, "a review is about a case or a concern"
        school = review.concern.school.name
        url = reverse("web:concern", args=[review.concern_id])
    return ReviewItem(
        review=review,
        kind=review.get_kind_display(),
        school=school,
        url=url,
        effect=str(OVERRULE_EFFECTS.get(review.kind, NO_EFFECT)),
        opened_by=_person(review.opened_by),
        decision=str(DECISION_WORDS.get(review.decision, review.decision)),
        decided_by=_person(review.decided_by),
    )


def _queue_context(
    user: User,
    *,
    review_id: int | None = None,
    form: QueryDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    try:
        open_reviews = list(review_list_for_user(user, status=ReviewStatus.OPEN))
        decided = list(
            review_list_for_user(user, status=ReviewStatus.DECIDED).order_by("-decided_at", "-id")[
                :RECENTLY_DECIDED
            ]
        )
    except PermissionDenied:
        raise PageForbidden("only the district coordinator reads reviews") from None
    items = []
    for review in open_reviews:
        item = _item(review)
        if review.pk == review_id:
            item.form = form
            item.errors = errors or {}
            item.summary = error_summary(
                item.errors,
                {
                    "decision": (f"decision-{review.pk}", _("Decision")),
                    "comment": (f"comment-{review.pk}", _("Comment")),
                },
            )
        items.append(item)
    return {
        "items": items,
        "decided": [_item(review) for review in decided],
    }


def _require_reviewer(user: User) -> None:
    if not has_capability(user, Capability.REVIEW_DECIDE):
        raise PageForbidden("only the district coordinator reads reviews")


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    _require_reviewer(user)
    # A draft (typed before the session ended) shows like a refused form's values.
    draft = draft_for(request, "review-decide")
    if draft is None or not isinstance(draft.arguments.get("review_id"), int):
        return render_page(request, REVIEWS_TEMPLATE, _queue_context(user))
    context = _queue_context(user, review_id=draft.arguments["review_id"], form=draft.posted)
    return render_page(request, REVIEWS_TEMPLATE, context)


@login_required
@require_POST
def review_decide(request: HttpRequest, review_id: int) -> HttpResponse:
    user = acting_user(request)
    _require_reviewer(user)
    posted = request.POST
    try:
        review = services.review_decide(
            acting_user=user,
            review_id=review_id,
            decision=str(posted.get("decision", "")),
            comment=str(posted.get("comment", "")),
        )
    except REFUSALS as error:
        return _refused(request, user, review_id, error)
    item = _item(review)
    if review.decision == ReviewDecision.OVERRULED:
        text = _("Overruled: %(kind)s. %(effect)s") % {"kind": item.kind, "effect": item.effect}
    else:
        text = _("Upheld: %(kind)s. The decision stands, with your comment.") % {"kind": item.kind}
    messages.success(request, text)
    return redirect("web:reviews")


def _refused(
    request: HttpRequest, user: User, review_id: int, error: SafeStepError
) -> HttpResponse:
    refused = refusal(error, not_found="No such review")
    context = _queue_context(user, review_id=review_id, form=request.POST, errors=refused.errors)
    return render_page(request, REVIEWS_TEMPLATE, context, status=refused.status)
