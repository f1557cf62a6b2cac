"""The protocol definition model: what a loaded definition file turns into.

Everything here is immutable (frozen dataclasses holding tuples), so a loaded
protocol can be shared between requests and cached without anyone changing it by
accident. Definitions are built by :mod:`safestep.protocol.loader`, which checks them
first; the classes themselves do no validation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from safestep.protocol.conditions import (
    AllOf,
    AnyOf,
    Condition,
    FactIs,
    Not,
    evaluate_condition,
)
from safestep.protocol.durations import Duration

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
    "Escalation",
    "Fact",
    "FactIs",
    "FieldSpec",
    "Indicator",
    "Not",
    "Pathway",
    "Progress",
    "Protocol",
    "RecipientValue",
    "Step",
    "StepDisclosure",
    "Translations",
    "choice_label_in_language",
    "describe_anchor",
    "evaluate_condition",
    "in_language",
]

# Field types a step's details may use. See docs/protocol-format.md for each one.
FIELD_TYPES: tuple[str, ...] = (
    "text",  # free narrative, may span lines
    "string",  # a short identifier on one line, e.g. a report number
    "yes_no",  # true or false
    "choice",  # one of `choices`
    "multi_choice",  # several of `choices`
    "list",  # several free entries; `choices` are only suggestions
    "datetime",  # ISO 8601 with a UTC offset, never in the future
    "date",  # ISO 8601 calendar date
    "integer",  # a whole number, at least `min` (1 unless set)
    "user",  # a username; the application checks that the user exists
    "school",  # a school code; the application checks that the school exists
    # A person on the case (a parent, a witness ...), by id: a positive whole number. The
    # application checks that the person is on the case, and any rule about who may be named.
    "person",
)

# Deadline anchors. A deadline counts from one of the case's own times, or from the
# moment another step of the same pathway happened ("step:<step id>").
ANCHOR_SUSPICION_FORMED = "suspicion_formed_at"
ANCHOR_CASE_OPENED = "case_opened_at"
ANCHOR_STEP_PREFIX = "step:"
CASE_ANCHORS: tuple[str, ...] = (ANCHOR_SUSPICION_FORMED, ANCHOR_CASE_OPENED)
_ANCHOR_WORDS = {
    ANCHOR_SUSPICION_FORMED: "the suspicion was formed",
    ANCHOR_CASE_OPENED: "the case was opened",
}


def describe_anchor(anchor: str) -> str:
    """A case anchor in words, e.g. ``the suspicion was formed``."""
    return _ANCHOR_WORDS.get(anchor, anchor)


# Step roles: what the application needs to find in any protocol, whatever the
# district calls the step. The SS 8572 report form fills itself from the step with
# the child abuse report role, and names the police and the parent from the steps
# with the police involvement and parent contact roles; a transfer is recorded on the
# placement review step. Each role belongs to at most one step id of a protocol.
STEP_ROLE_CHILD_ABUSE_REPORT = "child_abuse_report"
STEP_ROLE_PLACEMENT_REVIEW = "placement_review"
STEP_ROLE_POLICE_INVOLVEMENT = "police_involvement"
STEP_ROLE_PARENT_CONTACT = "parent_contact"
STEP_ROLES: tuple[str, ...] = (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_PLACEMENT_REVIEW,
    STEP_ROLE_POLICE_INVOLVEMENT,
    STEP_ROLE_PARENT_CONTACT,
)

# What a step's ``discloses`` may declare: the legal basis on which the step releases a
# student's information outside the district, and the kind of recipient. The values are
# those of the disclosure log (safestep.audit); see docs/protocol-format.md.
DISCLOSURE_BASES: tuple[str, ...] = (
    "canra_report",  # a mandated child abuse report (PC 11166)
    "ferpa_99_36",  # a health or safety emergency (34 CFR 99.36); the threat is recorded
    "consent",  # written consent
    "court_order",  # a court order or subpoena
    "law_enforcement_unit",  # a law-enforcement unit's own record (34 CFR 99.8)
    "parent_of_minor",  # the parent or guardian of a minor (34 CFR 99.10)
    "school_transfer",  # the school the student transfers to (34 CFR 99.31(a)(2))
)
BASIS_HEALTH_OR_SAFETY = "ferpa_99_36"
RECIPIENT_TYPES: tuple[str, ...] = (
    "child_welfare",
    "law_enforcement",
    "parent",
    "school",
    "service_provider",
    "other",
)


# The languages a definition may give its words in. English is required and is the
# canonical text (what `.title`, `.label` ... hold, and what the SS 8572, the API and
# the audit trail use); the others are translations shown to people who chose them.
LANGUAGES: tuple[str, ...] = ("en", "es")

# Translations of an item's words: attribute ("title", "guidance", "label" ...) ->
# language code ("es") -> text. English is not repeated here: it is the attribute itself.
# They take no part in hashing or equality: two steps that differ only in their Spanish
# are the same work (what a case keeps, what a revision changes).
Translations = Mapping[str, Mapping[str, str]]


def _no_translations() -> Translations:
    return MappingProxyType({})


def _frozen_translations(value: Mapping[str, Mapping[str, str]]) -> Translations:
    """A read-only copy, so an immutable definition stays immutable all the way down."""
    if isinstance(value, MappingProxyType) and all(
        isinstance(inner, MappingProxyType) for inner in value.values()
    ):
        return value
    return MappingProxyType({key: MappingProxyType(dict(inner)) for key, inner in value.items()})


def _freeze_translation_fields(item: object, *names: str) -> None:
    for name in names:
        object.__setattr__(item, name, _frozen_translations(getattr(item, name)))


def _pick_language(english: str, by_language: Mapping[str, str], language: str | None) -> str:
    # A browser's "es-MX" or Django's "es-mx" reads the Spanish text; anything the
    # definition does not translate falls back to English, never to a blank.
    code = (language or "").split("-")[0].split("_")[0].lower()
    return by_language.get(code) or english


def in_language(item: object, attribute: str, language: str | None) -> str:
    """ITEM's ATTRIBUTE (a step's ``title``, a field's ``label`` ...) in LANGUAGE.

    LANGUAGE is a code such as ``es`` or ``es-mx``; without a translation into it (or
    with None) the English text is given. ITEM is any definition object with a
    ``translations`` mapping (Step, Pathway, Fact, FieldSpec, Progress, Escalation,
    Indicator, Protocol).
    """
    english = getattr(item, attribute)
    if not isinstance(english, str):
        raise TypeError(f"{type(item).__name__}.{attribute} is not text")
    translations: Translations = getattr(item, "translations", None) or {}
    return _pick_language(english, translations.get(attribute, {}), language)


def choice_label_in_language(spec: FieldSpec, value: str, language: str | None) -> str | None:
    """The label of the choice VALUE of SPEC in LANGUAGE (English fallback), or None
    when the definition gives the choice no label."""
    english = spec.choice_label(value)
    if english is None:
        return None
    return _pick_language(english, spec.choice_label_translations.get(value, {}), language)


def _no_refusals() -> Mapping[str, str]:
    return MappingProxyType({})


def _no_labels() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DetailIs:
    """A condition on a step's own record: the detail FIELD_NAME has VALUE."""

    field_name: str
    value: str | bool

    def holds(self, details: Mapping[str, object]) -> bool:
        found = details.get(self.field_name)
        # True is not 1, and "true" is not True: compare type and value.
        return type(found) is type(self.value) and found == self.value


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One entry of a step's details form."""

    name: str
    label: str
    type: str
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""
    # Must be recorded even when the step is marked "does not apply" (e.g. whether
    # the victim was consulted before deciding not to contact a parent).
    record_either_way: bool = False
    # Choice values that are refused with a message, e.g. a report to School Police
    # does not satisfy the reporting law. Not part of the hash: a read-only mapping
    # cannot be hashed, and equal specs still hash equally without it.
    refused: Mapping[str, str] = field(default_factory=_no_refusals, hash=False)
    # Only School Police may see this field's value.
    police_only: bool = False
    # Bounds for integer fields (``minimum`` defaults to 1 when loaded from a file).
    minimum: int | None = None
    maximum: int | None = None
    # For datetime fields: other datetime fields of the same step, or case anchors
    # (suspicion_formed_at, case_opened_at), that this time may not come before. A
    # written report sent before the phone call is a typing mistake worth catching.
    not_before: tuple[str, ...] = ()
    # Words for choice values: how forms and pages show them ("Child Welfare Services
    # (CWS)"), and how the SS 8572 words them where that differs ("by phone"). A value
    # without a label is shown as written. Not part of the hash, like ``refused``.
    choice_labels: Mapping[str, str] = field(default_factory=_no_labels, hash=False)
    report_labels: Mapping[str, str] = field(default_factory=_no_labels, hash=False)
    # Required to mark the step done when another field of the step (a choice or yes/no)
    # has this value: the new school, only for a transfer. ``required`` is then False.
    required_when: DetailIs | None = None
    # The field of the SS 8572 (Suspected Child Abuse Report) this value fills, as
    # "<section letter>.<name>", e.g. "B.official_phone". The application holds the
    # form's list of fields and checks the definition against it.
    form_field: str | None = None
    # The label and help in other languages, and each choice label's (value -> language
    # -> text). Not part of the hash, like ``choice_labels``.
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)
    choice_label_translations: Translations = field(
        default_factory=_no_translations, hash=False, compare=False
    )

    def __post_init__(self) -> None:
        # Freeze a caller's dicts so the spec stays immutable.
        for name in ("refused", "choice_labels", "report_labels"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        _freeze_translation_fields(self, "translations", "choice_label_translations")

    def choice_label(self, value: str) -> str | None:
        """The label the definition gives the choice VALUE, or None."""
        return self.choice_labels.get(value)

    def report_label(self, value: str) -> str | None:
        """How the definition has the SS 8572 word the choice VALUE, or None."""
        return self.report_labels.get(value)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A step is due ``within`` after ``anchor``."""

    anchor: str  # suspicion_formed_at | case_opened_at | step:<step id>
    within: Duration
    within_text: str  # the duration as written in the definition, e.g. "PT36H"

    @property
    def anchor_step(self) -> str | None:
        """The step id for a ``step:<id>`` anchor, else ``None``."""
        if self.anchor.startswith(ANCHOR_STEP_PREFIX):
            return self.anchor[len(ANCHOR_STEP_PREFIX) :]
        return None

    def describe(self) -> str:
        """Plain English, e.g. ``36 hours after the suspicion was formed``."""
        step_id = self.anchor_step
        if step_id is not None:
            return f"{self.within.describe()} after step {step_id} happened"
        return f"{self.within.describe()} after {describe_anchor(self.anchor)}"


@dataclass(frozen=True, slots=True)
class Progress:
    """What recording partial progress on a step means, e.g. "Phoned in".

    A step with progress can be recorded ``in_progress`` by giving exactly these
    ``fields`` (names of the step's own fields); the step then stays open until it is
    done. The CWS report is phoned in first and written up within 36 hours.
    """

    title: str
    fields: tuple[str, ...]
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)

    def __post_init__(self) -> None:
        _freeze_translation_fields(self, "translations")


@dataclass(frozen=True, slots=True)
class RecipientValue:
    """Who receives the information when a choice field has this value."""

    type: str  # one of RECIPIENT_TYPES
    name: str  # as the disclosure log names the recipient


def _no_values() -> Mapping[str, RecipientValue]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DisclosureRecipient:
    """Which detail of a step's record names the recipient of a disclosure.

    For a ``choice`` field, ``values`` gives each value's recipient and ``inside`` the
    values that mean nothing left the district (the district's own police). For any
    other field the value (a list's entries joined) is the recipient's name and ``type``
    its kind. ``named_by`` is a detail that, when given, names the recipient instead;
    ``qualifier`` a detail added in brackets ("Ana Ruiz (aunt)"); ``if_blank`` the name
    used when the field is blank (without it, a blank field means nothing was disclosed).
    """

    field_name: str
    type: str | None = None
    values: Mapping[str, RecipientValue] = field(default_factory=_no_values, hash=False)
    inside: tuple[str, ...] = ()
    named_by: str | None = None
    qualifier: str | None = None
    if_blank: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.values, MappingProxyType):
            object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


@dataclass(frozen=True, slots=True)
class StepDisclosure:
    """What a step's record releases outside the district, to whom, and on what basis.

    FERPA (34 CFR 99.32) asks for a record of each disclosure, and CANRA reports are
    disclosures a district must account for. A step that declares one makes a
    disclosure when it is done, if ``when`` holds and its record names a recipient.
    """

    basis: str  # one of DISCLOSURE_BASES
    categories: tuple[str, ...]
    recipient: DisclosureRecipient
    when: DetailIs | None = None
    # The text field that records the threat a health-or-safety disclosure answers.
    threat_field: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One step of one pathway.

    The same ``id`` in two pathways is the same piece of work (same actors, same
    fields), which is what lets an escalated case keep what was done. ``number``,
    ``code``, ``title``, ``guidance``, ``condition`` and ``deadline`` may differ per
    pathway.
    """

    id: str
    number: int
    code: str  # pathway code + number, e.g. "B2"; for people, not for code
    title: str
    guidance: str
    actor_roles: tuple[str, ...]
    condition: Condition | None = None
    fields: tuple[FieldSpec, ...] = ()
    deadline: Deadline | None = None
    depends_on: tuple[str, ...] = ()
    recurring: bool = False
    police_only: bool = False
    may_not_apply: bool = False
    review_when_not_applicable: bool = False
    # Partial progress the step may be recorded with (None: done or not, nothing between).
    progress: Progress | None = None
    # A datetime field whose value is when the step was done (the record's occurred_at).
    done_at_field: str | None = None
    # One of STEP_ROLES, so the application can find this step in any protocol.
    role: str | None = None
    # The disclosure outside the district its record makes, if it makes one.
    discloses: StepDisclosure | None = None
    # ``title`` and ``guidance`` in other languages (see in_language).
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)

    def __post_init__(self) -> None:
        _freeze_translation_fields(self, "translations")

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"step {self.id!r} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)

    @property
    def conditional(self) -> bool:
        return self.condition is not None


@dataclass(frozen=True, slots=True)
class Pathway:
    """One situation a case can be in (A, B, C), with its steps in order of work."""

    id: str
    code: str
    title: str
    description: str
    steps: tuple[Step, ...]
    # ``title`` and ``description`` in other languages (see in_language).
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)

    def __post_init__(self) -> None:
        _freeze_translation_fields(self, "translations")

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"pathway {self.id!r} has no step {step_id!r}")

    def has_step(self, step_id: str) -> bool:
        return any(step.id == step_id for step in self.steps)

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.id for step in self.steps)


