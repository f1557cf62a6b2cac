"""A case's timeline tells its work in words, from the descriptions in ``audit.actions``."""

from __future__ import annotations

import pytest

from safestep.audit.actions import Action
from safestep.web.case_page import describe_event

STEPS = {"cws_report": "B2 Report to CWS"}
PATHWAYS = {"csec": "A · Suspected CSEC", "other": "B · Other"}


def words(action: str, payload: dict | None = None, **extra) -> str:
    event = {"action": action, "payload": payload or {}, **extra}
    return describe_event(event, STEPS, PATHWAYS)


@pytest.mark.parametrize(
    ("action", "payload", "extra", "expected"),
    [
        ("case.open", {"pathway": "csec"}, {}, "Opened the case on pathway “A · Suspected CSEC”."),
        ("case.read", {}, {}, "Viewed the case."),
        (
            "step.complete",
            {"late": False},
            {"step": "cws_report"},
            "Recorded B2 Report to CWS as done.",
        ),
        (
            "step.complete",
            {"late": True},
            {"step": "cws_report", "sensitive": {"reason": "phones down"}},
            "Recorded B2 Report to CWS as done, after its due time. Reason: phones down",
        ),
        (
            "review.decide",
            {"kind": "report_waived", "decision": "overruled"},
            {"sensitive": {"comment": "report it"}},
            "Overruled the decision under review: Child abuse report marked as not applicable."
            " Comment: report it",
        ),
        (
            "case.escalate",
            {"from": "csec", "to": "other"},
            {},
            "Moved the case from “A · Suspected CSEC” to “B · Other”.",
        ),
        (
            "checkin.plan_set",
            {"every_days": 7, "assignee": "rita"},
            {},
            "Set the check-ins: every 7 days, kept by rita.",
        ),
        ("case.link", {"reference": "CSEC-2025-0002"}, {}, "Linked this case to CSEC-2025-0002."),
    ],
)
def test_it_tells_case_work_in_words(action, payload, extra, expected):
    assert words(action, payload, **extra) == expected


def test_it_words_what_is_not_case_work_too_from_the_same_table():
    assert words("scar.generate", {"via": "page"}) == (
        "Printed the SS 8572 (child abuse report) form."
    )
    assert words("attachment.add") == "Added an attachment."
    # Written by a release that knew an action this one does not: shown as recorded.
    assert words("retired.action") == "retired.action"


@pytest.mark.parametrize("action", sorted(Action))
def test_it_words_every_kind_of_case_work_even_with_an_empty_payload(action: Action):
    text = words(action.value)
    assert text
    assert text != action.value
    assert "%(" not in text
