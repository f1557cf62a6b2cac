"""The floor: the cheapest authenticated answer the stack can give, to compare pages with.

Each floor view goes through the same middleware and authentication as the pages it is
compared with, makes one indexed query (a case's version by primary key) and answers a
few bytes of JSON. The bare view beside them is what a plain Django application with
session authentication answers in the same way. They are routed only when
``SAFESTEP_BENCH_FLOOR`` is true, which ``safestep bench`` sets for the server it starts;
a normal install never has them.
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


@require_GET
def bare_page(request: HttpRequest, case_id: int) -> JsonResponse:
    """A bare Django view, what the floor is held against: session authentication and
    one query, served by the same server through Django's SessionMiddleware and
    AuthenticationMiddleware only (``safestep_bench.wsgi``), none of SafeStep's own."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False}, status=401)
    return JsonResponse({"version": _version(case_id)})


class FloorApi(APIView):
    """Signed in with a token, as API clients are."""

    @extend_schema(exclude=True)
    def get(self, request: Request, case_id: int) -> Response:
        return Response({"version": _version(case_id)})
