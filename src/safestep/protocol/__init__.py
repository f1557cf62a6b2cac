"""SafeStep's protocol engine, in pure Python.

It knows nothing of Django, HTTP or the database. Given a protocol definition, a
case's facts, its step records and "now", it answers: each step's state, what is due
when, what is overdue, whether the case may close and what an escalation carries.

Modules:

* ``model``: the definition model (frozen dataclasses); ``conditions``: step
  conditions and their three-valued evaluation; ``durations``: ISO 8601 durations.
* ``loader``: reads and strictly checks definition files (``definitions/*.yaml``),
  reporting ``issues`` with their line and column; ``reading`` and ``yamlnodes`` are
  its first pass over the YAML nodes.
* ``details``: checks the details recorded when a step is resolved.
* ``evaluator``: step states, due dates, closability and escalation planning.
* ``deadlines``: due dates in the protocol's time zone, check-in schedules.
* ``render``: the protocol as Mermaid, Graphviz DOT or SVG.
"""

from safestep.protocol.conditions import (
    AllOf,
    AnyOf,
    Condition,
    FactIs,
    Not,
    condition_to_data,
    describe_condition,
    evaluate_condition,
    iter_condition_facts,
)
from safestep.protocol.deadlines import compute_due, next_check_in_due
from safestep.protocol.details import is_field_required, validate_details
from safestep.protocol.durations import Duration, DurationError, parse_duration
from safestep.protocol.evaluator import (
    EscalationNotAllowed,
    EscalationPlan,
    Evaluation,
    RecordInput,
    StepState,
    StepStatus,
    choose_records,
    evaluate,
    plan_escalation,
)
from safestep.protocol.issues import Issue, ProtocolInvalid
from safestep.protocol.loader import (
    canonical_text,
    load_protocol_file,
    load_protocol_text,
    load_shipped_protocols,
    shipped_protocol_paths,
)
from safestep.protocol.model import (
    ANCHOR_CASE_OPENED,
    ANCHOR_STEP_PREFIX,
    ANCHOR_SUSPICION_FORMED,
    BASIS_HEALTH_OR_SAFETY,
    CASE_ANCHORS,
    DISCLOSURE_BASES,
    FIELD_TYPES,
    LANGUAGES,
    RECIPIENT_TYPES,
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_PARENT_CONTACT,
    STEP_ROLE_PLACEMENT_REVIEW,
    STEP_ROLE_POLICE_INVOLVEMENT,
    STEP_ROLES,
    Deadline,
    DetailIs,
    DisclosureRecipient,
    Escalation,
    Fact,
    FieldSpec,
    Indicator,
    Pathway,
    Progress,
    Protocol,
    RecipientValue,
    Step,
    StepDisclosure,
    Translations,
    choice_label_in_language,
    in_language,
)
from safestep.protocol.render import STATE_STYLES, render_dot, render_mermaid, render_svg

__all__ = [
    "ANCHOR_CASE_OPENED",
    "ANCHOR_STEP_PREFIX",
    "ANCHOR_SUSPICION_FORMED",
    "BASIS_HEALTH_OR_SAFETY",
    "CASE_ANCHORS",
    "DISCLOSURE_BASES",
    "FIELD_TYPES",
    "LANGUAGES",
    "RECIPIENT_TYPES",
    "STATE_STYLES",
    "STEP_ROLES",
    "STEP_ROLE_CHILD_ABUSE_REPORT",
    "STEP_ROLE_PARENT_CONTACT",
    "STEP_ROLE_PLACEMENT_REVIEW",
    "STEP_ROLE_POLICE_INVOLVEMENT",
    "AllOf",
    "AnyOf",
    "Condition",
    "Deadline",
    "DetailIs",
    "DisclosureRecipient",
    "Duration",
    "DurationError",
    "Escalation",
    "EscalationNotAllowed",
    "EscalationPlan",
    "Evaluation",
    "Fact",
    "FactIs",
    "FieldSpec",
    "Indicator",
    "Issue",
    "Not",
    "Pathway",
    "Progress",
    "Protocol",
    "ProtocolInvalid",
    "RecipientValue",
    "RecordInput",
    "Step",
    "StepDisclosure",
    "StepState",
    "StepStatus",
    "Translations",
    "canonical_text",
    "choice_label_in_language",
    "choose_records",
    "compute_due",
    "condition_to_data",
    "describe_condition",
    "evaluate",
    "evaluate_condition",
    "in_language",
    "is_field_required",
    "iter_condition_facts",
    "load_protocol_file",
    "load_protocol_text",
    "load_shipped_protocols",
    "next_check_in_due",
    "parse_duration",
    "plan_escalation",
    "render_dot",
    "render_mermaid",
    "render_svg",
    "shipped_protocol_paths",
    "validate_details",
]
