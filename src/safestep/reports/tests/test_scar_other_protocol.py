"""Another district's protocol fills the SS 8572 through its declarations, not step ids.

Its steps name the form fields they fill (``form_field``), its agencies are its own choice
values, and the boxes of the agency notified follow the recipient types its disclosures
declare. A police-only step's details never reach the form, whatever field it names.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from safestep.cases import services
from safestep.definitions.services import protocol_load
from safestep.reports.scar import CHECKED, UNCHECKED, render_scar_pdf, scar_form
from safestep.reports.tests.test_scar import pdf_text

TESTLAND = """\
protocol:
  id: testland-form
  version: "1"
  title: Testland protocol
  jurisdiction: Testland
  time_zone: America/Los_Angeles
roles: [site_admin, counselor, school_police]
steps:
  - id: tell_the_office
    title: Tell the welfare office
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
        values:
          welfare: {type: child_welfare, name: Testland Welfare Office}
          constable: {type: law_enforcement, name: Testland Constabulary}
    fields:
      - name: agency
        label: Agency
        type: choice
        required: true
        form_field: B.agency
        choices:
          - {value: welfare, label: Welfare office, report_label: Testland Welfare Office (county)}
          - {value: constable, label: Constable}
      - {name: phoned_at, label: Phoned at, type: datetime, required: true, form_field: B.contacted_at}
      - {name: written_submitted_at, label: Written at, type: datetime, required: true}
      - {name: reference, label: Reference, type: string}
      - {name: saw_it, label: "Saw it?", type: yes_no, form_field: A.witnessed}
      - {name: caseworker, label: Caseworker, type: string, form_field: B.official_name}
      - name: harm
        label: Harm
        type: multi_choice
        form_field: C.abuse_type
        choices:
          - {value: physical, label: Physical}
          - {value: sexual, label: Sexual}
  - id: note_the_scene
    title: Note where it happened
    actors: [site_admin]
    fields:
      - {name: where, label: Where, type: string, form_field: E.incident_place}
  - id: police_file
    title: Police file
    actors: [school_police]
    police_only: true
    fields:
      - {name: secret, label: Secret, type: string, form_field: C.abuse_type_other}
pathways:
  - id: victim
    code: V
    title: A victim
    steps: [tell_the_office, note_the_scene, police_file]
"""


def test_a_protocols_own_declarations_fill_the_form(district):
    protocol_load(text=TESTLAND, source_name="testland.yaml")
    admin = district["site_admin"]
    case = services.case_open(
        acting_user=admin,
        pathway="victim",
        suspicion_formed_at=timezone.now() - timedelta(hours=3),
        summary="",
        school_code="LIN",
        student=services.StudentInput(sis_id="T-1", first_name="Ana", last_name="Lopez"),
        protocol_id="testland-form",
    )
    when = timezone.now() - timedelta(hours=1)

    def complete(step_id: str, details: dict[str, object], by: str = "site_admin") -> None:
        case.refresh_from_db()
        services.step_complete(
            acting_user=district[by],
            case_id=case.pk,
            step_id=step_id,
            occurred_at=when,
            details=details,
            expected_version=case.version,
        )

    complete(
        "tell_the_office",
        {
            "agency": "constable",
            "phoned_at": when.isoformat(),
            "written_submitted_at": when.isoformat(),
            "reference": "TL-9",
            "saw_it": True,
            "caseworker": "Officer Quill",
            "harm": ["physical"],
        },
    )
    complete("note_the_scene", {"where": "The bus depot"})
    complete("police_file", {"secret": "POLICE-ONLY-SECRET"}, by="school_police")
    case.refresh_from_db()

    for user in (admin, district["district_coordinator"]):
        form = scar_form(case, user=user, now=timezone.now())
        # The agency's box from its disclosure type; its name as the definition words it.
        assert form.checked("B.agency") == {"law_enforcement"}
        assert form.text("B.agency_name") == "Constable"
        assert form.checked("A.witnessed") == {"yes"}
        assert form.text("B.official_name") == "Officer Quill"
        assert form.checked("C.abuse_type") == {"physical"}
        assert form.text("E.incident_place") == "The bus depot"
        # Not declared, but the report step's reference still fills the agency's number.
        assert form.text("B.report_number") == "TL-9"
        assert form.text("C.abuse_type_other") == ""
        text = pdf_text(render_scar_pdf(form))
        assert "POLICE-ONLY-SECRET" not in text
        assert f"{CHECKED} Law enforcement {UNCHECKED} County probation" in text
        assert "Place of incident The bus depot" in text
