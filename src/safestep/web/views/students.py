"""A student's page: the concerns and cases about one student, as far as the reader may see.

A student is (school, SIS id). The page opens only for someone who already knows of the
student through a case they may read or a concern they may triage; for anyone else it does
not exist (404), exactly like a student SafeStep has never heard of. Each view is recorded.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from safestep.accounts.access import Capability, has_capability
from safestep.cases.outputs import case_summary_output
from safestep.cases.selectors import student_record_for_user
from safestep.core.errors import NotFound
from safestep.web.concern_page import reporter_label
from safestep.web.pages import acting_user, render_page


@login_required
@require_GET
def student(request: HttpRequest, school_code: str, sis_id: str) -> HttpResponse:
    user = acting_user(request)
    try:
        record = student_record_for_user(user, school_code=school_code, sis_id=sis_id)
    except NotFound:
        raise Http404("No such student") from None
    concerns = [
        {
            "concern": concern,
            "status": concern.get_status_display(),
            "reporter": reporter_label(user, concern),
            "own": concern.submitted_by_id == user.pk,
        }
        for concern in record.concerns
    ]
    return render_page(
        request,
        "web/student.html",
        {
            "student": record.student,
            "cases": [case_summary_output(user, case) for case in record.cases],
            "concerns": concerns,
            "reads_cases": has_capability(user, Capability.CASE_READ),
        },
    )
