"""The disclosure log, and the SS 8572, follow the protocol's declarations, not its step ids.

A district's own protocol calls its steps what it likes: the application finds the child
abuse report, the call to the police and the contact with a parent by their step roles,
and logs what each step's ``discloses`` declares.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from safestep.audit.disclosures import disclosure_rule, own_report_disclosure
from safestep.audit.models import Disclosure
from safestep.cases import services
from safestep.cases.selectors import case_definition
from safestep.core.errors import ValidationFailed
from safestep.definitions.services import protocol_load
from safestep.protocol import DISCLOSURE_BASES, RECIPIENT_TYPES, load_protocol_text
from safestep.reports.scar import scar_form

# No step id of the shipped protocol: the roles and declarations are all the code needs.
WELFARE = """\
protocol:
  id: welfare-test
  version: "1"
  title: Welfare test protocol
  jurisdiction: Testland
  time_zone: America/Los_Angeles
roles: [site_admin, counselor, school_police]
steps:
  - id: call_constable
    title: Call the constable
    actors: [site_admin, school_police]
    role: police_involvement
    discloses:
      basis: ferpa_99_36
      categories: [identity, worry]
      threat_field: danger
      recipient:
        field: agency
        inside: [campus_watch]
        values:
          county_constable: {type: law_enforcement}
    fields:
      - name: agency
        label: Which force
        type: choice
        required: true
        choices:
          - {value: campus_watch, label: The campus watch}
          - value: county_constable
            label: County constable (CC)
            report_label: Testland County Constabulary
      - {name: danger, label: The danger, type: text}
  - id: report_to_welfare
    title: Report to the welfare office
    actors: [site_admin, counselor]
    role: child_abuse_report
    deadline: {from: suspicion_formed_at, within: PT36H}
    progress: {title: Phoned in, fields: [agency, phoned_at]}
    done_at: written_submitted_at
    discloses:
      basis: canra_report
      categories: [identity, suspected abuse]
      recipient:
        field: agency
        named_by: agency_name
        values:
          welfare: {type: child_welfare, name: Testland Welfare Office}
          county_constable: {type: law_enforcement, name: Testland County Constabulary}
    fields:
      - name: agency
        label: Agency
        type: choice
        required: true
        choices:
          - {value: welfare, label: Welfare office (WO), report_label: Testland Welfare Office (county)}
          - {value: county_constable, label: County constable (CC)}
      - {name: phoned_at, label: Phoned at, type: datetime, required: true}
      - {name: written_submitted_at, label: Written at, type: datetime, required: true}
      - {name: agency_name, label: Name of the agency, type: string}
      - {name: reference, label: Reference, type: string}
  - id: tell_family
    title: Tell the family
    actors: [site_admin, counselor]
    role: parent_contact
    discloses:
      basis: parent_of_minor
      categories: [worry]
      recipient: {field: contacted_person, type: parent, if_blank: the family, qualifier: relationship}
    fields:
      - {name: contacted_person, label: Who was told, type: string}
      - {name: relationship, label: Relation, type: string}
      - name: method
        label: How
        type: choice
        choices:
          - {value: text_message, label: Text message, report_label: by text message}
pathways:
  - id: victim
    code: V
    title: A victim
    steps: [call_constable, report_to_welfare, tell_family]
