"""Protocols: the loaded versions (the active one marked), a YAML file checked and loaded,
a version compared with the active one, and a version activated after a confirmation.

Checking reads the file and stores nothing; its problems are listed as the command line
lists them, PATH:LINE:COLUMN: message. Loading stores a new immutable version (open cases
keep theirs); activating makes it the one new concerns and cases follow. The services
record both (``protocol.load``, ``protocol.activate``).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safestep.accounts.models import User
from safestep.cases.selectors import MAX_ROW_ID
from safestep.core.errors import NotFound, ValidationFailed
from safestep.definitions.compare import protocol_differences
from safestep.definitions.models import ProtocolVersion
from safestep.definitions.selectors import (
    definition_of,
    protocol_active,
    protocol_current,
    protocol_versions,
)
from safestep.definitions.services import protocol_activate, protocol_check, protocol_load
from safestep.protocol import Protocol, ProtocolInvalid
from safestep.web.forms import error_summary
from safestep.web.pages import REFUSALS, refusal, render_page
from safestep.web.views.admin.common import PROTOCOLS, manager

PROTOCOLS_TEMPLATE = "web/admin/protocols.html"
VERSION_TEMPLATE = "web/admin/protocol_version.html"
# A definition file is a few dozen kilobytes; anything near this is not one.
MAX_DEFINITION_BYTES = 1024 * 1024
DEFAULT_SOURCE = "uploaded.yaml"


def _source_name(raw: str) -> str:
    """The uploaded file's name, as problems name it (PATH:LINE:COL): its last part, in
    letters, digits and ``._-``."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.-]", "_", name, flags=re.ASCII).strip("._")[:100]
    return name or DEFAULT_SOURCE


def _active_or_none() -> ProtocolVersion | None:
    try:
        return protocol_active()
    except NotFound:
        return None


def _list_context(**extra: Any) -> dict[str, Any]:
    active = _active_or_none()
    return {
        "versions": list(protocol_versions().select_related("loaded_by")),
        "active": active,
        "max_kilobytes": MAX_DEFINITION_BYTES // 1024,
        "issues": [],
        "checked": None,
        "errors": {},
        "summary": [],
        **extra,
    }


