"""The first pass of loading: reading a definition's YAML nodes into drafts.

The reader checks every mapping against the schema below (unknown, missing and
duplicate keys, value types, id formats) and builds drafts of facts, steps,
pathways and escalations. Names that refer to other parts of the file (a role in
``actors``, a fact in a condition, a step in ``depends_on`` ...) are only noted with
their nodes here; :mod:`safestep.protocol.loader` resolves them once everything has
been read, so the order of sections in the file does not matter.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from safestep.protocol.conditions import AllOf, AnyOf, Condition, FactIs, Not
from safestep.protocol.durations import DurationError, parse_duration
from safestep.protocol.model import (
    ANCHOR_STEP_PREFIX,
    BASIS_HEALTH_OR_SAFETY,
    CASE_ANCHORS,
    DISCLOSURE_BASES,
    FIELD_TYPES,
    LANGUAGES,
    RECIPIENT_TYPES,
    STEP_ROLES,
    Deadline,
    DetailIs,
    DisclosureRecipient,
    Fact,
    FieldSpec,
    Indicator,
    Progress,
    RecipientValue,
    StepDisclosure,
)
from safestep.protocol.yamlnodes import (
    IDENTIFIER,
    TAG_STR,
    KeyMap,
    NodeReader,
    describe,
    position,
    scalar_text,
    suggestion,
)

# The schema: required and optional keys of each kind of mapping.
TOP_REQUIRED = ("protocol", "roles", "pathways")
TOP_OPTIONAL = ("facts", "steps", "escalations", "indicators")
HEADER_KEYS = ("id", "version", "title", "jurisdiction", "time_zone")
FACT_REQUIRED = ("id", "question")
FACT_OPTIONAL = ("help", "reason_required_when", "review_when", "actors")
STEP_REQUIRED = ("id", "title", "actors")
STEP_OPTIONAL = (
    "guidance",
    "condition",
    "deadline",
    "depends_on",
    "fields",
    "recurring",
    "police_only",
    "may_not_apply",
    "review_when_not_applicable",
    "progress",
    "done_at",
    "role",
    "discloses",
)
# What a pathway may set on a step that is defined in the shared step library.
PATHWAY_STEP_OVERRIDES = ("number", "title", "guidance", "condition", "deadline", "may_not_apply")
PROGRESS_KEYS = ("title", "fields")
FIELD_REQUIRED = ("name", "label", "type")
FIELD_OPTIONAL = (
    "required",
    "choices",
    "help",
    "record_either_way",
    "refused",
    "police_only",
    "min",
    "max",
    "not_before",
    "required_when",
    "form_field",
)
CHOICE_REQUIRED = ("value", "label")
CHOICE_OPTIONAL = ("report_label",)
DISCLOSES_REQUIRED = ("basis", "categories", "recipient")
DISCLOSES_OPTIONAL = ("when", "threat_field")
RECIPIENT_REQUIRED = ("field",)
RECIPIENT_OPTIONAL = ("type", "values", "inside", "named_by", "qualifier", "if_blank")
RECIPIENT_VALUE_REQUIRED = ("type",)
RECIPIENT_VALUE_OPTIONAL = ("name",)
WHEN_KEYS = ("field", "is")
# The fields that can name a disclosure's recipient, and the ones that can add to its name
# or hold the threat a health-or-safety disclosure answers.
RECIPIENT_FIELD_TYPES = ("choice", "string", "text", "list", "school")
TEXT_FIELD_TYPES = ("string", "text")
WHEN_FIELD_TYPES = ("choice", "yes_no")
# A field of the SS 8572: its section (A to E) and a name, e.g. B.official_phone. Which
# names the form has is the application's to check; the loader checks only the shape.
FORM_FIELD = re.compile(r"[A-E]\.[a-z][a-z0-9_]*")
DEADLINE_KEYS = ("from", "within")
CONDITION_OPERATORS = ("fact", "all", "any", "not")
PATHWAY_REQUIRED = ("id", "code", "title", "steps")
PATHWAY_OPTIONAL = ("description",)
ESCALATION_REQUIRED = ("from", "to", "carries")
ESCALATION_OPTIONAL = ("title",)
INDICATOR_KEYS = ("id", "group", "text")

CHOICE_TYPES = ("choice", "multi_choice")
# Attributes that make a step "the same step" wherever its id appears. Title,
# guidance, condition and deadline may differ per pathway.
IDENTITY_ATTRIBUTES = (
    "actor_roles",
    "fields",
    "depends_on",
    "recurring",
    "police_only",
    "may_not_apply",
    "review_when_not_applicable",
    "progress",
    "done_at_field",
    "role",
    "discloses",
)
IDENTITY_KEY_NAMES = {"actor_roles": "actors", "done_at_field": "done_at"}


def _is_protocol_id(value: str) -> bool:
    return (
        value.isascii()
        and value[:1].isalnum()
        and all(char.isalnum() or char == "-" for char in value)
    )


# Drafts: what the reading pass produces ------------------------------------------------


@dataclass
class Ref:
    """A name that must exist among the protocol's roles, facts or steps."""

    kind: str  # "role" | "fact" | "step"
    name: str
    node: Node


@dataclass
class DeadlineDraft:
    deadline: Deadline
    from_node: Node


@dataclass
class FieldRefs:
    """The nodes of a field's keys that name other fields, checked once all are read."""

    not_before: list[Node] = field(default_factory=list)
    required_when: Node | None = None
    form_field: Node | None = None


@dataclass
class StepDraft:
    """A full step definition (from the library or written inside a pathway)."""

    id: str
    id_node: Node
    origin: str | None  # None for the step library, else the pathway id
    title: str = ""
    guidance: str = ""
    actor_roles: tuple[str, ...] = ()
    condition: Condition | None = None
    deadline: DeadlineDraft | None = None
    depends_on: tuple[str, ...] = ()
    depends_on_nodes: tuple[Node, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    recurring: bool = False
    police_only: bool = False
    may_not_apply: bool = False
    review_when_not_applicable: bool = False
    progress: Progress | None = None
    done_at_field: str | None = None
    role: str | None = None
    role_node: Node | None = None
    discloses: StepDisclosure | None = None
    # Field name -> the node of its form_field, so a form field named twice is found.
    form_field_nodes: dict[str, Node] = field(default_factory=dict)
    # "title"/"guidance" -> language -> text.
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    def identity(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in IDENTITY_ATTRIBUTES}

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)


