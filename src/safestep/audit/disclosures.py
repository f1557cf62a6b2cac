"""Which protocol steps disclose a student's information outside the school, and to whom.

FERPA (34 CFR 99.32(a)(5)) requires a record of each disclosure made under the health or
safety exception, with the articulable and significant threat that justified it, and CANRA
reports are disclosures the district must be able to account for. A step's record says to
whom; the step's ``discloses`` declaration in the protocol says what, to what kind of
recipient, and on what legal basis (docs/protocol-format.md, "Disclosures").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from safestep.protocol import (
    BASIS_HEALTH_OR_SAFETY,
    STEP_ROLE_CHILD_ABUSE_REPORT,
    Protocol,
    Step,
    StepDisclosure,
)

# The recipient type of a choice value the definition gives no recipient (a value from a
# definition the loader did not check, which cannot happen for a stored one).
UNDECLARED_RECIPIENT_TYPE = "other"


@dataclass(frozen=True)
class Recipient:
    name: str
    type: str


@dataclass(frozen=True)
class DisclosureRule:
    """A step's declared disclosure, read against that step's fields."""

    step: Step
    declared: StepDisclosure

    @property
    def categories(self) -> tuple[str, ...]:
        return self.declared.categories

    @property
    def legal_basis(self) -> str:
        return self.declared.basis

    @property
    def needs_threat(self) -> bool:
        """Disclosures under the health-or-safety exception must record the threat (99.32)."""
        return self.declared.basis == BASIS_HEALTH_OR_SAFETY

    def threat(self, details: Mapping[str, Any]) -> str:
        """The threat the record gives, for a health-or-safety disclosure; else empty."""
        field_name = self.declared.threat_field
        if not self.needs_threat or field_name is None:
            return ""
        return str(details.get(field_name) or "")

    def recipient(self, details: Mapping[str, Any]) -> Recipient | None:
        """Who received the information, from the step's details; None when nothing left."""
        when = self.declared.when
        if when is not None and not when.holds(details):
            return None
        return _recipient(self.step, self.declared, details)


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value or "")


def _recipient(
    step: Step, declared: StepDisclosure, details: Mapping[str, Any]
) -> Recipient | None:
    spec = declared.recipient
    value = details.get(spec.field_name)
    named = _text(details.get(spec.named_by)).strip() if spec.named_by else ""
    if step.field(spec.field_name).type == "choice":
        code = str(value or "")
        if code == "" or code in spec.inside:
            return None
        chosen = spec.values.get(code)
        if chosen is None:
            return Recipient(named or code.replace("_", " "), UNDECLARED_RECIPIENT_TYPE)
        return Recipient(named or chosen.name, chosen.type)
    name = named or _text(value) or (spec.if_blank or "")
    if not name:
        return None
    if step.field(spec.field_name).type == "school":
        name = f"school {name}"
    qualifier = _text(details.get(spec.qualifier)) if spec.qualifier else ""
    if qualifier:
        name = f"{name} ({qualifier})"
    return Recipient(name, spec.type or UNDECLARED_RECIPIENT_TYPE)


def disclosure_rule(step: Step) -> DisclosureRule | None:
    """The disclosure STEP's record makes when it is done, as the protocol declares it."""
    if step.discloses is None:
        return None
    return DisclosureRule(step, step.discloses)


def child_abuse_report_rule(definition: Protocol) -> DisclosureRule | None:
    """The disclosure a child abuse report makes: the declaration of the step with the
    ``child_abuse_report`` role, or None when the protocol has no such step or declares none."""
    step = definition.step_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    return disclosure_rule(step) if step is not None else None


def own_report_disclosure(
    definition: Protocol, report: Mapping[str, Any]
) -> tuple[DisclosureRule, Recipient] | None:
    """The disclosure a reporter's own report made, read with the child abuse report step's
    declaration: the rule and the agency it went to. None when the protocol declares none or
    the report names nobody outside the district (the protocol refuses School Police as the
    agency of a child abuse report, so a checked report always names someone)."""
    rule = child_abuse_report_rule(definition)
    if rule is None:
        return None
    recipient = rule.recipient(report)
    return (rule, recipient) if recipient is not None else None