def _sent_definition(request: HttpRequest) -> tuple[str, str]:
    """The definition sent: an uploaded file (``definition``), or the text of a file checked
    a moment ago (``text`` and ``source``, carried by the "Load it" form)."""
    upload = request.FILES.get("definition")
    if upload is not None:
        if upload.size is not None and upload.size > MAX_DEFINITION_BYTES:
            message = _("At most %(kb)d KB: a definition file is much smaller.")
            raise ValidationFailed({"definition": [message % {"kb": MAX_DEFINITION_BYTES // 1024}]})
        raw, name = upload.read(), upload.name or ""
    else:
        raw = str(request.POST.get("text", "")).encode("utf-8")
        name = str(request.POST.get("source", ""))
    if not raw.strip():
        raise ValidationFailed({"definition": [_("Choose the definition's YAML file.")]})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(
            {"definition": [_("The file is not text in UTF-8: is it the YAML definition?")]}
        ) from None
    return text.replace("\r\n", "\n"), _source_name(name)


def _baseline(definition: Protocol) -> ProtocolVersion | None:
    """What a checked file is compared with: the newest loaded version of the same
    protocol, or else the active protocol."""
    try:
        return protocol_current(definition.id)
    except NotFound:
        return _active_or_none()


def _checked(definition: Protocol, text: str, source: str) -> dict[str, Any]:
    baseline = _baseline(definition)
    return {
        "definition": definition,
        "text": text,
        "source": source,
        "steps": sum(len(pathway.steps) for pathway in definition.pathways),
        "baseline": baseline,
        "differences": (
            protocol_differences(definition_of(baseline), definition)
            if baseline is not None
            else []
        ),
    }


@login_required
@require_http_methods(["GET", "POST"])
def protocol_list(request: HttpRequest) -> HttpResponse:
    """GET: the loaded versions. POST: check a definition file (``action=check``) or load
    it (``action=load``)."""
    user = manager(request, PROTOCOLS)
    if request.method == "GET":
        return render_page(request, PROTOCOLS_TEMPLATE, _list_context())
    load = request.POST.get("action") == "load"
    try:
        text, source = _sent_definition(request)
        if load:
            return _loaded(request, user, text, source)
        definition = protocol_check(text=text, source_name=source, acting_user=user)
    except ProtocolInvalid as invalid:
        # Every problem, each at its place in the file, as `safestep protocol validate` says.
        context = _list_context(issues=[str(issue) for issue in invalid.issues])
        return render_page(request, PROTOCOLS_TEMPLATE, context, status=400)
    except REFUSALS as error:
        refused = refusal(error, general="definition")
        context = _list_context(
            errors=refused.errors,
            summary=error_summary(refused.errors, {"definition": ("definition-file", _("File"))}),
        )
        return render_page(request, PROTOCOLS_TEMPLATE, context, status=refused.status)
    context = _list_context(checked=_checked(definition, text, source))
    return render_page(request, PROTOCOLS_TEMPLATE, context)


def _loaded(request: HttpRequest, user: User, text: str, source: str) -> HttpResponse:
    result = protocol_load(text=text, source_name=source, acting_user=user)
    stored = result.version
    words = {"protocol": stored.protocol_id, "version": stored.version}
    if result.created:
        message = _(
            "Protocol %(protocol)s version %(version)s is loaded. New cases follow it only once "
            "it is activated."
        )
    else:
        message = _("Protocol %(protocol)s version %(version)s was already loaded, unchanged.")
    messages.success(request, message % words)
    return redirect(reverse("web:admin-protocol", args=[stored.pk]))


# --- one version --------------------------------------------------------------------------


def _version_or_404(version_id: int) -> ProtocolVersion:
    stored = (
        protocol_versions().select_related("loaded_by").filter(pk=version_id).first()
        if 0 < version_id <= MAX_ROW_ID
        else None
    )
    if stored is None:
        raise Http404("No such protocol version")
    return stored


def _version_context(stored: ProtocolVersion, **extra: Any) -> dict[str, Any]:
    active = _active_or_none()
    definition = definition_of(stored)
    return {
        "stored": stored,
        "definition": definition,
        "steps": sum(len(pathway.steps) for pathway in definition.pathways),
        "active": active,
        "is_active": active is not None and active.pk == stored.pk,
        "differences": (
            protocol_differences(definition_of(active), definition) if active is not None else []
        ),
        "errors": {},
        "summary": [],
        **extra,
    }


@login_required
@require_GET
def protocol_version(request: HttpRequest, version_id: int) -> HttpResponse:
    """One loaded version: what it holds, how it differs from the active one, and the
    form that activates it."""
    manager(request, PROTOCOLS)
    return render_page(request, VERSION_TEMPLATE, _version_context(_version_or_404(version_id)))


@login_required
@require_POST
def protocol_version_activate(request: HttpRequest, version_id: int) -> HttpResponse:
    user = manager(request, PROTOCOLS)
    stored = _version_or_404(version_id)
    try:
        if request.POST.get("confirm") != "yes":
            raise ValidationFailed(
                {"confirm": [_("Confirm that new concerns and cases are to follow this version.")]}
            )
        activated = protocol_activate(
            acting_user=user, protocol_id=stored.protocol_id, version=stored.version
        )
    except REFUSALS as error:
        refused = refusal(error, general="confirm", not_found="No such protocol version")
        context = _version_context(
            stored,
            errors=refused.errors,
            summary=error_summary(
                refused.errors, {"confirm": ("activate-confirm", _("Confirmation"))}
            ),
        )
        return render_page(request, VERSION_TEMPLATE, context, status=refused.status)
    messages.success(
        request,
        _(
            "New concerns and cases now follow %(title)s, version %(version)s. Open cases keep "
            "the version they were opened with."
        )
        % {"title": activated.title, "version": activated.version},
    )
    return redirect("web:admin-protocols")