@dataclass(frozen=True, slots=True)
class Fact:
    """A yes/no question the case team answers, used by step conditions."""

    id: str
    question: str
    help: str = ""
    # Answering with this value needs a written reason (None: never).
    reason_required_when: bool | None = None
    # Answering with this value flags the case for the district coordinator's review.
    review_when: bool | None = None
    # Roles that may answer the fact; empty means the application's default.
    actor_roles: tuple[str, ...] = ()
    # ``question`` and ``help`` in other languages (see in_language).
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)

    def __post_init__(self) -> None:
        _freeze_translation_fields(self, "translations")


@dataclass(frozen=True, slots=True)
class Escalation:
    """A case moving from one pathway to another, keeping the listed steps' work.

    A case may move between any two pathways. The definition declares the moves it has
    words for (``escalations``); :meth:`Protocol.move` makes up the others, with
    ``declared`` False. Either way ``carries`` lists every step the two pathways share.
    """

    from_pathway: str
    to_pathway: str
    title: str
    carries: tuple[str, ...]
    declared: bool = True
    # ``title`` in other languages (see in_language).
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)

    def __post_init__(self) -> None:
        _freeze_translation_fields(self, "translations")


@dataclass(frozen=True, slots=True)
class Indicator:
    """A screening indicator shown at intake. It informs a person; it never picks a pathway."""

    id: str
    group: str
    text: str
    # ``text`` in other languages (see in_language).
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)

    def __post_init__(self) -> None:
        _freeze_translation_fields(self, "translations")


