"""Small-cell suppression for published counts, so that no number identifies a child.

A statistics request asks for counts grouped by some of the dimensions (school, pathway,
month). Anyone may ask for every grouping of the same period, so one answer must never help
to undo another: SafeStep therefore decides what to hide for the whole *lattice* at once,
every grouping from the grand total to the finest table, and every answer is a slice of
that one decision.

Rules, applied until nothing changes (docs/reports.md explains them with examples):

1. **Primary.** A cell under the threshold (11) is hidden, in every grouping.
2. **Groups.** A *group* is the cells of one grouping that differ in one dimension only (a
   row or a column); its *total* is the matching cell of the grouping without that
   dimension. A group holding a hidden cell holds at least two, or its total is hidden too.
3. **Totals.** A hidden total is never the sum of published cells: each of its groups in a
   finer grouping holds at least one hidden cell.
4. **Margins.** In a group whose total is published, the hidden cells add up to at least
   the threshold, so the published numbers never show that hidden cells are zero or tiny.
5. **Audit.** Every published number, of every grouping, is an equation over the finest
   cells. Exact linear algebra then checks that no cell under the threshold can be
   computed from them; if one can, another cell of its groups is hidden and the rules run
   again. Hiding everything is always safe, so this ends.

Complementary cells are chosen smallest first (then in table order), which hides as few
cases as possible and keeps the result the same for the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, product

THRESHOLD = 11
# Equations are solved modulo this prime (2**61 - 1): exact integer arithmetic that stays
# fast. A sum that can be computed over the rationals can also be computed modulo the prime
# (unless a determinant of the 0/1 system is a multiple of it, which does not happen at
# these sizes), so the audit never calls a computable cell safe.
_PRIME = (1 << 61) - 1

Grouping = tuple[str, ...]
Key = tuple[str, ...]


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    grouping: Grouping
    key: Key


@dataclass(frozen=True)
class Suppression:
    """What may be published for every grouping of one set of counts."""

    dimensions: tuple[str, ...]
    values: Mapping[str, tuple[str, ...]]
    counts: Mapping[Cell, int]
    hidden: frozenset[Cell]
    primary: frozenset[Cell]
    threshold: int

    def grouping(self, by: Iterable[str]) -> Grouping:
        wanted = set(by)
        return tuple(name for name in self.dimensions if name in wanted)

    def cells(self, by: Iterable[str]) -> list[Cell]:
        grouping = self.grouping(by)
        return [Cell(grouping, key) for key in _keys(grouping, self.values)]

    def published(self, cell: Cell) -> int | None:
        """The cell's count, or None when it is hidden."""
        return None if cell in self.hidden else self.counts[cell]


def _keys(grouping: Grouping, values: Mapping[str, Sequence[str]]) -> list[Key]:
    return [tuple(key) for key in product(*(values[name] for name in grouping))]


