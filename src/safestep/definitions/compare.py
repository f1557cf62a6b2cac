"""What changes between two protocol definitions, pathway by pathway, in a person's words.

The district coordinator reads this before loading or activating a version: which steps a
pathway gains, which it loses, and which it keeps but with other rules (who acts, the
deadline, the fields asked, the condition). Steps are matched by their id, which is what
cases store; a step whose id changed reads as one removed and one added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from safestep.protocol import Pathway, Protocol, Step

# What a step's attributes are called when they differ (attributes not listed: by name).
ASPECTS: dict[str, str] = {
    "number": "place in the pathway",
    "code": "number",
    "title": "title",
    "guidance": "guidance",
    "actor_roles": "who acts",
    "condition": "when it applies",
    "fields": "what is recorded",
    "deadline": "deadline",
    "depends_on": "what it waits for",
    "recurring": "repetition",
    "police_only": "police-only details",
    "may_not_apply": "whether it may not apply",
    "review_when_not_applicable": "review when it does not apply",
    "progress": "partial progress",
    "done_at_field": "when it counts as done",
    "role": "step role",
    "discloses": "what it discloses",
}


@dataclass(frozen=True)
class StepChange:
    step: Step
    aspects: tuple[str, ...]  # in words, e.g. ("deadline", "who acts")


@dataclass(frozen=True)
class PathwayDifference:
    """One pathway's differences; a pathway only one side has lists all its steps."""

    pathway_id: str
    title: str
    added: list[Step] = field(default_factory=list)
    removed: list[Step] = field(default_factory=list)
    changed: list[StepChange] = field(default_factory=list)
    pathway_added: bool = False
    pathway_removed: bool = False

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def step_aspects(old: Step, new: Step) -> tuple[str, ...]:
    """The attributes in which NEW differs from OLD, in words."""
    return tuple(
        ASPECTS.get(item.name, item.name.replace("_", " "))
        for item in fields(Step)
        if getattr(old, item.name) != getattr(new, item.name)
    )


def _pathway_difference(old: Pathway | None, new: Pathway | None) -> PathwayDifference:
    shown = new if new is not None else old
    assert shown is not None, "a pathway is on one side at least"
    before = {step.id: step for step in old.steps} if old is not None else {}
    after = {step.id: step for step in new.steps} if new is not None else {}
    changed = []
    for step_id, step in after.items():
        if step_id in before and before[step_id] != step:
            changed.append(StepChange(step, step_aspects(before[step_id], step)))
    return PathwayDifference(
        pathway_id=shown.id,
        title=f"{shown.code} · {shown.title}",
        added=[step for step_id, step in after.items() if step_id not in before],
        removed=[step for step_id, step in before.items() if step_id not in after],
        changed=changed,
        pathway_added=old is None,
        pathway_removed=new is None,
    )


def protocol_differences(old: Protocol, new: Protocol) -> list[PathwayDifference]:
    """Each pathway of NEW (then each pathway only OLD has), with what changed in it."""
    before = {pathway.id: pathway for pathway in old.pathways}
    after = {pathway.id: pathway for pathway in new.pathways}
    differences = [_pathway_difference(before.get(key), pathway) for key, pathway in after.items()]
    differences += [
        _pathway_difference(pathway, None) for key, pathway in before.items() if key not in after
    ]
    return differences
