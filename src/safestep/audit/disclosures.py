"""Which protocol steps disclose a student's information outside the school.

FERPA (34 CFR 99.32(a)(5)) requires a record of each disclosure made under the health or
safety exception, and CANRA reports are disclosures the district must be able to account
for. A step's record says to whom; this table says what and on what legal basis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from safestep.audit.models import Disclosure


@dataclass(frozen=True)
class DisclosureRule:
    categories: tuple[str, ...]
    legal_basis: str
    # The recipient from the step's details, or None when nothing left the school.
    recipient: Callable[[Mapping[str, Any]], str | None]


def _agency(details: Mapping[str, Any]) -> str | None:
    agency = str(details.get("agency") or "")
    # The district's own police are part of the district (a law-enforcement unit).
    return None if agency in ("", "school_police") else agency


def _parent(details: Mapping[str, Any]) -> str | None:
    person = str(details.get("contacted_person") or "a parent or guardian")
    relationship = str(details.get("relationship") or "")
    return f"{person} ({relationship})" if relationship else person


def _new_school(details: Mapping[str, Any]) -> str | None:
    if details.get("decision") != "transfer":
        return None
    return f"school {details.get('new_school') or '(not yet named)'}"


def _services(details: Mapping[str, Any]) -> str | None:
    if details.get("response") != "accepted":
        return None
    services = details.get("services") or []
    return ", ".join(str(item) for item in services) or None


DISCLOSING_STEPS: dict[str, DisclosureRule] = {
    "police_involved": DisclosureRule(
        ("identity", "suspected exploitation"), Disclosure.LegalBasis.HEALTH_OR_SAFETY, _agency
    ),
    "cws_report": DisclosureRule(
        ("identity", "suspected abuse", "reporter's observations"),
        Disclosure.LegalBasis.CANRA_REPORT,
        _agency,
    ),
    "parent_contact": DisclosureRule(
        ("potential victimization",), Disclosure.LegalBasis.HEALTH_OR_SAFETY, _parent
    ),
    "placement_review": DisclosureRule(
        ("identity", "placement need"), Disclosure.LegalBasis.HEALTH_OR_SAFETY, _new_school
    ),
    "service_referral": DisclosureRule(
        ("identity", "referral need"), Disclosure.LegalBasis.CONSENT, _services
    ),
}
