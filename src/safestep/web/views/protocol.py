"""The protocol as a flowchart: whole, or one case's pathway coloured by its progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from safestep.accounts.access import Capability, has_capability
from safestep.cases.selectors import case_get_for_user, case_progress_for_render
from safestep.core.errors import NotFound
from safestep.definitions.outputs import protocol_output
from safestep.definitions.selectors import definition_of, protocol_active
from safestep.protocol import STATE_STYLES, render_svg
from safestep.web.pages import acting_user, render_page


def _inline(svg: str) -> str:
    # The SVG is drawn by SafeStep from a validated definition, with every text escaped;
    # inline (without its XML declaration) it inherits the page's fonts and is read aloud.
    return mark_safe(svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg)  # noqa: S308


@login_required
@require_GET
def protocol(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not has_capability(user, Capability.PROTOCOL_READ):
        raise Http404("This role does not read the protocol")
    stored = protocol_active()
    definition = definition_of(stored)
    return render_page(
        request,
        "web/protocol.html",
        {
            "svg": _inline(render_svg(definition)),
            "protocol": protocol_output(stored),
            "definition": definition,
            "case": None,
        },
    )


@login_required
@require_GET
def case_protocol(request: HttpRequest, case_id: int) -> HttpResponse:
    user = acting_user(request)
    try:
        case = case_get_for_user(user, case_id, channel="page")
    except NotFound:
        raise Http404("No such case") from None
    progress = case_progress_for_render(case_id=case.pk)
    definition = progress.protocol
    return render_page(
        request,
        "web/protocol.html",
        {
            "svg": _inline(
                render_svg(definition, states=progress.states, pathway_id=progress.pathway_id)
            ),
            "protocol": protocol_output(case.protocol),
            "definition": definition,
            "case": case,
            "pathway": definition.pathway(progress.pathway_id),
            "states": progress.states,
            "legend": [(state, style.label) for state, style in STATE_STYLES.items()],
        },
    )