"""


def test_the_protocol_names_the_disclosure_vocabulary_of_the_log():
    assert tuple(Disclosure.LegalBasis.values) == DISCLOSURE_BASES
    assert tuple(Disclosure.RecipientType.values) == RECIPIENT_TYPES


def test_it_logs_disclosures_and_fills_the_ss_8572_without_the_shipped_step_ids(district):
    protocol_load(text=WELFARE, source_name="welfare.yaml")
    admin = district["site_admin"]
    case = services.case_open(
        acting_user=admin,
        pathway="victim",
        suspicion_formed_at=timezone.now() - timedelta(hours=3),
        summary="",
        school_code="LIN",
        student=services.StudentInput(sis_id="W-1", first_name="Ana", last_name="Lopez"),
        protocol_id="welfare-test",
    )
    when = timezone.now() - timedelta(hours=1)

    def complete(step_id: str, details: dict[str, object]) -> None:
        case.refresh_from_db()
        services.step_complete(
            acting_user=admin,
            case_id=case.pk,
            step_id=step_id,
            occurred_at=when,
            details=details,
            expected_version=case.version,
        )

    # A health-or-safety disclosure must record its threat, in the declared field.
    case.refresh_from_db()
    with pytest.raises(ValidationFailed) as refused:
        services.step_complete(
            acting_user=admin,
            case_id=case.pk,
            step_id="call_constable",
            occurred_at=when,
            details={"agency": "county_constable"},
            expected_version=case.version,
        )
    assert list(refused.value.errors) == ["details.danger"]
    complete("call_constable", {"agency": "county_constable", "danger": "Met an adult."})
    complete(
        "report_to_welfare",
        {
            "agency": "welfare",
            "phoned_at": when.isoformat(),
            "written_submitted_at": when.isoformat(),
        },
    )
    complete(
        "tell_family", {"contacted_person": "Mai", "relationship": "aunt", "method": "text_message"}
    )

    logged = Disclosure.objects.order_by("id")
    assert [
        (row.step_id, row.recipient, row.recipient_type, row.legal_basis, row.categories)
        for row in logged
    ] == [
        (
            "call_constable",
            "County constable (CC)",
            "law_enforcement",
            "ferpa_99_36",
            ["identity", "worry"],
        ),
        (
            "report_to_welfare",
            "Testland Welfare Office",
            "child_welfare",
            "canra_report",
            ["identity", "suspected abuse"],
        ),
        ("tell_family", "Mai (aunt)", "parent", "parent_of_minor", ["worry"]),
    ]
    assert logged[0].threat == "Met an adult."
    # The campus watch is inside the district: calling it releases nothing.
    constable = disclosure_rule(case_definition(case).step("victim", "call_constable"))
    assert constable is not None and constable.recipient({"agency": "campus_watch"}) is None

    case.refresh_from_db()
    form = scar_form(case, user=admin, now=timezone.now())
    notes = {
        (section, note.label): note.text
        for section, section_notes in form.notes.items()
        for note in section_notes
    }
    # The agency as the definition labels it for the form, whatever its step ids.
    assert form.text("B.agency_name") == "Testland Welfare Office (county)"
    assert notes[("B", "Law enforcement also notified")].startswith(
        "Testland County Constabulary, on "
    )
    assert notes[("D", "Parent or guardian contacted")] == "Mai (aunt), informed by text message"

    # The reporter's own report is read with the child abuse report step's declaration.
    definition = case_definition(case)
    disclosed = own_report_disclosure(definition, {"agency": "county_constable"})
    assert disclosed is not None
    rule, recipient = disclosed
    assert (rule.step.id, rule.legal_basis, rule.categories) == (
        "report_to_welfare",
        "canra_report",
        ("identity", "suspected abuse"),
    )
    assert (recipient.name, recipient.type) == ("Testland County Constabulary", "law_enforcement")
    named = own_report_disclosure(definition, {"agency": "welfare", "agency_name": "Region 4"})
    assert named is not None and named[1].name == "Region 4"


FAMILY_DISCLOSES = (
    "    discloses:\n"
    "      basis: parent_of_minor\n"
    "      categories: [worry]\n"
    "      recipient: {field: contacted_person, type: parent, if_blank: the family, "
    "qualifier: relationship}\n"
)


def test_a_step_without_a_declaration_discloses_nothing():
    assert FAMILY_DISCLOSES in WELFARE
    step = load_protocol_text(WELFARE.replace(FAMILY_DISCLOSES, "")).step("victim", "tell_family")
    assert disclosure_rule(step) is None


def test_a_condition_and_a_blank_name_follow_the_declaration():
    with_condition = FAMILY_DISCLOSES.replace(
        "      recipient:", "      when: {field: method, is: text_message}\n      recipient:"
    )
    step = load_protocol_text(WELFARE.replace(FAMILY_DISCLOSES, with_condition)).step(
        "victim", "tell_family"
    )
    rule = disclosure_rule(step)
    assert rule is not None and rule.declared.when is not None
    # Not told by text message: nothing left the district.
    assert rule.recipient({"contacted_person": "Mai"}) is None
    blank = rule.recipient({"method": "text_message"})
    assert blank is not None and (blank.name, blank.type) == ("the family", "parent")
    # Only a health-or-safety disclosure records a threat.
    assert rule.threat({"contacted_person": "Mai"}) == ""
