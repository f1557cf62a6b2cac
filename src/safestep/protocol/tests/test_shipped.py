"""The shipped definition matches the protocol step for step.

The expected values below are copied from the protocol reference (the three pathway
tables, "Names the software uses") and the step-actor table of the access rules.
"""

from __future__ import annotations

import pytest

from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_PLACEMENT_REVIEW,
    DetailIs,
    FactIs,
    Progress,
    Protocol,
    load_protocol_file,
    parse_duration,
    shipped_protocol_paths,
)

PATHWAYS = {
    "recruitment_by_student": (
        "A",
        ["police_involved", "campus_impact", "school_consequences"],
    ),
    "suspected_victim": (
        "B",
        [
            "police_involved",
            "cws_report",
            "campus_impact",
            "le_trafficking_entry",
            "parent_contact",
            "service_referral",
            "regular_contact",
        ],
    ),
    "confirmed_victim": (
        "C",
        [
            "police_involved",
            "cws_report",
            "campus_impact",
            "police_investigation",
            "le_trafficking_entry",
            "parent_contact",
            "placement_review",
            "service_referral",
        ],
    ),
}

ACTORS = {
    "police_involved": ("site_admin", "school_police", "district_coordinator"),
    "campus_impact": ("site_admin", "district_coordinator"),
    "school_consequences": ("site_admin", "district_coordinator"),
    "cws_report": ("site_admin", "counselor", "district_coordinator"),
    "le_trafficking_entry": ("school_police",),
    "police_investigation": ("school_police",),
    "parent_contact": ("site_admin", "counselor", "district_coordinator"),
    "service_referral": ("site_admin", "counselor", "district_coordinator"),
    "regular_contact": ("site_admin", "counselor", "district_coordinator"),
    "placement_review": ("site_admin", "placement_office", "district_coordinator"),
}

# field name -> (type, required, choices); choices None means "not a choice or
# multi_choice field".
FIELDS = {
    "police_involved": {
        "agency": ("choice", True, ("school_police", "sdpd", "other")),
        # Beyond the reference: the agency's name when "other", and the threat a FERPA
        # health-or-safety disclosure must record (34 CFR 99.32(a)(5)).
        "agency_name": ("string", False, None),
        "officer": ("string", False, None),
        "police_report_number": ("string", False, None),
        "threat": ("text", False, None),
    },
    "campus_impact": {
        "findings": ("text", True, None),
        "other_students_involved": ("yes_no", True, None),
        "safety_measures": ("text", False, None),
    },
    "school_consequences": {
        "consequence": ("text", True, None),
        "expulsion_recommended": ("yes_no", True, None),
        "referred_for_criminal_investigation": ("yes_no", True, None),
        "referred_to": ("choice", False, ("school_police", "sdpd", "other")),
        "agency_name": ("string", False, None),
        "threat": ("text", False, None),
    },
    "cws_report": {
        "agency": ("choice", True, ("cws", "sdpd", "sheriff", "other_law_enforcement")),
        "phoned_at": ("datetime", True, None),
        "written_submitted_at": ("datetime", True, None),
        "agency_name": ("string", False, None),
        "reference": ("string", False, None),
        # Beyond the reference: what else the SS 8572 asks (see FORM_FIELDS).
        "reporter_witnessed": ("yes_no", False, None),
        "official_contacted": ("string", False, None),
        "official_title": ("string", False, None),
        "official_phone": ("string", False, None),
        "abuse_types": (
            "multi_choice",
            False,
            ("physical", "mental", "sexual", "neglect", "other"),
        ),
        "abuse_other": ("string", False, None),
        "relationship_to_suspect": ("string", False, None),
        "photos_taken": ("yes_no", False, None),
        "resulted_in_death": ("choice", False, ("yes", "no", "unknown")),
        "incident_at": ("datetime", False, None),
        "incident_place": ("string", False, None),
    },
    "le_trafficking_entry": {"le_reference": ("string", False, None)},
    "police_investigation": {
        "agency": ("choice", True, ("school_police", "sdpd", "other")),
        "unit": ("string", False, None),
        "case_number": ("string", False, None),
    },
    "parent_contact": {
        "victim_consulted": ("yes_no", True, None),
        # Beyond the reference: the person contacted, chosen among the case's people.
        "contact": ("person", False, None),
        "contacted_person": ("string", False, None),
        "relationship": ("string", False, None),
        "method": ("choice", False, ("phone", "in_person", "letter", "other")),
    },
    "service_referral": {
        "offered_to": ("choice", True, ("student", "family", "both")),
        "services": ("list", True, None),
        "response": ("choice", True, ("accepted", "declined", "pending")),
    },
    "regular_contact": {
        "every_days": ("integer", True, None),
        "assignee": ("user", True, None),
    },
    "placement_review": {
        "decision": ("choice", True, ("stays", "transfer")),
        "reason": ("text", True, None),
        "new_school": ("school", False, None),
        "transfer_completed_at": ("datetime", False, None),
    },
}


