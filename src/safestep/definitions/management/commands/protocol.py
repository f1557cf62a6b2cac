from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestep.core.commands import one_line_errors
from safestep.core.errors import NotFound
from safestep.definitions.selectors import (
    definition_of,
    protocol_active,
    protocol_current,
    protocol_versions,
)
from safestep.definitions.services import protocol_activate, protocol_load_file
from safestep.protocol import (
    ProtocolInvalid,
    load_protocol_text,
    render_dot,
    render_mermaid,
    render_svg,
)

RENDERERS = {"mermaid": render_mermaid, "dot": render_dot, "svg": render_svg}


class Command(BaseCommand):
    help = "Validate, load, activate, list, show and draw protocol definitions."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        validate = actions.add_parser("validate", help="check a definition file")
        validate.add_argument("path", type=Path)
        load = actions.add_parser("load", help="store a definition as a new immutable version")
        load.add_argument("path", type=Path)
        activate = actions.add_parser(
            "activate", help="make a loaded protocol the one new concerns and cases follow"
        )
        activate.add_argument("protocol_id", metavar="ID")
        activate.add_argument("--version", help="a loaded version (default: the newest)")
        actions.add_parser("list", help="list loaded protocol versions, marking the active one")
        show = actions.add_parser("show", help="print a protocol's pathways and steps")
        show.add_argument("protocol_id", metavar="ID")
        show.add_argument("--version")
        render = actions.add_parser("render", help="draw a protocol as a flowchart")
        render.add_argument("protocol_id", metavar="ID")
        render.add_argument("--version")
        render.add_argument("--format", required=True, choices=sorted(RENDERERS))
        render.add_argument("--case", type=int, help="colour by this case's progress")

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "handle_" + options["action"])(options)

    def _read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{path}: cannot read: {error}") from None

    def _report_invalid(self, error: ProtocolInvalid) -> None:
        for issue in error.issues:
            self.stderr.write(str(issue))
        sys.exit(1)

    def handle_validate(self, options: dict[str, Any]) -> None:
        path: Path = options["path"]
        try:
            definition = load_protocol_text(self._read(path), str(path))
        except ProtocolInvalid as error:
            self._report_invalid(error)
            return
        steps = sum(len(pathway.steps) for pathway in definition.pathways)
        self.stdout.write(
            f"{path}: valid: {definition.id} {definition.version}, "
            f"{len(definition.pathways)} pathways, {steps} steps"
        )

    def handle_load(self, options: dict[str, Any]) -> None:
        path: Path = options["path"]
        self._read(path)
        try:
            result = protocol_load_file(path=path)
        except ProtocolInvalid as error:
            self._report_invalid(error)
            return
        stored = result.version
        if result.created:
            self.stdout.write(
                f"loaded {stored.protocol_id} {stored.version} ({stored.content_hash[:12]})"
            )
        else:
            self.stdout.write(
                f"unchanged: {stored.protocol_id} {stored.version} is already loaded "
                f"({stored.content_hash[:12]})"
            )

    def handle_activate(self, options: dict[str, Any]) -> None:
        stored = protocol_activate(
            acting_user=None, protocol_id=options["protocol_id"], version=options["version"]
        )
        self.stdout.write(
            f"activated {stored.protocol_id} {stored.version} ({stored.content_hash[:12]}): "
            "new concerns and cases follow it; open cases keep the version they opened with"
        )

    def handle_list(self, options: dict[str, Any]) -> None:
        try:
            active_pk: int | None = protocol_active().pk
        except NotFound:
            active_pk = None
        for stored in protocol_versions():
            loaded = stored.loaded_at.strftime("%Y-%m-%d %H:%M")
            # The row new cases open on ends in "active": one row at most.
            mark = "\tactive" if stored.pk == active_pk else ""
            self.stdout.write(
                f"{stored.protocol_id}\t{stored.version}\t{stored.content_hash[:12]}\t{loaded}\t{stored.title}{mark}"
            )

    def handle_show(self, options: dict[str, Any]) -> None:
        definition = definition_of(protocol_current(options["protocol_id"], options["version"]))
        self.stdout.write(f"{definition.id} {definition.version}: {definition.title}")
        for pathway in definition.pathways:
            self.stdout.write(f"\n{pathway.code}. {pathway.title} ({pathway.id})")
            for step in pathway.steps:
                flags = []
                if step.condition is not None:
                    flags.append("conditional")
                if step.deadline is not None:
                    flags.append(f"due {step.deadline.within_text} after {step.deadline.anchor}")
                if step.police_only:
                    flags.append("police-only details")
                extra = f" [{'; '.join(flags)}]" if flags else ""
                self.stdout.write(
                    f"  {step.code} {step.id}: {step.title} ({', '.join(step.actor_roles)}){extra}"
                )

    def handle_render(self, options: dict[str, Any]) -> None:
        renderer = RENDERERS[options["format"]]
        if options["case"] is not None:
            # A case is drawn against the protocol version it is pinned to.
            from safestep.cases.selectors import case_progress_for_render

            progress = case_progress_for_render(case_id=options["case"])
            self.stdout.write(
                renderer(progress.protocol, states=progress.states, pathway_id=progress.pathway_id)
            )
            return
        definition = definition_of(protocol_current(options["protocol_id"], options["version"]))
        self.stdout.write(renderer(definition))