class _Lattice:
    """Every cell of every grouping, numbered, with its groups and the running state.

    Cells are numbers here (a grouping's cells in table order, coarsest grouping first),
    because the rules look at the same groups thousands of times. A group is identified by
    its total and the dimension its members differ in.
    """

    def __init__(
        self,
        dimensions: tuple[str, ...],
        values: Mapping[str, tuple[str, ...]],
        counts: Mapping[Key, int],
        threshold: int,
    ) -> None:
        self.dimensions = dimensions
        self.threshold = threshold
        self.groupings: list[Grouping] = [
            grouping
            for size in range(len(dimensions) + 1)
            for grouping in combinations(dimensions, size)
        ]
        self.cells: list[Cell] = [
            Cell(grouping, key) for grouping in self.groupings for key in _keys(grouping, values)
        ]
        self.number = {cell: index for index, cell in enumerate(self.cells)}
        self.count = [0] * len(self.cells)
        self.finest = [self.number[Cell(dimensions, key)] for key in _keys(dimensions, values)]
        # For each cell of the finest table: the cell above it in every grouping.
        self.ancestors: dict[int, list[int]] = {
            index: [
                self.number[_project(self.cells[index], grouping)] for grouping in self.groupings
            ]
            for index in self.finest
        }
        for full_key, amount in counts.items():
            if amount < 0:
                raise ValueError(f"a count cannot be negative: {full_key} = {amount}")
            cell = Cell(dimensions, tuple(full_key))
            if cell not in self.number:
                raise ValueError(f"{full_key} is not one value of each dimension")
            for ancestor in self.ancestors[self.number[cell]]:
                self.count[ancestor] += amount
        # Groups: the members of (total, dimension), smallest count first.
        self.group_number: dict[tuple[int, str], int] = {}
        members: list[list[int]] = []
        # For each cell: (dimension, group it belongs to, that group's total).
        self.member_of: list[list[tuple[int, int]]] = [[] for _ in self.cells]
        # For each cell: the groups it is the total of.
        self.total_of: list[list[int]] = [[] for _ in self.cells]
        for index, cell in enumerate(self.cells):
            for name in cell.grouping:
                total = self.number[_project(cell, tuple(d for d in cell.grouping if d != name))]
                group = self.group_number.setdefault((total, name), len(members))
                if group == len(members):
                    members.append([])
                    self.total_of[total].append(group)
                members[group].append(index)
                self.member_of[index].append((group, total))
        self.members = [sorted(group, key=lambda i: (self.count[i], i)) for group in members]
        self.group_total = [0] * len(members)
        for (total, _name), group in self.group_number.items():
            self.group_total[group] = total
        self.hidden = [False] * len(self.cells)
        self.hidden_in_group = [0] * len(members)
        self.hidden_sum = [0] * len(members)
        self._next = [0] * len(members)
        self.pending: list[int] = []

    def hide(self, index: int) -> None:
        if self.hidden[index]:
            return
        self.hidden[index] = True
        for group, _total in self.member_of[index]:
            self.hidden_in_group[group] += 1
            self.hidden_sum[group] += self.count[index]
        self.pending.append(index)

    def smallest_published(self, group: int) -> int | None:
        """The group's smallest published member (hiding only ever grows, so the scan
        position only moves forward)."""
        found = self.members[group]
        position = self._next[group]
        while position < len(found) and self.hidden[found[position]]:
            position += 1
        self._next[group] = position
        return found[position] if position < len(found) else None

    def apply_group_rules(self) -> None:
        """Rules 2 to 4. Hiding more never breaks a rule already met, so each hidden cell
        is checked once, when it becomes hidden."""
        while self.pending:
            index = self.pending.pop()
            for group, total in self.member_of[index]:
                # Rule 2: never alone in a group whose total is known; rule 4: what is
                # hidden in such a group is not small.
                while not self.hidden[total] and (
                    self.hidden_in_group[group] < 2 or self.hidden_sum[group] < self.threshold
                ):
                    other = self.smallest_published(group)
                    self.hide(total if other is None else other)
            for group in self.total_of[index]:
                # Rule 3: a hidden total is not the sum of published cells.
                if self.hidden_in_group[group] == 0:
                    other = self.smallest_published(group)
                    if other is not None:
                        self.hide(other)

    def complement_for(self, index: int) -> int | None:
        """Another cell to hide when INDEX can be computed: from its own groups first."""
        candidates = [
            other
            for group, _total in self.member_of[index]
            if (other := self.smallest_published(group)) is not None
        ]
        if not candidates:
            grouping = self.cells[index].grouping
            candidates = [
                i
                for i, cell in enumerate(self.cells)
                if cell.grouping == grouping and not self.hidden[i]
            ]
        if not candidates:
            candidates = [i for i in range(len(self.cells)) if not self.hidden[i]]
        return min(candidates, key=lambda i: (self.count[i], i), default=None)

    def computable(self, primary: Iterable[int]) -> list[int]:
        """Cells under the threshold whose value follows from the published numbers.

        Unknowns are the hidden cells of the finest table. Each published cell of any
        grouping says that the hidden finest cells beneath it add up to a known number; a
        cell is computable when its set of hidden finest cells is a linear combination of
        those sets.
        """
        beneath: dict[int, list[int]] = {}
        for variable, index in enumerate(i for i in self.finest if self.hidden[i]):
            for ancestor in self.ancestors[index]:
                beneath.setdefault(ancestor, []).append(variable)
        basis: dict[int, dict[int, int]] = {}
        for index in range(len(self.cells)):
            if self.hidden[index] or index not in beneath:
                continue
            row = _reduce(dict.fromkeys(beneath[index], 1), basis)
            if row:
                pivot = min(row)
                inverse = pow(row[pivot], _PRIME - 2, _PRIME)
                basis[pivot] = {i: value * inverse % _PRIME for i, value in row.items()}
        if not basis:
            return []
        _fully_reduce(basis)
        constrained = {variable for row in basis.values() for variable in row}
        found = []
        for index in primary:
            variables = beneath.get(index)
            # A cell with no hidden finest cell beneath it is an empty table's total, and
            # one holding a cell no published number mentions cannot be computed.
            if not variables or not constrained.issuperset(variables):
                continue
            if len(variables) == 1:
                alone = basis.get(variables[0])
                if alone is not None and len(alone) == 1:
                    found.append(index)
                continue
            if not _reduce(dict.fromkeys(variables, 1), basis):
                found.append(index)
        return found


