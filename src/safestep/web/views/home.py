"""Each role's home: what needs doing now, and nothing a role should not see."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from safestep.accounts.access import Capability, has_capability
from safestep.cases.outputs import case_summary_output
from safestep.cases.selectors import (
    concern_own_list,
    concern_triage_queue_for_user,
    my_work_for_user,
)
from safestep.web.concern_page import own_report_state
from safestep.web.pages import acting_user, render_page

# The home lists at most this many open cases, newest first; the case list has them all.
CASE_LIST_LIMIT = 25
# ... and the most urgent items of work, overdue first; "Show all" (?work=all) lists every
# one (up to a thousand). A page of a hundred rows hides the two that are late, and costs a
# reader's time.
WORK_LISTED = 25


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    now = timezone.now()
    context: dict[str, Any] = {
        "role": user.get_role_display(),
        "can_report": has_capability(user, Capability.CONCERN_SUBMIT),
        "my_concerns": [
            {"concern": concern, "state": own_report_state(concern, now=now)}
            for concern in concern_own_list(user)[:50]
        ],
        "can_read_cases": has_capability(user, Capability.CASE_READ),
        "can_triage": has_capability(user, Capability.CONCERN_TRIAGE),
    }
    if context["can_read_cases"]:
        show_all_work = request.GET.get("work") == "all"
        mine = my_work_for_user(
            user, now=now, limit=CASE_LIST_LIMIT, work_limit=None if show_all_work else WORK_LISTED
        )
        context["work"] = mine.items
        context["now"] = now
        context["work_total"] = mine.work_total
        # Past a thousand items the count stops, and "all" lists that many.
        context["work_counted_up_to"] = mine.counted_up_to
        context["work_more_than"] = mine.more_than_counted
        context["work_hidden"] = 0 if show_all_work else mine.work_total - len(mine.items)
        context["open_total"] = mine.open_cases
        context["open_hidden"] = mine.open_cases - len(mine.cases)
        context["cases"] = [case_summary_output(user, case) for case in mine.cases]
    if context["can_triage"]:
        context["triage_count"] = concern_triage_queue_for_user(user).count()
    return render_page(request, "web/home.html", context)
