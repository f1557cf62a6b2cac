"""The floor: the cheapest authenticated answer the stack can give, to compare pages with.

Each floor view goes through the same middleware and authentication as the pages it is
compared with, makes one indexed query (a case's version by primary key) and answers a
few bytes of JSON. They are routed only when ``SAFESTEP_BENCH_FLOOR`` is true, which
``safestep bench`` sets for the server it starts; a normal install never has them.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safestep.cases.models import Case


def _version(case_id: int) -> int | None:
    return Case.objects.filter(pk=case_id).values_list("version", flat=True).first()


@login_required
@require_GET
def floor_page(request: HttpRequest, case_id: int) -> JsonResponse:
    """Signed in with a session, as the pages are."""
    return JsonResponse({"version": _version(case_id)})


class FloorApi(APIView):
    """Signed in with a token, as API clients are."""

    @extend_schema(exclude=True)
    def get(self, request: Request, case_id: int) -> Response:
        return Response({"version": _version(case_id)})