def test_it_ships_exactly_one_definition_which_loads(shipped: Protocol):
    assert [path.name for path in shipped_protocol_paths()] == ["sdusd-csec.yaml"]
    assert load_protocol_file(shipped_protocol_paths()[0]) == shipped


def test_it_names_and_dates_the_protocol(shipped: Protocol):
    assert (shipped.id, shipped.version) == ("sdusd-csec", "2012-03")
    assert shipped.time_zone == "America/Los_Angeles"
    assert "San Diego Unified School District" in shipped.jurisdiction
    assert "California" in shipped.jurisdiction
    assert shipped.roles == (
        "reporter",
        "site_admin",
        "counselor",
        "school_police",
        "placement_office",
        "district_coordinator",
        "auditor",
    )


def test_it_has_the_three_pathways_with_their_steps_in_order(shipped: Protocol):
    assert [p.id for p in shipped.pathways] == list(PATHWAYS)
    for pathway in shipped.pathways:
        code, step_ids = PATHWAYS[pathway.id]
        assert pathway.code == code
        assert list(pathway.step_ids) == step_ids
        assert [s.number for s in pathway.steps] == list(range(1, len(step_ids) + 1))
        assert [s.code for s in pathway.steps] == [
            f"{code}{n}" for n in range(1, len(step_ids) + 1)
        ]
        assert all(step.title and step.guidance for step in pathway.steps)


def test_it_lets_the_roles_of_the_access_table_act_on_each_step(shipped: Protocol):
    for pathway in shipped.pathways:
        for step in pathway.steps:
            assert step.actor_roles == ACTORS[step.id], (pathway.id, step.id)


def test_it_records_the_reference_fields_on_each_step(shipped: Protocol):
    for pathway in shipped.pathways:
        for step in pathway.steps:
            actual = {
                f.name: (
                    f.type,
                    f.required,
                    f.choices if f.type in ("choice", "multi_choice") else None,
                )
                for f in step.fields
            }
            assert actual == FIELDS[step.id], (pathway.id, step.id)


def test_it_gates_b2_and_b4_on_facts_and_not_c2_and_c5(shipped: Protocol):
    assert shipped.step("suspected_victim", "cws_report").condition == FactIs(
        "abuse_or_neglect_suspected", True
    )
    assert shipped.step("suspected_victim", "le_trafficking_entry").condition == FactIs(
        "reliable_evidence", True
    )
    assert shipped.step("confirmed_victim", "cws_report").condition is None
    assert shipped.step("confirmed_victim", "le_trafficking_entry").condition is None
    conditional = {
        (pathway.id, step.id)
        for pathway in shipped.pathways
        for step in pathway.steps
        if step.condition is not None
    }
    assert conditional == {
        ("suspected_victim", "cws_report"),
        ("suspected_victim", "le_trafficking_entry"),
    }


def test_it_declares_the_two_facts(shipped: Protocol):
    assert [f.id for f in shipped.facts] == ["abuse_or_neglect_suspected", "reliable_evidence"]
    abuse = shipped.fact("abuse_or_neglect_suspected")
    assert (abuse.reason_required_when, abuse.review_when) == (False, False)
    evidence = shipped.fact("reliable_evidence")
    assert (evidence.reason_required_when, evidence.review_when) == (None, None)


def test_it_keeps_police_steps_for_school_police_after_police_involvement(shipped: Protocol):
    for pathway in shipped.pathways:
        for step in pathway.steps:
            police = step.id in ("le_trafficking_entry", "police_investigation")
            assert step.police_only is police, step.id
            assert step.depends_on == (("police_involved",) if police else ()), step.id
            if police:
                assert all(f.police_only for f in step.fields)
            else:
                assert not any(f.police_only for f in step.fields)


def test_it_gives_the_cws_report_its_legal_deadline_and_refusal(shipped: Protocol):
    for pathway_id in ("suspected_victim", "confirmed_victim"):
        step = shipped.step(pathway_id, "cws_report")
        assert step.deadline is not None
        assert step.deadline.anchor == "suspicion_formed_at"
        assert step.deadline.within == parse_duration("PT36H")
        assert step.deadline.within_text == "PT36H"
        agency = step.field("agency")
        assert "school_police" not in agency.choices
        assert agency.refused["school_police"].startswith(
            "A report to School Police alone does not satisfy the law: PC 11165.9 excludes "
            "school police"
        )


