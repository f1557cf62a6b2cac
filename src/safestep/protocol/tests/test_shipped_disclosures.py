"""The shipped definition declares what SafeStep used to know by step id: which steps
disclose what to whom, and the words for the choices the pages and the SS 8572 show."""

from __future__ import annotations

from safestep.protocol import (
    STEP_ROLE_PARENT_CONTACT,
    STEP_ROLE_POLICE_INVOLVEMENT,
    DetailIs,
    Protocol,
    RecipientValue,
    Step,
)

# step id -> (basis, categories, recipient field, condition, threat field)
DISCLOSES = {
    "police_involved": (
        "ferpa_99_36",
        ("identity", "suspected exploitation"),
        "agency",
        None,
        "threat",
    ),
    "cws_report": (
        "canra_report",
        ("identity", "suspected abuse", "reporter's observations"),
        "agency",
        None,
        None,
    ),
    "school_consequences": (
        "ferpa_99_36",
        ("identity", "suspected recruitment"),
        "referred_to",
        DetailIs("referred_for_criminal_investigation", True),
        "threat",
    ),
    "police_investigation": (
        "law_enforcement_unit",
        ("identity", "investigation"),
        "agency",
        None,
        None,
    ),
    "parent_contact": (
        "parent_of_minor",
        ("potential victimization",),
        "contacted_person",
        None,
        None,
    ),
    "placement_review": (
        "school_transfer",
        ("identity", "placement need"),
        "new_school",
        DetailIs("decision", "transfer"),
        None,
    ),
    "service_referral": (
        "consent",
        ("identity", "referral need"),
        "services",
        DetailIs("response", "accepted"),
        None,
    ),
}
POLICE_RECIPIENTS = {
    "sdpd": RecipientValue("law_enforcement", "San Diego Police Department"),
    "other": RecipientValue("law_enforcement", "Another agency"),
}


def library(shipped: Protocol) -> dict[str, Step]:
    steps: dict[str, Step] = {}
    for pathway in shipped.pathways:
        for step in pathway.steps:
            steps.setdefault(step.id, step)
    return steps


def test_it_declares_each_disclosing_step_and_no_other(shipped: Protocol):
    steps = library(shipped)
    declared = {step_id: step.discloses for step_id, step in steps.items() if step.discloses}
    assert set(declared) == set(DISCLOSES)
    for step_id, (basis, categories, field_name, when, threat) in DISCLOSES.items():
        rule = declared[step_id]
        assert rule is not None
        assert (rule.basis, rule.categories, rule.recipient.field_name) == (
            basis,
            categories,
            field_name,
        ), step_id
        assert (rule.when, rule.threat_field) == (when, threat), step_id


def test_it_keeps_a_call_to_school_police_inside_the_district(shipped: Protocol):
    steps = library(shipped)
    for step_id in ("police_involved", "school_consequences", "police_investigation"):
        recipient = steps[step_id].discloses.recipient  # type: ignore[union-attr]
        assert recipient.inside == ("school_police",), step_id
        assert dict(recipient.values) == POLICE_RECIPIENTS, step_id
    report = steps["cws_report"].discloses.recipient  # type: ignore[union-attr]
    assert (report.inside, report.named_by) == ((), "agency_name")
    assert dict(report.values) == {
        "cws": RecipientValue("child_welfare", "Child Welfare Services"),
        "sdpd": RecipientValue("law_enforcement", "San Diego Police Department"),
        "sheriff": RecipientValue("law_enforcement", "Sheriff's Department"),
        "other_law_enforcement": RecipientValue(
            "law_enforcement", "Another law enforcement agency"
        ),
    }
    parent = steps["parent_contact"].discloses.recipient  # type: ignore[union-attr]
    assert (parent.type, parent.if_blank, parent.qualifier) == (
        "parent",
        "a parent or guardian",
        "relationship",
    )
    school = steps["placement_review"].discloses.recipient  # type: ignore[union-attr]
    assert (school.type, school.if_blank) == ("school", "(not yet named)")
    services = steps["service_referral"].discloses.recipient  # type: ignore[union-attr]
    assert (services.type, services.if_blank) == ("service_provider", None)


def test_it_gives_the_ss_8572_the_police_and_the_parent_steps(shipped: Protocol):
    assert shipped.step_id_with_role(STEP_ROLE_POLICE_INVOLVEMENT) == "police_involved"
    assert shipped.step_id_with_role(STEP_ROLE_PARENT_CONTACT) == "parent_contact"


def test_it_labels_every_choice_of_every_choice_field(shipped: Protocol):
    for step in library(shipped).values():
        for spec in step.fields:
            if spec.type in ("choice", "multi_choice"):
                assert set(spec.choice_labels) == set(spec.choices), (step.id, spec.name)


def test_it_words_the_agencies_and_methods_as_the_pages_and_the_ss_8572_did(shipped: Protocol):
    steps = library(shipped)
    report = steps["cws_report"].field("agency")
    assert dict(report.choice_labels) == {
        "cws": "Child Welfare Services (CWS)",
        "sdpd": "San Diego Police Department (SDPD)",
        "sheriff": "Sheriff",
        "other_law_enforcement": "Other law enforcement",
    }
    assert dict(report.report_labels) == {
        "cws": "Child Welfare Services (county)",
        "sdpd": "San Diego Police Department",
        "sheriff": "Sheriff's Department",
        "other_law_enforcement": "Other law enforcement agency",
    }
    for step_id, name in (
        ("police_involved", "agency"),
        ("school_consequences", "referred_to"),
        ("police_investigation", "agency"),
    ):
        police = steps[step_id].field(name)
        assert dict(police.choice_labels) == {
            "school_police": "School Police",
            "sdpd": "San Diego Police Department (SDPD)",
            "other": "Other",
        }
        assert dict(police.report_labels) == {
            "sdpd": "San Diego Police Department",
            "other": "Other agency",
        }
    method = steps["parent_contact"].field("method")
    assert dict(method.report_labels) == {
        "phone": "by phone",
        "in_person": "in person",
        "letter": "by letter",
    }
    assert steps["service_referral"].field("response").choice_label("pending") == "No answer yet"
    assert steps["placement_review"].field("decision").choice_label("stays") == (
        "The student stays at this school"
    )
