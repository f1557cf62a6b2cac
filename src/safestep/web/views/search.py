"""Finding a case: by the student's name, their SIS id or the case's reference.

Only the cases the reader may see are searched (``case_search_for_user`` applies the scope
first), so a result, a count or an empty list says nothing of other cases. Each search is
recorded, without the words typed: they may be a child's name.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from safestep.accounts.access import Capability, has_capability
from safestep.cases.outputs import case_summary_output
from safestep.cases.selectors import SEARCH_LIMIT, SEARCH_MAX_LENGTH, case_search_for_user
from safestep.web.pages import acting_user, render_page


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not has_capability(user, Capability.CASE_READ):
        raise Http404("This role does not read cases")
    query = request.GET.get("q", "")[:SEARCH_MAX_LENGTH].strip()
    include_voided = request.GET.get("voided") == "1"
    searched = bool(query)
    cases = case_search_for_user(user, query, include_voided=include_voided) if searched else []
    return render_page(
        request,
        "web/search.html",
        {
            "query": query,
            "include_voided": include_voided,
            "searched": searched,
            "cases": [case_summary_output(user, case) for case in cases],
            "limit": SEARCH_LIMIT,
            "max_length": SEARCH_MAX_LENGTH,
            "at_limit": len(cases) >= SEARCH_LIMIT,
        },
    )