def test_it_always_requires_the_report_for_a_confirmed_victim(shipped: Protocol):
    b2 = shipped.step("suspected_victim", "cws_report")
    c2 = shipped.step("confirmed_victim", "cws_report")
    assert (b2.code, b2.may_not_apply, b2.review_when_not_applicable) == ("B2", True, True)
    assert (c2.code, c2.may_not_apply, c2.review_when_not_applicable) == ("C2", False, False)


def test_it_records_the_report_phoned_in_then_done_when_the_written_report_was_sent(
    shipped: Protocol,
):
    for pathway_id in ("suspected_victim", "confirmed_victim"):
        step = shipped.step(pathway_id, "cws_report")
        assert step.progress == Progress("Phoned in", ("agency", "phoned_at"))
        assert step.done_at_field == "written_submitted_at"
        assert step.field("phoned_at").not_before == ("suspicion_formed_at",)
        assert step.field("written_submitted_at").not_before == (
            "phoned_at",
            "suspicion_formed_at",
        )
    with_progress = {s.id for p in shipped.pathways for s in p.steps if s.progress}
    with_done_at = {s.id for p in shipped.pathways for s in p.steps if s.done_at_field}
    assert with_progress == with_done_at == {"cws_report"}


def test_it_names_the_steps_the_application_needs_to_find(shipped: Protocol):
    assert shipped.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT) == "cws_report"
    assert shipped.step_id_with_role(STEP_ROLE_PLACEMENT_REVIEW) == "placement_review"
    roles = {(s.id, s.role) for p in shipped.pathways for s in p.steps if s.role}
    assert roles == {
        ("cws_report", "child_abuse_report"),
        ("placement_review", "placement_review"),
        ("police_involved", "police_involvement"),
        ("parent_contact", "parent_contact"),
    }


def test_it_lets_school_police_and_the_coordinator_judge_the_evidence(shipped: Protocol):
    assert shipped.fact("reliable_evidence").actor_roles == (
        "school_police",
        "district_coordinator",
    )
    assert shipped.fact("abuse_or_neglect_suspected").actor_roles == ()


def test_it_sets_police_involvement_due_a_day_after_opening_and_no_other_deadline(
    shipped: Protocol,
):
    deadlines = {
        (step.id, step.deadline.anchor, step.deadline.within_text)
        for pathway in shipped.pathways
        for step in pathway.steps
        if step.deadline is not None
    }
    assert deadlines == {
        ("police_involved", "case_opened_at", "P1D"),
        ("cws_report", "suspicion_formed_at", "PT36H"),
    }


def test_it_makes_parent_contact_a_decision_that_records_the_consultation(shipped: Protocol):
    for pathway_id in ("suspected_victim", "confirmed_victim"):
        step = shipped.step(pathway_id, "parent_contact")
        assert step.may_not_apply and not step.review_when_not_applicable
        consulted = step.field("victim_consulted")
        assert consulted.required and consulted.record_either_way
    may_not_apply = {s.id for p in shipped.pathways for s in p.steps if s.may_not_apply}
    assert may_not_apply == {"cws_report", "parent_contact"}


def test_it_makes_regular_contact_a_recurring_plan(shipped: Protocol):
    step = shipped.step("suspected_victim", "regular_contact")
    assert step.recurring
    assert step.field("every_days").minimum == 1
    recurring = {s.id for p in shipped.pathways for s in p.steps if s.recurring}
    assert recurring == {"regular_contact"}


@pytest.mark.parametrize(
    ("b_code", "c_code"),
    [("B1", "C1"), ("B2", "C2"), ("B3", "C3"), ("B4", "C5"), ("B5", "C6"), ("B6", "C8")],
)
def test_it_carries_each_suspected_victim_step_to_its_confirmed_step(shipped, b_code, c_code):
    escalation = shipped.escalation("suspected_victim", "confirmed_victim")
    assert escalation is not None
    b_step = next(s for s in shipped.pathway("suspected_victim").steps if s.code == b_code)
    c_step = next(s for s in shipped.pathway("confirmed_victim").steps if s.code == c_code)
    assert b_step.id == c_step.id
    assert b_step.id in escalation.carries