def _project(cell: Cell, grouping: Grouping) -> Cell:
    assignment = dict(zip(cell.grouping, cell.key, strict=True))
    return Cell(grouping, tuple(assignment[name] for name in grouping))


def suppress(
    dimensions: Sequence[str],
    values: Mapping[str, Sequence[str]],
    counts: Mapping[Key, int],
    *,
    threshold: int = THRESHOLD,
) -> Suppression:
    """Decide which cells of every grouping to hide.

    ``counts`` maps a key of the finest table (one value per dimension, in order) to its
    count; keys left out count zero.
    """
    dims = tuple(dimensions)
    frozen_values = {name: tuple(values[name]) for name in dims}
    lattice = _Lattice(dims, frozen_values, counts, threshold)
    primary = [index for index, amount in enumerate(lattice.count) if amount < threshold]
    for index in primary:
        lattice.hide(index)
    while True:
        lattice.apply_group_rules()
        computable = lattice.computable(primary)
        if not computable:
            break
        for index in computable:
            extra = lattice.complement_for(index)
            if extra is not None:
                lattice.hide(extra)
    cells = lattice.cells
    return Suppression(
        dimensions=dims,
        values=frozen_values,
        counts={cell: lattice.count[index] for index, cell in enumerate(cells)},
        hidden=frozenset(cell for index, cell in enumerate(cells) if lattice.hidden[index]),
        primary=frozenset(cells[index] for index in primary),
        threshold=threshold,
    )


def _reduce(row: dict[int, int], basis: Mapping[int, Mapping[int, int]]) -> dict[int, int]:
    """ROW minus the combination of basis rows that removes every pivot it holds.

    Each basis row's pivot is its smallest index, so removing the smallest pivot present
    only adds larger indices, and the loop ends.
    """
    row = {index: value % _PRIME for index, value in row.items() if value % _PRIME}
    while True:
        pivots = [index for index in row if index in basis]
        if not pivots:
            return row
        pivot = min(pivots)
        factor = row[pivot]
        for index, value in basis[pivot].items():
            updated = (row.get(index, 0) - factor * value) % _PRIME
            if updated:
                row[index] = updated
            else:
                row.pop(index, None)


def _fully_reduce(basis: dict[int, dict[int, int]]) -> None:
    """Clear every pivot from the other rows (reduced row echelon form), so that a single
    cell is computable exactly when its row is the cell alone."""
    for pivot in sorted(basis, reverse=True):
        pivot_row = basis[pivot]
        for other, row in basis.items():
            if other == pivot or pivot not in row:
                continue
            factor = row[pivot]
            for index, value in pivot_row.items():
                updated = (row.get(index, 0) - factor * value) % _PRIME
                if updated:
                    row[index] = updated
                else:
                    row.pop(index, None)
