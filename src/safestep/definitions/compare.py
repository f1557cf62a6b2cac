"""What changes between two protocol definitions, pathway by pathway, in a person's words.

The district coordinator reads this before loading or activating a version: which steps a
pathway gains, which it loses, and which it keeps but with other rules (who acts, the
deadline, the fields asked, the condition). Steps are matched by their id, which is what
cases store; a step whose id changed reads as one removed and one added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from django.utils.translation import gettext, gettext_noop

from safestep.protocol import Pathway, Protocol, Step

# What a step's attributes are called when they differ (attributes not listed: by name).
# Marked for the catalogue and translated when the difference is worded (step_aspects).
ASPECTS: dict[str, str] = {
    "number": gettext_noop("place in the pathway"),
    "code": gettext_noop("number"),
    "title": gettext_noop("title"),
    "guidance": gettext_noop("guidance"),
    "actor_roles": gettext_noop("who acts"),
    "condition": gettext_noop("when it applies"),
    "fields": gettext_noop("what is recorded"),
    "deadline": gettext_noop("deadline"),
    "depends_on": gettext_noop("what it waits for"),
    "recurring": gettext_noop("repetition"),
    "police_only": gettext_noop("police-only details"),
    "may_not_apply": gettext_noop("whether it may not apply"),
    "review_when_not_applicable": gettext_noop("review when it does not apply"),
    "progress": gettext_noop("partial progress"),
    "done_at_field": gettext_noop("when it counts as done"),
    "role": gettext_noop("step role"),
    "discloses": gettext_noop("what it discloses"),
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
        gettext(ASPECTS[item.name]) if item.name in ASPECTS else item.name.replace("_", " ")
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
