"""Which protocol steps disclose a student's information outside the school, and to whom.

FERPA (34 CFR 99.32(a)(5)) requires a record of each disclosure made under the health or
safety exception, with the articulable and significant threat that justified it, and CANRA
reports are disclosures the district must be able to account for. A step's record says to
whom; this table says what, to what kind of recipient, and on what legal basis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from safestep.audit.models import Disclosure

Basis = Disclosure.LegalBasis
Kind = Disclosure.RecipientType

# The agencies the shipped protocol's choices name, as a disclosure log should read them.
AGENCY_NAMES: dict[str, str] = {
    "cws": "Child Welfare Services",
    "sdpd": "San Diego Police Department",
    "sheriff": "Sheriff's Department",
    "other_law_enforcement": "Another law enforcement agency",
    "other": "Another agency",
}
CHILD_WELFARE_AGENCIES = frozenset({"cws"})
# The district's own police are part of the district (a law-enforcement unit): a call to
# them releases nothing outside it.
DISTRICT_POLICE = "school_police"


@dataclass(frozen=True)
class Recipient:
    name: str
    type: str


@dataclass(frozen=True)
class DisclosureRule:
    categories: tuple[str, ...]
    legal_basis: str
    # Who received the information, from the step's details; None when nothing left.
    recipient: Callable[[Mapping[str, Any]], Recipient | None]

    @property
    def needs_threat(self) -> bool:
        """Disclosures under the health-or-safety exception must record the threat (99.32)."""
        return self.legal_basis == Basis.HEALTH_OR_SAFETY


def _agency_name(details: Mapping[str, Any], field: str = "agency") -> str:
    named = str(details.get("agency_name") or "").strip()
    if named:
        return named
    code = str(details.get(field) or "")
    return AGENCY_NAMES.get(code, code.replace("_", " "))


def agency_recipient(details: Mapping[str, Any], field: str = "agency") -> Recipient | None:
    agency = str(details.get(field) or "")
    if agency in ("", DISTRICT_POLICE):
        return None
    kind = Kind.CHILD_WELFARE if agency in CHILD_WELFARE_AGENCIES else Kind.LAW_ENFORCEMENT
    return Recipient(_agency_name(details, field), kind)


def _police(details: Mapping[str, Any]) -> Recipient | None:
    return agency_recipient(details)


def _criminal_referral(details: Mapping[str, Any]) -> Recipient | None:
    if details.get("referred_for_criminal_investigation") is not True:
        return None
    return agency_recipient(details, "referred_to")


def _parent(details: Mapping[str, Any]) -> Recipient | None:
    person = str(details.get("contacted_person") or "a parent or guardian")
    relationship = str(details.get("relationship") or "")
    return Recipient(f"{person} ({relationship})" if relationship else person, Kind.PARENT)


def _new_school(details: Mapping[str, Any]) -> Recipient | None:
    if details.get("decision") != "transfer":
        return None
    return Recipient(f"school {details.get('new_school') or '(not yet named)'}", Kind.SCHOOL)


def _services(details: Mapping[str, Any]) -> Recipient | None:
    if details.get("response") != "accepted":
        return None
    services = ", ".join(str(item) for item in details.get("services") or [])
    return Recipient(services, Kind.SERVICE_PROVIDER) if services else None


CHILD_ABUSE_REPORT_RULE = DisclosureRule(
    ("identity", "suspected abuse", "reporter's observations"), Basis.CANRA_REPORT, _police
)

DISCLOSING_STEPS: dict[str, DisclosureRule] = {
    "police_involved": DisclosureRule(
        ("identity", "suspected exploitation"), Basis.HEALTH_OR_SAFETY, _police
    ),
    "cws_report": CHILD_ABUSE_REPORT_RULE,
    "school_consequences": DisclosureRule(
        ("identity", "suspected recruitment"), Basis.HEALTH_OR_SAFETY, _criminal_referral
    ),
    # School Police passing their own investigation on: a law-enforcement unit's record.
    "police_investigation": DisclosureRule(
        ("identity", "investigation"), Basis.LAW_ENFORCEMENT_UNIT, _police
    ),
    "parent_contact": DisclosureRule(("potential victimization",), Basis.PARENT, _parent),
    "placement_review": DisclosureRule(
        ("identity", "placement need"), Basis.SCHOOL_TRANSFER, _new_school
    ),
    "service_referral": DisclosureRule(("identity", "referral need"), Basis.CONSENT, _services),
}


def own_report_disclosure(report: Mapping[str, Any]) -> Recipient:
    """The agency a reporter's own report went to (never School Police: the protocol
    refuses that agency for a child abuse report)."""
    recipient = agency_recipient(report)
    assert recipient is not None, "a child abuse report always leaves the district"
    return recipient