@dataclass(frozen=True, slots=True)
class Protocol:
    """A whole loaded protocol definition (one version of it)."""

    id: str
    version: str
    title: str
    jurisdiction: str
    time_zone: str
    roles: tuple[str, ...]
    facts: tuple[Fact, ...]
    pathways: tuple[Pathway, ...]
    escalations: tuple[Escalation, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    # The definition file's text with line endings normalised to "\n".
    source_text: str = ""
    # ``title`` in other languages (see in_language). Not hashed: content_hash is the text's.
    translations: Translations = field(default_factory=_no_translations, hash=False, compare=False)

    def __post_init__(self) -> None:
        _freeze_translation_fields(self, "translations")

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical source text, UTF-8 encoded.

        Two loads of the same definition give the same hash, so storing a "new"
        version with identical content can be recognised as a no-op.
        """
        return hashlib.sha256(self.source_text.encode("utf-8")).hexdigest()

    def pathway(self, pathway_id: str) -> Pathway:
        for pathway in self.pathways:
            if pathway.id == pathway_id:
                return pathway
        raise KeyError(f"protocol {self.id!r} has no pathway {pathway_id!r}")

    def step(self, pathway_id: str, step_id: str) -> Step:
        return self.pathway(pathway_id).step(step_id)

    def fact(self, fact_id: str) -> Fact:
        for fact in self.facts:
            if fact.id == fact_id:
                return fact
        raise KeyError(f"protocol {self.id!r} has no fact {fact_id!r}")

    def step_id_with_role(self, role: str) -> str | None:
        """The id of the step with this role (one of STEP_ROLES), or None if no step has it."""
        step = self.step_with_role(role)
        return step.id if step is not None else None

    def step_with_role(self, role: str) -> Step | None:
        """The step with this role (one of STEP_ROLES) as the first pathway that has it
        defines it, or None if no step has it."""
        for pathway in self.pathways:
            for step in pathway.steps:
                if step.role == role:
                    return step
        return None

    def pathways_with_role(self, role: str) -> tuple[str, ...]:
        """The ids of the pathways that include the step with this role."""
        return tuple(
            pathway.id
            for pathway in self.pathways
            if any(step.role == role for step in pathway.steps)
        )

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(f"protocol {self.id!r} has no indicator {indicator_id!r}")

    def escalation(self, from_pathway: str, to_pathway: str) -> Escalation | None:
        """The escalation the definition declares between these pathways, or None."""
        for escalation in self.escalations:
            if escalation.from_pathway == from_pathway and escalation.to_pathway == to_pathway:
                return escalation
        return None

    def move(self, from_pathway: str, to_pathway: str) -> Escalation:
        """Moving a case from one pathway to another: the declared escalation, if any.

        A case may move between any two different pathways; an undeclared move is titled
        "Moved to <the pathway's title>" and carries every step the two share. Raises
        KeyError for an unknown pathway and ValueError for a move to the same pathway.
        """
        source = self.pathway(from_pathway)
        target = self.pathway(to_pathway)
        if source.id == target.id:
            raise ValueError(f"a case on pathway {source.id!r} cannot move to the same pathway")
        declared = self.escalation(source.id, target.id)
        if declared is not None:
            return declared
        return Escalation(
            from_pathway=source.id,
            to_pathway=target.id,
            title=f"Moved to {target.title}",
            carries=tuple(step_id for step_id in source.step_ids if target.has_step(step_id)),
            declared=False,
        )

    def moves_from(self, pathway_id: str) -> tuple[Escalation, ...]:
        """Every move a case on this pathway may make, in the order pathways are listed."""
        source = self.pathway(pathway_id)
        return tuple(
            self.move(source.id, target.id) for target in self.pathways if target.id != source.id
        )

    def is_lower(self, from_pathway: str, to_pathway: str) -> bool:
        """Whether moving from one pathway to the other moves the case to a lower one.

        Pathways are listed from the least to the most serious, so a pathway listed
        earlier is lower (in the shipped protocol A < B < C). False for the same pathway;
        KeyError for an unknown one.
        """
        places = {pathway.id: place for place, pathway in enumerate(self.pathways)}
        for pathway_id in (from_pathway, to_pathway):
            if pathway_id not in places:
                raise KeyError(f"protocol {self.id!r} has no pathway {pathway_id!r}")
        return places[to_pathway] < places[from_pathway]

    def fields_for_form(self) -> dict[str, tuple[Step, FieldSpec]]:
        """Each SS 8572 field the definition fills (``form_field``), with its step and field.

        A step used by several pathways is given as the first pathway that has it
        defines it (fields are the same everywhere); the loader lets one form field be
        filled from one field only. In the order the steps first appear.
        """
        found: dict[str, tuple[Step, FieldSpec]] = {}
        seen: set[str] = set()
        for pathway in self.pathways:
            for step in pathway.steps:
                if step.id in seen:
                    continue
                seen.add(step.id)
                for spec in step.fields:
                    if spec.form_field is not None:
                        found.setdefault(spec.form_field, (step, spec))
        return found

    def all_step_ids(self) -> tuple[str, ...]:
        """Every step id of every pathway, once each, in order of first appearance."""
        seen: dict[str, None] = {}
        for pathway in self.pathways:
            for step in pathway.steps:
                seen.setdefault(step.id, None)
        return tuple(seen)
