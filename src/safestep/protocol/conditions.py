"""Step conditions: a small declarative tree over the protocol's yes/no facts.

Conditions are data, never code: a definition file can only combine facts with
all/any/not, so loading a district's protocol can never run anything.

Evaluation uses three-valued (Kleene) logic. A fact nobody has answered yet is
``None`` ("unknown"), and unknown propagates unless the answer is already decided:
``False AND unknown`` is ``False``, ``True OR unknown`` is ``True``. A step whose
condition is unknown stays pending, because the protocol asks people to decide; it
never decides for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class FactIs:
    """True when the fact has been answered with ``value``."""

    fact: str
    value: bool = True


@dataclass(frozen=True, slots=True)
class AllOf:
    """True when every item is true (Kleene AND)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when at least one item is true (Kleene OR)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The negation of ``item``; unknown stays unknown."""

    item: Condition


Condition: TypeAlias = FactIs | AllOf | AnyOf | Not

FactValues: TypeAlias = Mapping[str, bool | None]


def evaluate_condition(condition: Condition, facts: FactValues) -> bool | None:
    """Evaluate ``condition`` against answered facts; ``None`` means "not known yet".

    A fact missing from ``facts`` counts as unanswered.
    """
    if isinstance(condition, FactIs):
        answer = facts.get(condition.fact)
        if answer is None:
            return None
        return answer is condition.value
    if isinstance(condition, Not):
        inner = evaluate_condition(condition.item, facts)
        return None if inner is None else not inner
    if isinstance(condition, AllOf):
        saw_unknown = False
        for item in condition.items:
            value = evaluate_condition(item, facts)
            if value is False:
                return False
            if value is None:
                saw_unknown = True
        return None if saw_unknown else True
    if isinstance(condition, AnyOf):
        saw_unknown = False
        for item in condition.items:
            value = evaluate_condition(item, facts)
            if value is True:
                return True
            if value is None:
                saw_unknown = True
        return None if saw_unknown else False
    raise TypeError(f"not a condition: {condition!r}")


def iter_condition_facts(condition: Condition) -> Iterator[str]:
    """Yield every fact id the condition mentions (depth first, repeats kept)."""
    if isinstance(condition, FactIs):
        yield condition.fact
    elif isinstance(condition, Not):
        yield from iter_condition_facts(condition.item)
    else:
        for item in condition.items:
            yield from iter_condition_facts(item)


ConditionData: TypeAlias = dict[str, object]


def condition_to_data(condition: Condition | None) -> ConditionData | None:
    """The condition in the same shape as the definition file (JSON-safe).

    ``{"fact": "reliable_evidence", "is": true}``, ``{"all": [...]}``,
    ``{"any": [...]}`` or ``{"not": {...}}``; ``None`` for an unconditional step.
    """
    if condition is None:
        return None
    if isinstance(condition, FactIs):
        return {"fact": condition.fact, "is": condition.value}
    if isinstance(condition, Not):
        return {"not": condition_to_data(condition.item)}
    key = "all" if isinstance(condition, AllOf) else "any"
    return {key: [condition_to_data(item) for item in condition.items]}


def describe_condition(condition: Condition) -> str:
    """A short readable form, e.g. ``reliable_evidence is yes``."""
    if isinstance(condition, FactIs):
        return f"{condition.fact} is {'yes' if condition.value else 'no'}"
    if isinstance(condition, Not):
        return f"not ({describe_condition(condition.item)})"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    parts = [
        f"({describe_condition(item)})"
        if isinstance(item, AllOf | AnyOf)
        else describe_condition(item)
        for item in condition.items
    ]
    return joiner.join(parts)