def test_it_declares_one_escalation_from_suspected_to_confirmed_with_c4_and_c7_new(
    shipped: Protocol,
):
    assert [(e.from_pathway, e.to_pathway) for e in shipped.escalations] == [
        ("suspected_victim", "confirmed_victim")
    ]
    escalation = shipped.escalations[0]
    assert escalation.carries == (
        "police_involved",
        "cws_report",
        "campus_impact",
        "le_trafficking_entry",
        "parent_contact",
        "service_referral",
    )
    confirmed = shipped.pathway("confirmed_victim")
    new = [s.code for s in confirmed.steps if s.id not in escalation.carries]
    assert new == ["C4", "C7"]


def test_it_ships_screening_indicators_that_choose_nothing(shipped: Protocol):
    assert 15 <= len(shipped.indicators) <= 20
    groups = {indicator.group for indicator in shipped.indicators}
    assert groups == {"behavioral", "physical", "social", "school"}
    assert len({i.id for i in shipped.indicators}) == len(shipped.indicators)
    # Indicators inform a person; no condition may depend on one.
    assert not {i.id for i in shipped.indicators} & {f.id for f in shipped.facts}


# SS 8572 field -> the cws_report field that fills it.
FORM_FIELDS = {
    "B.agency": "agency",
    "B.contacted_at": "phoned_at",
    "B.written_report_at": "written_submitted_at",
    "B.agency_name": "agency_name",
    "B.report_number": "reference",
    "A.witnessed": "reporter_witnessed",
    "B.official_name": "official_contacted",
    "B.official_title": "official_title",
    "B.official_phone": "official_phone",
    "C.abuse_type": "abuse_types",
    "C.abuse_type_other": "abuse_other",
    "C.relationship_to_suspect": "relationship_to_suspect",
    "C.photos_taken": "photos_taken",
    "C.resulted_in_death": "resulted_in_death",
    "E.incident_at": "incident_at",
    "E.incident_place": "incident_place",
}


def test_it_says_which_field_of_the_ss_8572_each_report_detail_fills(shipped: Protocol):
    found = shipped.fields_for_form()
    assert {name: spec.name for name, (_, spec) in found.items()} == FORM_FIELDS
    assert list(found) == list(FORM_FIELDS)  # in the order the fields are listed
    assert {step.id for step, _ in found.values()} == {"cws_report"}
    report = shipped.step("suspected_victim", "cws_report")
    assert report.field("abuse_types").choice_labels == {
        "physical": "Physical",
        "mental": "Mental",
        "sexual": "Sexual",
        "neglect": "Neglect",
        "other": "Other",
    }
    death = report.field("resulted_in_death")
    assert death.choice_labels == {"yes": "Yes", "no": "No", "unknown": "Unknown"}
    assert report.field("incident_at").not_before == ()
    # Only the fields the 36-hour duty needs are required; the rest may follow later.
    assert [f.name for f in report.fields if f.required] == [
        "agency",
        "phoned_at",
        "written_submitted_at",
    ]


def test_it_requires_the_new_school_only_for_a_transfer(shipped: Protocol):
    new_school = shipped.step("confirmed_victim", "placement_review").field("new_school")
    assert not new_school.required
    assert new_school.required_when == DetailIs("decision", "transfer")
    assert new_school.help == (
        "Required for a transfer. The transfer itself is recorded when it is completed "
        "(Transfer on the case page)."
    )
    with_condition = {
        (s.id, f.name)
        for p in shipped.pathways
        for s in p.steps
        for f in s.fields
        if f.required_when
    }
    assert with_condition == {("placement_review", "new_school")}


def test_it_lets_the_parent_contact_name_a_person_on_the_case(shipped: Protocol):
    for pathway_id in ("suspected_victim", "confirmed_victim"):
        contact = shipped.step(pathway_id, "parent_contact").field("contact")
        assert (contact.type, contact.required) == ("person", False)
        assert contact.label == "Person contacted (from the case's people)"
        assert contact.help == "A parent or guardian who may be involved cannot be chosen."


@pytest.mark.parametrize(
    ("source", "target", "lower"),
    [
        ("confirmed_victim", "suspected_victim", True),
        ("suspected_victim", "recruitment_by_student", True),
        ("confirmed_victim", "recruitment_by_student", True),
        ("recruitment_by_student", "suspected_victim", False),
        ("recruitment_by_student", "confirmed_victim", False),
        ("suspected_victim", "confirmed_victim", False),
    ],
)
def test_it_lists_the_pathways_from_the_least_to_the_most_serious(
    shipped: Protocol, source, target, lower
):
    assert shipped.is_lower(source, target) is lower