@dataclass
class StepEntry:
    """One step in one pathway's list: a reference (with overrides) or a definition."""

    step_id: str
    node: Node
    inline: StepDraft | None = None
    number: int | None = None
    number_node: Node | None = None
    title: str | None = None
    guidance: str | None = None
    overrides_condition: bool = False
    condition: Condition | None = None
    overrides_deadline: bool = False
    deadline: DeadlineDraft | None = None
    may_not_apply: bool | None = None  # None: as the library step says
    # This pathway's wording of "title"/"guidance" in other languages.
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class PathwayDraft:
    id: str
    id_node: Node
    node: Node
    code: str = ""
    code_node: Node | None = None
    title: str = ""
    description: str = ""
    entries: list[StepEntry] = field(default_factory=list)
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class EscalationDraft:
    node: Node
    from_id: str | None
    from_node: Node | None
    to_id: str | None
    to_node: Node | None
    title: str
    carries: list[tuple[str, Node]]
    carries_node: Node | None
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


# Reading pass ----------------------------------------------------------------------


class DefinitionReader(NodeReader):
    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.refs: list[Ref] = []
        # False once part of a section could not be read: its names are then not
        # reliable enough to call a reference "unknown".
        self.complete = {"role": True, "fact": True, "step": True, "pathway": True}
        self.header: dict[str, str] = {}
        self.roles: list[str] = []
        self.facts: list[Fact] = []
        self.fact_nodes: dict[str, Node] = {}
        self.library: dict[str, StepDraft] = {}
        self.pathways: list[PathwayDraft] = []
        self.escalations: list[EscalationDraft] = []
        self.indicators: list[Indicator] = []
        # The header's title in other languages.
        self.header_translations: dict[str, dict[str, str]] = {}

    def read(self, root: Node) -> None:
        top = self.mapping(root, required=TOP_REQUIRED, optional=TOP_OPTIONAL, what="protocol file")
        if top is None:
            for kind in self.complete:
                self.complete[kind] = False
            return
        # A missing facts or steps section is simply empty; a missing roles or
        # pathways section is already reported, so do not call references unknown.
        if "roles" not in top:
            self.complete["role"] = False
        if "pathways" not in top:
            self.complete["pathway"] = False
        if "protocol" in top:
            self._read_header(top["protocol"].value)
        if "roles" in top:
            self._read_roles(top["roles"].value)
        if "facts" in top:
            self._read_facts(top["facts"].value)
        if "steps" in top:
            self._read_library(top["steps"].value)
        if "pathways" in top:
            self._read_pathways(top["pathways"].value)
        if "escalations" in top:
            self._read_escalations(top["escalations"].value)
        if "indicators" in top:
            self._read_indicators(top["indicators"].value)

    # Header, roles, facts ------------------------------------------------------------

    def _read_header(self, node: Node) -> None:
        header = self.mapping(node, required=HEADER_KEYS, what="protocol")
        if header is None:
            return
        for key in HEADER_KEYS:
            if key not in header:
                continue
            value_node = header[key].value
            if key == "title":
                value = self._words(
                    value_node, what="protocol title", into=self.header_translations, key="title"
                )
            else:
                value = self.text(value_node, what=f"protocol {key}")
            if value is None:
                continue
            if key == "id" and not _is_protocol_id(value):
                self.error(
                    value_node,
                    f"protocol id {value!r} must be letters, digits and hyphens "
                    "(e.g. example-district)",
                )
                continue
            if key == "time_zone" and not _is_time_zone(value):
                self.error(
                    value_node,
                    f"unknown time zone {value!r} (use an IANA name such as America/Los_Angeles)",
                )
                continue
            self.header[key] = value

    def _read_roles(self, node: Node) -> None:
        items = self.sequence(node, what="roles")
        if items is None:
            self.complete["role"] = False
            return
        if not items:
            self.error(node, "roles: list at least one role")
        first_seen: dict[str, Node] = {}
        for item in items:
            role = self.identifier(item, what="role")
            if role is None:
                self.complete["role"] = False
                continue
            if role in first_seen:
                self.error(
                    item, f"duplicate role {role!r} (first at line {position(first_seen[role])[0]})"
                )
                continue
            first_seen[role] = item
            self.roles.append(role)

    def _read_facts(self, node: Node) -> None:
        items = self.sequence(node, what="facts")
        if items is None:
            self.complete["fact"] = False
            return
        for item in items:
            m = self.mapping(item, required=FACT_REQUIRED, optional=FACT_OPTIONAL, what="fact")
            if m is None:
                self.complete["fact"] = False
                continue
            fact_id = self.identifier(m["id"].value, what="fact id") if "id" in m else None
            if fact_id is None:
                self.complete["fact"] = False
                continue
            translations: dict[str, dict[str, str]] = {}
            question = (
                self._words(m["question"].value, what="question", into=translations)
                if "question" in m
                else None
            )
            help_text = self._optional_words(m, "help", into=translations)
            when: dict[str, bool | None] = {}
            for key in ("reason_required_when", "review_when"):
                if key in m:
                    _, when[key] = self.optional_boolean(m[key].value, what=key)
            actor_roles: tuple[str, ...] = ()
            if "actors" in m:
                actors_node = m["actors"].value
                actor_roles = self._read_names(actors_node, kind="role", what="actors")
                if isinstance(actors_node, SequenceNode) and not actors_node.value:
                    self.error(
                        actors_node,
                        "actors: list at least one role, or leave the key out to let the "
                        "application decide who answers",
                    )
            if fact_id in self.fact_nodes:
                line = position(self.fact_nodes[fact_id])[0]
                self.error(m["id"].value, f"duplicate fact id {fact_id!r} (first at line {line})")
                continue
            self.fact_nodes[fact_id] = m["id"].value
            self.facts.append(
                Fact(
                    id=fact_id,
                    question=question or "",
                    help=help_text,
                    reason_required_when=when.get("reason_required_when"),
                    review_when=when.get("review_when"),
                    actor_roles=actor_roles,
                    translations=translations,
                )
            )

    # Steps ---------------------------------------------------------------------------

    def _read_library(self, node: Node) -> None:
        items = self.sequence(node, what="steps")
        if items is None:
            self.complete["step"] = False
            return
        for item in items:
            m = self.mapping(item, required=STEP_REQUIRED, optional=STEP_OPTIONAL, what="step")
            if m is None:
                self.complete["step"] = False
                continue
            draft = self._read_step(m, origin=None)
            if draft is None:
                continue
            if draft.id in self.library:
                line = position(self.library[draft.id].id_node)[0]
                self.error(draft.id_node, f"duplicate step id {draft.id!r} (first at line {line})")
                continue
            self.library[draft.id] = draft

    def _read_step(self, m: KeyMap, *, origin: str | None) -> StepDraft | None:
        step_id = self.identifier(m["id"].value, what="step id") if "id" in m else None
        if step_id is None:
            self.complete["step"] = False
            return None
        draft = StepDraft(id=step_id, id_node=m["id"].value, origin=origin)
        if "title" in m:
            draft.title = self._words(m["title"].value, what="title", into=draft.translations) or ""
        draft.guidance = self._optional_words(m, "guidance", into=draft.translations)
        self._read_step_links(m, draft)
        self._read_step_flags(m, draft)
        fields_complete = self._read_step_fields(m, draft)
        # Progress, done_at and discloses name the step's own fields: only check them
        # against a field list that was read whole, so one broken field is reported once.
        self._read_step_record(m, draft, check_names=fields_complete)
        if draft.police_only:
            # Deny by default: every detail of a police-only step is police-only.
            draft.fields = tuple(dataclasses.replace(f, police_only=True) for f in draft.fields)
        return draft

    def _read_step_links(self, m: KeyMap, draft: StepDraft) -> None:
        """The keys that tie a step to the rest of the file: actors, condition, deadline
        and depends_on. Their names are only noted here, and resolved by the loader."""
        if "actors" in m:
            draft.actor_roles = self._read_names(m["actors"].value, kind="role", what="actors")
            actors_node = m["actors"].value
            if isinstance(actors_node, SequenceNode) and not actors_node.value:
                self.error(actors_node, "actors: list at least one role")
        if "condition" in m:
            draft.condition = self._read_condition(m["condition"].value)
        if "deadline" in m:
            draft.deadline = self._read_deadline(m["deadline"].value)
        if "depends_on" in m:
            nodes = self._read_name_nodes(m["depends_on"].value, kind="step", what="depends_on")
            draft.depends_on = tuple(scalar_text(n) for n in nodes)
            draft.depends_on_nodes = tuple(nodes)

    def _read_step_flags(self, m: KeyMap, draft: StepDraft) -> None:
        """The step's yes/no keys, and the one combination of them that makes no sense."""
        for flag in ("recurring", "police_only", "may_not_apply", "review_when_not_applicable"):
            if flag in m:
                value = self.boolean(m[flag].value, what=flag)
                setattr(draft, flag, bool(value))
        if draft.review_when_not_applicable and not draft.may_not_apply:
            self.error(
                m["review_when_not_applicable"].value,
                "review_when_not_applicable needs may_not_apply: true "
                "(only a step that may be marked 'does not apply' can be reviewed for it)",
            )

    def _read_step_fields(self, m: KeyMap, draft: StepDraft) -> bool:
        """Reads the step's fields into the draft; whether every one could be read.

        A step without fields counts as read whole: there is nothing broken to report twice.
        """
        if "fields" not in m:
            return True
        draft.fields, complete, refs = self._read_fields(m["fields"].value)
        draft.form_field_nodes = {
            name: ref.form_field for name, ref in refs.items() if ref.form_field is not None
        }
        # required_when names a sibling field, so it can only be read once all are.
        if complete:
            draft.fields = self._resolve_required_when(draft, refs)
        return complete

    def _read_step_record(self, m: KeyMap, draft: StepDraft, *, check_names: bool) -> None:
        """What the step's record means beyond its fields: its progress, when it was done,
        its step role and what it discloses."""
        if "progress" in m:
            draft.progress = self._read_progress(
                m["progress"].value, draft, check_names=check_names
            )
        if "done_at" in m:
            draft.done_at_field = self._read_done_at(
                m["done_at"].value, draft, check_names=check_names
            )
        if "role" in m:
            draft.role_node = m["role"].value
            draft.role = self._read_step_role(draft.role_node)
        if "discloses" in m:
            draft.discloses = self._read_discloses(
                m["discloses"].value, draft, check_names=check_names
            )

    def _read_progress(self, node: Node, draft: StepDraft, *, check_names: bool) -> Progress | None:
        m = self.mapping(node, required=PROGRESS_KEYS, what="progress")
        if m is None:
            return None
        translations: dict[str, dict[str, str]] = {}
        title = (
            self._words(m["title"].value, what="progress title", into=translations)
            if "title" in m
            else None
        )
        names: list[str] = []
        if "fields" in m:
            fields_node = m["fields"].value
            items = self.text_list(fields_node, what="progress field", identifiers=True)
            if items is not None and not fields_node.value:
                self.error(fields_node, "progress fields: list at least one field of the step")
            for item in items or []:
                name = scalar_text(item)
                if name in names:
                    self.error(item, f"progress fields: {name!r} is listed twice")
                    continue
                if check_names and name not in draft.field_names:
                    self.error(item, f"progress fields: {self._not_a_field(name, draft)}")
                    continue
                names.append(name)
        if title is None or not names:
            return None
        return Progress(title=title, fields=tuple(names), translations=translations)

    def _read_done_at(self, node: Node, draft: StepDraft, *, check_names: bool) -> str | None:
        name = self.identifier(node, what="done_at")
        if name is None or not check_names:
            return name
        if name not in draft.field_names:
            self.error(node, f"done_at: {self._not_a_field(name, draft)}")
            return None
        field_type = next(spec.type for spec in draft.fields if spec.name == name)
        if field_type != "datetime":
            self.error(
                node,
                f"done_at: field {name!r} is a {field_type} field; done_at must name a "
                "datetime field (when the step was done)",
            )
            return None
        return name

    def _not_a_field(self, name: str, draft: StepDraft) -> str:
        listed = ", ".join(draft.field_names) or "none"
        hint = suggestion(name, draft.field_names)
        return f"step {draft.id!r} has no field {name!r}{hint}; its fields are: {listed}"

    def _read_step_role(self, node: Node) -> str | None:
        role = self.identifier(node, what="role")
        if role is None:
            return None
        if role not in STEP_ROLES:
            hint = suggestion(role, STEP_ROLES)
            self.error(
                node, f"unknown step role {role!r}{hint}; step roles are: {', '.join(STEP_ROLES)}"
            )
            return None
        return role

    # Disclosures ------------------------------------------------------------------------

    def _read_discloses(
        self, node: Node, draft: StepDraft, *, check_names: bool
    ) -> StepDisclosure | None:
        """What the step's record releases outside the district (docs: Disclosures).

        The names of the step's fields are checked only against a field list that was
        read whole; a broken declaration loads nothing, and the file does not load.
        """
        before = len(self.issues)
        m = self.mapping(
            node, required=DISCLOSES_REQUIRED, optional=DISCLOSES_OPTIONAL, what="discloses"
        )
        if m is None:
            return None
        fields = {spec.name: spec for spec in draft.fields} if check_names else None
        basis = None
        if "basis" in m:
            basis = self._read_one_of(
                m["basis"].value, DISCLOSURE_BASES, what="legal basis", listing="legal bases"
            )
        categories: tuple[str, ...] = ()
        if "categories" in m:
            categories = self._read_categories(m["categories"].value)
        recipient = None
        if "recipient" in m:
            recipient = self._read_recipient(m["recipient"].value, draft, fields)
        when = None
        if "when" in m:
            when = self._read_when(m["when"].value, draft, fields)
        threat_field = None
        if "threat_field" in m:
            if basis is not None and basis != BASIS_HEALTH_OR_SAFETY:
                self.error(
                    m["threat_field"].key,
                    f"'threat_field' applies only to basis {BASIS_HEALTH_OR_SAFETY}, "
                    "whose disclosures record the threat they answer",
                )
            else:
                threat_field = self._read_step_field(
                    m["threat_field"].value, draft, fields, TEXT_FIELD_TYPES, what="threat_field"
                )
        elif basis == BASIS_HEALTH_OR_SAFETY:
            self.error(
                node,
                f"discloses: basis {basis} needs 'threat_field': the text field of the step "
                "where the threat to the student's health or safety is recorded "
                "(34 CFR 99.32(a)(5))",
            )
        if len(self.issues) > before or basis is None or recipient is None or fields is None:
            return None
        return StepDisclosure(
            basis=basis,
            categories=categories,
            recipient=recipient,
            when=when,
            threat_field=threat_field,
        )

    def _read_one_of(
        self, node: Node, options: tuple[str, ...], *, what: str, listing: str
    ) -> str | None:
        value = self.identifier(node, what=what)
        if value is None:
            return None
        if value not in options:
            self.error(
                node,
                f"unknown {what} {value!r}{suggestion(value, options)}; "
                f"{listing} are: {', '.join(options)}",
            )
            return None
        return value

    def _read_categories(self, node: Node) -> tuple[str, ...]:
        items = self.text_list(node, what="categories")
        if items is None:
            return ()
        if not node.value:
            self.error(node, "categories: list at least one kind of information released")
        categories: list[str] = []
        for item in items:
            category = scalar_text(item)
            if category in categories:
                self.error(item, f"categories: {category!r} is listed twice")
                continue
            categories.append(category)
        return tuple(categories)

    def _read_step_field(
        self,
        node: Node,
        draft: StepDraft,
        fields: dict[str, FieldSpec] | None,
        types: tuple[str, ...],
        *,
        what: str,
    ) -> str | None:
        """A name of one of the step's own fields, of one of TYPES."""
        name = self.identifier(node, what=what)
        if name is None or fields is None:
            return name
        if name not in fields:
            self.error(node, f"{what}: {self._not_a_field(name, draft)}")
            return None
        field_type = fields[name].type
        if field_type not in types:
            self.error(
                node,
                f"{what}: field {name!r} is a {field_type} field; name a "
                f"{_either(types)} field of the step",
            )
            return None
        return name

    def _read_recipient(
        self, node: Node, draft: StepDraft, fields: dict[str, FieldSpec] | None
    ) -> DisclosureRecipient | None:
        m = self.mapping(
            node, required=RECIPIENT_REQUIRED, optional=RECIPIENT_OPTIONAL, what="recipient"
        )
        if m is None or "field" not in m:
            return None
        field_name = self._read_step_field(
            m["field"].value, draft, fields, RECIPIENT_FIELD_TYPES, what="recipient field"
        )
        spec = fields.get(field_name) if fields is not None and field_name else None
        if spec is not None:
            self._check_recipient_keys(m, node, spec)
        kind = None
        if "type" in m:
            kind = self._read_one_of(
                m["type"].value, RECIPIENT_TYPES, what="recipient type", listing="recipient types"
            )
        values, inside = self._read_recipient_choices(m, spec)
        named_by = self._read_recipient_name_field(m, "named_by", draft, fields, field_name)
        qualifier = self._read_recipient_name_field(m, "qualifier", draft, fields, field_name)
        if_blank = self.text(m["if_blank"].value, what="if_blank") if "if_blank" in m else None
        if field_name is None:
            return None
        return DisclosureRecipient(
            field_name=field_name,
            type=kind,
            values=values,
            inside=tuple(inside),
            named_by=named_by,
            qualifier=qualifier,
            if_blank=if_blank,
        )

    def _check_recipient_keys(self, m: KeyMap, node: Node, spec: FieldSpec) -> None:
        """Which keys go with the recipient field: a choice's recipients are per value."""
        if spec.type == "choice":
            not_here = ("type", "if_blank")
            why = "a choice field gives each value's recipient under 'values'"
            needed = ("values", "a choice field's recipient of each value")
        else:
            not_here = ("values", "inside")
            why = "'values' and 'inside' are for a choice field; give the recipient's 'type'"
            needed = ("type", f"the kind of recipient the {spec.type} field names")
        for key in not_here:
            if key in m:
                self.error(m[key].key, f"{key!r} does not apply to a {spec.type} field: {why}")
        if needed[0] not in m:
            self.error(node, f"recipient: missing required key {needed[0]!r} ({needed[1]})")

    def _read_recipient_choices(
        self, m: KeyMap, spec: FieldSpec | None
    ) -> tuple[dict[str, RecipientValue], list[str]]:
        """A choice field's recipient of each value, and the values that stay inside.

        Read also when the field could not be checked (``spec`` is None), so their own
        errors are still reported; a field of another type already has them reported.
        """
        if spec is not None and spec.type != "choice":
            return {}, []
        values: dict[str, RecipientValue] = {}
        given: set[str] = set()  # every value written under 'values', even a broken one
        if "values" in m:
            values, given = self._read_recipient_values(m["values"].value, spec)
        inside: list[str] = []
        if "inside" in m:
            inside = self._read_inside(m["inside"].value, spec, given)
        if spec is not None and "values" in m:
            # Every choice must be accounted for: given a recipient, or kept inside.
            missing = [c for c in spec.choices if c not in given and c not in inside]
            for choice in missing:
                self.error(
                    m["values"].value,
                    f"values: choice {choice!r} of field {spec.name!r} needs a recipient here, "
                    "or a place under 'inside' if nothing leaves the district",
                )
        return values, inside

    def _read_recipient_name_field(
        self,
        m: KeyMap,
        key: str,
        draft: StepDraft,
        fields: dict[str, FieldSpec] | None,
        field_name: str | None,
    ) -> str | None:
        """``named_by`` or ``qualifier``: a text field of the step that adds to the
        recipient's name, which cannot be the recipient field itself."""
        if key not in m:
            return None
        name = self._read_step_field(m[key].value, draft, fields, TEXT_FIELD_TYPES, what=key)
        if name is not None and name == field_name:
            self.error(m[key].value, f"{key}: {name!r} is the recipient field itself")
            return None
        return name

    def _read_recipient_values(
        self, node: Node, spec: FieldSpec | None
    ) -> tuple[dict[str, RecipientValue], set[str]]:
        """The recipient of each value, and every value given (even one not read whole)."""
        if not isinstance(node, MappingNode):
            self.error(
                node, f"values: expected a mapping of choice: {{type, name}}, got {describe(node)}"
            )
            return {}, set(spec.choices if spec is not None else ())
        values: dict[str, RecipientValue] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            value = self.identifier(key_node, what="values key")
            if value is None:
                continue
            if value in seen:
                self.error(key_node, f"duplicate key {value!r}")
                continue
            seen.add(value)
            if spec is not None and value not in spec.choices:
                self.error(key_node, f"values: {self._not_a_choice(value, spec)}")
                continue
            m = self.mapping(
                value_node,
                required=RECIPIENT_VALUE_REQUIRED,
                optional=RECIPIENT_VALUE_OPTIONAL,
                what=f"recipient of {value!r}",
            )
            if m is None or "type" not in m:
                continue
            kind = self._read_one_of(
                m["type"].value, RECIPIENT_TYPES, what="recipient type", listing="recipient types"
            )
            name = self.text(m["name"].value, what="name") if "name" in m else None
            if kind is None or ("name" in m and name is None):
                continue
            # Unnamed: as the field's choice is labelled, else the value in words.
            label = spec.choice_label(value) if spec is not None else None
            values[value] = RecipientValue(kind, name or label or value.replace("_", " "))
        return values, seen

    def _read_inside(self, node: Node, spec: FieldSpec | None, values: set[str]) -> list[str]:
        items = self.text_list(node, what="inside", identifiers=True)
        inside: list[str] = []
        for item in items or []:
            value = scalar_text(item)
            if value in inside:
                self.error(item, f"inside: {value!r} is listed twice")
            elif spec is not None and value not in spec.choices:
                self.error(item, f"inside: {self._not_a_choice(value, spec)}")
            elif value in values:
                self.error(
                    item,
                    f"inside: {value!r} also has a recipient under 'values'; a value either "
                    "stays inside the district or names who received the information",
                )
            else:
                inside.append(value)
        return inside

    def _read_when(
        self,
        node: Node,
        draft: StepDraft,
        fields: dict[str, FieldSpec] | None,
        *,
        what: str = "when",
        itself: str | None = None,
    ) -> DetailIs | None:
        """``{field: NAME, is: VALUE}`` on a choice or yes/no field of the step.

        ``itself`` is the field the condition belongs to, which it may not name.
        """
        m = self.mapping(node, required=WHEN_KEYS, what=what)
        if m is None or "field" not in m or "is" not in m:
            return None
        field_name = self._read_step_field(
            m["field"].value, draft, fields, WHEN_FIELD_TYPES, what=f"{what} field"
        )
        if field_name is not None and field_name == itself:
            self.error(m["field"].value, f"{what} field: {field_name!r} is the field itself")
            return None
        spec = fields.get(field_name) if fields is not None and field_name else None
        if spec is None:
            return None
        is_node = m["is"].value
        if spec.type == "yes_no":
            answer = self.boolean(is_node, what="is")
            return None if answer is None else DetailIs(spec.name, answer)
        value = self.identifier(is_node, what="is")
        if value is None:
            return None
        if value not in spec.choices:
            self.error(is_node, f"is: {self._not_a_choice(value, spec)}")
            return None
        return DetailIs(spec.name, value)

    def _not_a_choice(self, value: str, spec: FieldSpec) -> str:
        hint = suggestion(value, spec.choices)
        return (
            f"{value!r} is not a choice of field {spec.name!r}{hint}; "
            f"its choices are: {', '.join(spec.choices)}"
        )

    def _read_names(self, node: Node, *, kind: str, what: str) -> tuple[str, ...]:
        return tuple(scalar_text(n) for n in self._read_name_nodes(node, kind=kind, what=what))

    def _read_name_nodes(self, node: Node, *, kind: str, what: str) -> list[Node]:
        """A list of references to roles/facts/steps, without repeats."""
        items = self.text_list(node, what=what, identifiers=True)
        if items is None:
            return []
        seen: dict[str, Node] = {}
        for item in items:
            name = scalar_text(item)
            if name in seen:
                self.error(item, f"{what}: {name!r} is listed twice")
                continue
            seen[name] = item
            self.refs.append(Ref(kind, name, item))
        return list(seen.values())

    def _read_condition(self, node: Node) -> Condition | None:
        m = self.mapping(node, optional=(*CONDITION_OPERATORS, "is"), what="condition")
        if m is None:
            return None
        operators = [key for key in CONDITION_OPERATORS if key in m]
        if len(operators) != 1:
            found = f" (found {', '.join(operators)})" if operators else ""
            self.error(node, f"a condition needs exactly one of: fact, all, any, not{found}")
            return None
        operator = operators[0]
        if "is" in m and operator != "fact":
            self.error(
                m["is"].key, "'is' goes with 'fact' (e.g. {fact: reliable_evidence, is: true})"
            )
            return None
        value_node = m[operator].value
        if operator == "fact":
            fact = self.identifier(value_node, what="fact")
            expected = True
            if "is" in m:
                read = self.boolean(m["is"].value, what="is")
                if read is None:
                    return None
                expected = read
            if fact is None:
                return None
            self.refs.append(Ref("fact", fact, value_node))
            return FactIs(fact, expected)
        if operator == "not":
            inner = self._read_condition(value_node)
            return None if inner is None else Not(inner)
        items = self.sequence(value_node, what=operator)
        if items is None:
            return None
        if not items:
            self.error(value_node, f"{operator}: list at least one condition")
            return None
        parts = [self._read_condition(item) for item in items]
        if any(part is None for part in parts):
            return None
        conditions = tuple(part for part in parts if part is not None)
        return AllOf(conditions) if operator == "all" else AnyOf(conditions)

    def _read_deadline(self, node: Node) -> DeadlineDraft | None:
        m = self.mapping(node, required=DEADLINE_KEYS, what="deadline")
        if m is None or "from" not in m or "within" not in m:
            return None
        from_node = m["from"].value
        anchor = self.text(from_node, what="deadline from")
        within_text = self.text(m["within"].value, what="deadline within")
        duration = None
        if within_text is not None:
            try:
                duration = parse_duration(within_text)
            except DurationError as error:
                self.error(m["within"].value, str(error))
            else:
                if duration.is_zero:
                    self.error(m["within"].value, "a deadline must be longer than zero")
                    duration = None
        if anchor is not None:
            if anchor.startswith(ANCHOR_STEP_PREFIX):
                step_id = anchor[len(ANCHOR_STEP_PREFIX) :]
                if not IDENTIFIER.fullmatch(step_id):
                    self.error(from_node, f"{anchor!r} does not name a step (use step:<step id>)")
                    anchor = None
                else:
                    self.refs.append(Ref("step", step_id, from_node))
            elif anchor not in CASE_ANCHORS:
                choices = [*CASE_ANCHORS, "step:<step id>"]
                self.error(
                    from_node,
                    f"unknown deadline anchor {anchor!r}{suggestion(anchor, CASE_ANCHORS)}; "
                    f"use one of: {', '.join(choices)}",
                )
                anchor = None
        if anchor is None or duration is None or within_text is None:
            return None
        return DeadlineDraft(Deadline(anchor, duration, within_text), from_node)

    # Fields --------------------------------------------------------------------------

    def _read_fields(self, node: Node) -> tuple[tuple[FieldSpec, ...], bool, dict[str, FieldRefs]]:
        """The step's fields, whether every one of them could be read, and their references."""
        items = self.sequence(node, what="fields")
        if items is None:
            return (), False, {}
        complete = True
        specs: list[FieldSpec] = []
        first_seen: dict[str, Node] = {}
        refs: dict[str, FieldRefs] = {}
        for item in items:
            m = self.mapping(item, required=FIELD_REQUIRED, optional=FIELD_OPTIONAL, what="field")
            if m is None:
                complete = False
                continue
            spec, field_refs = self._read_field(m, item)
            if spec is None:
                complete = False
                continue
            name_node = m["name"].value
            if spec.name in first_seen:
                line = position(first_seen[spec.name])[0]
                self.error(name_node, f"duplicate field name {spec.name!r} (first at line {line})")
                continue
            first_seen[spec.name] = name_node
            specs.append(spec)
            refs[spec.name] = field_refs
        if complete:
            self._check_not_before(specs, {name: ref.not_before for name, ref in refs.items()})
        return tuple(specs), complete, refs

    def _resolve_required_when(
        self, draft: StepDraft, refs: dict[str, FieldRefs]
    ) -> tuple[FieldSpec, ...]:
        """The fields with their ``required_when`` read against the step's other fields."""
        fields = {spec.name: spec for spec in draft.fields}
        resolved: list[FieldSpec] = []
        for spec in draft.fields:
            node = refs[spec.name].required_when
            if node is not None:
                when = self._read_when(node, draft, fields, what="required_when", itself=spec.name)
                spec = dataclasses.replace(spec, required_when=when)
            resolved.append(spec)
        return tuple(resolved)

    def _read_not_before_nodes(self, node: Node) -> list[Node]:
        items = self.text_list(node, what="not_before", identifiers=True)
        if items is None:
            return []
        seen: dict[str, Node] = {}
        for item in items:
            name = scalar_text(item)
            if name in seen:
                self.error(item, f"not_before: {name!r} is listed twice")
                continue
            seen[name] = item
        return list(seen.values())

    def _check_not_before(self, specs: list[FieldSpec], nodes: dict[str, list[Node]]) -> None:
        """Each name must be another datetime field of the step, or a case anchor."""
        types = {spec.name: spec.type for spec in specs}
        for field_name, items in nodes.items():
            for item in items:
                name = scalar_text(item)
                if name == field_name:
                    self.error(item, f"not_before: field {name!r} cannot be compared with itself")
                elif name in CASE_ANCHORS:
                    continue
                elif name not in types:
                    options = [n for n, t in types.items() if t == "datetime" and n != field_name]
                    hint = suggestion(name, [*options, *CASE_ANCHORS])
                    self.error(
                        item,
                        f"not_before: unknown field or case time {name!r}{hint}; name another "
                        f"datetime field of this step or one of: {', '.join(CASE_ANCHORS)}",
                    )
                elif types[name] != "datetime":
                    self.error(
                        item,
                        f"not_before: field {name!r} is a {types[name]} field; only datetime "
                        "fields can be compared",
                    )

    def _read_field(self, m: KeyMap, node: Node) -> tuple[FieldSpec | None, FieldRefs]:
        """A field, and the nodes of its keys that name other fields (for positions)."""
        name = self.identifier(m["name"].value, what="field name") if "name" in m else None
        translations: dict[str, dict[str, str]] = {}
        label = (
            self._words(m["label"].value, what="label", into=translations) if "label" in m else None
        )
        help_text = self._optional_words(m, "help", into=translations)
        field_type = self._read_field_type(m)
        flags: dict[str, bool] = {}
        for flag in ("required", "record_either_way", "police_only"):
            if flag in m:
                flags[flag] = bool(self.boolean(m[flag].value, what=flag))
        choices, labels, report_labels, label_translations = self._read_choices(m, field_type, node)
        refused = self._read_refused(m, field_type, choices)
        minimum, maximum = self._read_bounds(m, field_type)
        refs = self._read_field_refs(m, field_type, required=flags.get("required", False))
        form_field = None
        if "form_field" in m:
            form_field = self._read_form_field(m["form_field"].value)
            if form_field is not None:
                refs.form_field = m["form_field"].value
        if name is None or label is None or field_type is None:
            return None, refs
        return FieldSpec(
            name=name,
            label=label,
            type=field_type,
            required=flags.get("required", False),
            choices=choices,
            help=help_text,
            record_either_way=flags.get("record_either_way", False),
            refused=refused,
            police_only=flags.get("police_only", False),
            minimum=minimum,
            maximum=maximum,
            not_before=tuple(scalar_text(n) for n in refs.not_before),
            choice_labels=labels,
            report_labels=report_labels,
            form_field=form_field,
            translations=translations,
            choice_label_translations=label_translations,
        ), refs

    def _read_field_type(self, m: KeyMap) -> str | None:
        """The field's type, or None if it is missing or unknown (already reported)."""
        field_type = self.text(m["type"].value, what="type") if "type" in m else None
        if field_type is not None and field_type not in FIELD_TYPES:
            self.error(
                m["type"].value,
                f"unknown field type {field_type!r}{suggestion(field_type, FIELD_TYPES)}; "
                f"types are: {', '.join(FIELD_TYPES)}",
            )
            return None
        return field_type

    def _read_bounds(self, m: KeyMap, field_type: str | None) -> tuple[int | None, int | None]:
        """An integer field's ``min`` (1 unless given) and ``max``; None for other types.

        With the type unknown the bounds are still read, so their own errors show.
        """
        bounds: dict[str, int | None] = {"min": None, "max": None}
        for key in ("min", "max"):
            if key not in m:
                continue
            if field_type is not None and field_type != "integer":
                self.error(m[key].key, f"{key!r} applies only to integer fields")
                continue
            bounds[key] = self.integer(m[key].value, what=key)
        if field_type != "integer":
            return None, None
        minimum = bounds["min"] if bounds["min"] is not None else 1
        maximum = bounds["max"]
        if maximum is not None and maximum < minimum:
            self.error(m["max"].value, f"max ({maximum}) is less than min ({minimum})")
        return minimum, maximum

    def _read_field_refs(self, m: KeyMap, field_type: str | None, *, required: bool) -> FieldRefs:
        """The nodes of ``not_before`` and ``required_when``, which name other fields of
        the step: their names are checked against the other fields once all are read."""
        refs = FieldRefs()
        if "not_before" in m:
            if field_type is not None and field_type != "datetime":
                self.error(m["not_before"].key, "'not_before' applies only to datetime fields")
            elif field_type is not None:
                refs.not_before = self._read_not_before_nodes(m["not_before"].value)
        if "required_when" in m:
            if required:
                self.error(
                    m["required_when"].key,
                    "'required_when' is for a field that is not always required; this field "
                    "has required: true",
                )
            else:
                refs.required_when = m["required_when"].value
        return refs

    def _read_form_field(self, node: Node) -> str | None:
        value = self.text(node, what="form_field")
        if value is not None and not FORM_FIELD.fullmatch(value):
            self.error(
                node,
                f"form_field {value!r} must name a field of the SS 8572 as a section letter "
                "A to E, a dot and a lower-case name with underscores (e.g. B.official_phone)",
            )
            return None
        return value

    def _read_choices(
        self, m: KeyMap, field_type: str | None, node: Node
    ) -> tuple[tuple[str, ...], dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
        """The choice values, in order, the labels and report labels given to them, and
        the labels' translations (value -> language -> text)."""
        if "choices" not in m:
            if field_type in CHOICE_TYPES:
                self.error(node, f"a {field_type} field needs a non-empty 'choices' list")
            return (), {}, {}, {}
        choices_node = m["choices"].value
        if field_type is not None and field_type not in (*CHOICE_TYPES, "list"):
            self.error(
                m["choices"].key,
                f"'choices' applies only to choice, multi_choice and list fields, not {field_type}",
            )
            return (), {}, {}, {}
        items = self.sequence(choices_node, what="choice")
        if items is None:
            return (), {}, {}, {}
        if field_type in CHOICE_TYPES and not items:
            self.error(choices_node, f"a {field_type} field needs a non-empty 'choices' list")
        values: list[str] = []
        labels: dict[str, str] = {}
        report_labels: dict[str, str] = {}
        label_translations: dict[str, dict[str, str]] = {}
        for item in items:
            translations: dict[str, dict[str, str]] = {}
            value_node, value, label, report_label = self._read_choice(
                item, field_type, translations
            )
            if value is None:
                continue
            if value in values:
                self.error(value_node, f"choice {value!r} is listed twice")
                continue
            values.append(value)
            if label is not None:
                labels[value] = label
            if report_label is not None:
                report_labels[value] = report_label
            if "label" in translations:
                label_translations[value] = translations["label"]
        return tuple(values), labels, report_labels, label_translations

    def _read_choice(
        self, item: Node, field_type: str | None, translations: dict[str, dict[str, str]]
    ) -> tuple[Node, str | None, str | None, str | None]:
        """One choice: a value, or ``{value, label, report_label}``.

        Stored choice values are identifiers; a list's choices are free suggestions,
        written as the text itself.
        """
        if not isinstance(item, MappingNode):
            if field_type == "list":
                return item, self.text(item, what="choice item"), None, None
            return item, self.identifier(item, what="choice"), None, None
        if field_type == "list":
            self.error(
                item,
                "a list field's choices are suggestions, each written as the text itself; "
                "labels are for choice and multi_choice fields",
            )
            return item, None, None, None
        m = self.mapping(item, required=CHOICE_REQUIRED, optional=CHOICE_OPTIONAL, what="choice")
        if m is None or "value" not in m:
            return item, None, None, None
        value = self.identifier(m["value"].value, what="choice")
        label = (
            self._words(m["label"].value, what="choice label", into=translations)
            if "label" in m
            else None
        )
        report_label = None
        if "report_label" in m:
            report_label = self.text(m["report_label"].value, what="report_label")
        return m["value"].value, value, label, report_label

    def _read_refused(
        self, m: KeyMap, field_type: str | None, choices: tuple[str, ...]
    ) -> dict[str, str]:
        if "refused" not in m:
            return {}
        if field_type is not None and field_type not in CHOICE_TYPES:
            self.error(m["refused"].key, "'refused' applies only to choice and multi_choice fields")
            return {}
        refused_node = m["refused"].value
        if not isinstance(refused_node, MappingNode):
            self.error(refused_node, "refused: expected a mapping of value: message")
            return {}
        refused: dict[str, str] = {}
        for key_node, message_node in refused_node.value:
            value = self.identifier(key_node, what="refused value")
            message = self.text(message_node, what="refusal message")
            if value is None or message is None:
                continue
            if value in refused:
                self.error(key_node, f"duplicate key {value!r}")
                continue
            if value in choices:
                self.error(
                    key_node,
                    f"{value!r} is both a choice and refused; a refused value must not be "
                    "offered as a choice",
                )
                continue
            refused[value] = message
        return refused

    # Pathways ------------------------------------------------------------------------

    def _read_pathways(self, node: Node) -> None:
        items = self.sequence(node, what="pathways")
        if items is None:
            self.complete["pathway"] = False
            return
        if not items:
            self.error(node, "pathways: list at least one pathway")
        for item in items:
            m = self.mapping(
                item, required=PATHWAY_REQUIRED, optional=PATHWAY_OPTIONAL, what="pathway"
            )
            if m is None:
                self.complete["pathway"] = False
                continue
            pathway_id = self.identifier(m["id"].value, what="pathway id") if "id" in m else None
            if pathway_id is None:
                self.complete["pathway"] = False
                continue
            draft = PathwayDraft(id=pathway_id, id_node=m["id"].value, node=item)
            if "code" in m:
                code_node = m["code"].value
                code = self.text(code_node, what="code")
                if code is not None and not _is_pathway_code(code):
                    self.error(code_node, f"code {code!r} must be 1 to 3 capital letters (e.g. B)")
                    code = None
                draft.code, draft.code_node = code or "", code_node
            if "title" in m:
                draft.title = (
                    self._words(m["title"].value, what="title", into=draft.translations) or ""
                )
            draft.description = self._optional_words(m, "description", into=draft.translations)
            if "steps" in m:
                draft.entries = self._read_pathway_steps(m["steps"].value, pathway_id)
            self.pathways.append(draft)

    def _read_pathway_steps(self, node: Node, pathway_id: str) -> list[StepEntry]:
        items = self.sequence(node, what="steps")
        if items is None:
            return []
        if not items:
            self.error(node, "steps: list at least one step")
        entries: list[StepEntry] = []
        for item in items:
            if isinstance(item, ScalarNode):
                step_id = self.identifier(item, what="step id")
                if step_id is not None:
                    entries.append(StepEntry(step_id=step_id, node=item))
                continue
            entry = self._read_pathway_step_mapping(item, pathway_id)
            if entry is not None:
                entries.append(entry)
        return entries

    def _read_pathway_step_mapping(self, node: Node, pathway_id: str) -> StepEntry | None:
        library_step = self.library.get(_peek_text(node, "id") or "")
        if library_step is None:
            # Written out in full here, like a library step (plus an optional number).
            m = self.mapping(
                node, required=STEP_REQUIRED, optional=(*STEP_OPTIONAL, "number"), what="step"
            )
            if m is None:
                return None
            draft = self._read_step(m, origin=pathway_id)
            if draft is None:
                return None
            entry = StepEntry(step_id=draft.id, node=node, inline=draft)
        else:
            line = position(library_step.id_node)[0]
            misplaced = {
                key: (
                    f"{key!r} cannot be set here: step {library_step.id!r} comes from the step "
                    f"library (line {line}), which defines it once for every pathway; a pathway "
                    f"may set only: {', '.join(PATHWAY_STEP_OVERRIDES)}"
                )
                for key in STEP_REQUIRED + STEP_OPTIONAL
                if key not in PATHWAY_STEP_OVERRIDES and key != "id"
            }
            m = self.mapping(
                node,
                required=("id",),
                optional=PATHWAY_STEP_OVERRIDES,
                what="pathway step",
                misplaced=misplaced,
            )
            if m is None:
                return None
            entry = StepEntry(step_id=library_step.id, node=node)
            if "title" in m:
                entry.title = self._words(m["title"].value, what="title", into=entry.translations)
            if "guidance" in m:
                entry.guidance = self._words(
                    m["guidance"].value, what="guidance", into=entry.translations, allow_empty=True
                )
            if "condition" in m:
                entry.overrides_condition = True
                if not self.is_null(m["condition"].value):  # null: no condition here
                    entry.condition = self._read_condition(m["condition"].value)
            if "deadline" in m:
                entry.overrides_deadline = True
                if not self.is_null(m["deadline"].value):  # null: no deadline here
                    entry.deadline = self._read_deadline(m["deadline"].value)
            if "may_not_apply" in m:
                entry.may_not_apply = self.boolean(m["may_not_apply"].value, what="may_not_apply")
        if "number" in m:
            entry.number_node = m["number"].value
            entry.number = self.integer(entry.number_node, what="number")
        return entry

    # Escalations and indicators --------------------------------------------------------

    def _read_escalations(self, node: Node) -> None:
        items = self.sequence(node, what="escalations")
        if items is None:
            return
        for item in items:
            m = self.mapping(
                item, required=ESCALATION_REQUIRED, optional=ESCALATION_OPTIONAL, what="escalation"
            )
            if m is None:
                continue
            ends: dict[str, tuple[str | None, Node | None]] = {}
            for key in ("from", "to"):
                if key in m:
                    ends[key] = (self.identifier(m[key].value, what=key), m[key].value)
                else:
                    ends[key] = (None, None)
            translations: dict[str, dict[str, str]] = {}
            title = self._optional_words(m, "title", into=translations)
            carries: list[tuple[str, Node]] = []
            carries_node = m["carries"].value if "carries" in m else None
            if carries_node is not None:
                items_ok = self.text_list(carries_node, what="carried step", identifiers=True)
                for carried in items_ok or []:
                    name = scalar_text(carried)
                    if any(name == seen for seen, _ in carries):
                        self.error(carried, f"carries: {name!r} is listed twice")
                        continue
                    carries.append((name, carried))
            self.escalations.append(
                EscalationDraft(
                    node=item,
                    from_id=ends["from"][0],
                    from_node=ends["from"][1],
                    to_id=ends["to"][0],
                    to_node=ends["to"][1],
                    title=title,
                    carries=carries,
                    carries_node=carries_node,
                    translations=translations,
                )
            )

    def _read_indicators(self, node: Node) -> None:
        items = self.sequence(node, what="indicators")
        if items is None:
            return
        first_seen: dict[str, Node] = {}
        for item in items:
            m = self.mapping(item, required=INDICATOR_KEYS, what="indicator")
            if m is None or any(key not in m for key in INDICATOR_KEYS):
                continue
            indicator_id = self.identifier(m["id"].value, what="indicator id")
            group = self.identifier(m["group"].value, what="indicator group")
            translations: dict[str, dict[str, str]] = {}
            text = self._words(
                m["text"].value, what="indicator text", into=translations, key="text"
            )
            if indicator_id is None or group is None or text is None:
                continue
            if indicator_id in first_seen:
                line = position(first_seen[indicator_id])[0]
                self.error(
                    m["id"].value, f"duplicate indicator id {indicator_id!r} (first at line {line})"
                )
                continue
            first_seen[indicator_id] = m["id"].value
            self.indicators.append(Indicator(indicator_id, group, text, translations))

    # Small helpers -----------------------------------------------------------------

    def _optional_text(self, m: KeyMap, key: str) -> str:
        if key not in m:
            return ""
        return self.text(m[key].value, what=key, allow_empty=True) or ""

    def _optional_words(self, m: KeyMap, key: str, *, into: dict[str, dict[str, str]]) -> str:
        """Like _optional_text, for words people read: text or ``{en: ..., es: ...}``."""
        if key not in m:
            return ""
        return self._words(m[key].value, what=key, into=into, allow_empty=True) or ""

    def _words(
        self,
        node: Node,
        *,
        what: str,
        into: dict[str, dict[str, str]],
        key: str | None = None,
        allow_empty: bool = False,
    ) -> str | None:
        """Words people read: plain text (English), or a mapping of language codes to text
        with ``en`` required. Returns the English text; the other languages' texts are
        stored in INTO under KEY (default: the last word of WHAT, e.g. ``title``)."""
        if not isinstance(node, MappingNode):
            return self.text(node, what=what, allow_empty=allow_empty)
        key = key or what.split()[-1]
        texts: dict[str, str] = {}
        first_seen: dict[str, Node] = {}
        complete = True
        for language_node, text_node in node.value:
            if not isinstance(language_node, ScalarNode) or language_node.tag != TAG_STR:
                self.error(
                    language_node,
                    f"{what}: languages are codes such as en or es, got {describe(language_node)}",
                )
                complete = False
                continue
            language = language_node.value
            if language in first_seen:
                line = position(first_seen[language])[0]
                self.error(language_node, f"duplicate language {language!r} (first at line {line})")
                complete = False
                continue
            first_seen[language] = language_node
            if language not in LANGUAGES:
                self.error(
                    language_node,
                    f"{what}: unknown language {language!r}{suggestion(language, LANGUAGES)}; "
                    f"SafeStep's languages are: {', '.join(LANGUAGES)}",
                )
                complete = False
                continue
            text = self.text(text_node, what=f"{what} ({language})", allow_empty=allow_empty)
            if text is None:
                complete = False
                continue
            texts[language] = text
        if "en" not in first_seen:
            self.error(node, f"{what}: missing required key 'en' (English is always given)")
            return None
        if not complete:
            return None
        others = {language: text for language, text in texts.items() if language != "en" and text}
        if others:
            into[key] = others
        return texts["en"]


def _either(words: tuple[str, ...]) -> str:
    """``a, b or c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _peek_text(node: Node, key: str) -> str | None:
    """The text of ``key`` in a mapping node, without reporting anything."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == key and isinstance(value_node, ScalarNode):
                return str(value_node.value).strip()
    return None


def _is_pathway_code(code: str) -> bool:
    return 1 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.isupper()


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
