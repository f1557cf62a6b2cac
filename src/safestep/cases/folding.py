"""Loading a case's related rows inside the case's own query.

The case page shows a dozen small related lists (facts, links, people, reviews, transfers,
attachments ...). Fetched one query each, their round trips cost more than their rows, and
the page's query count grew with every section added. Here each list becomes one column of
the case's query: a subquery that returns the rows as a JSON array. The rows are turned
back into model instances (encrypted fields decrypted by their own field class, as a
normal fetch would) and installed as if ``prefetch_related`` had loaded them, so the code
reading ``case.facts.all()`` or ``case.live_records`` is unchanged.

PostgreSQL and SQLite are both supported: only the two JSON functions differ.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.dateparse import parse_date, parse_datetime


@dataclass(frozen=True)
class Join:
    """A row joined to each folded row (``select_related``): its foreign key, and which
    of its fields to load (the rest stay deferred)."""

    name: str  # the foreign key's name on the folded model
    fields: Sequence[str]


@dataclass(frozen=True)
class Fold:
    """One related list folded into the case's query as the column ``column``."""

    column: str
    rows: QuerySet[Any]
    fields: Sequence[str] | None = None  # attnames to load; all concrete fields when None
    joins: Sequence[Join] = ()
    extra: Sequence[str] = ()  # annotations of ROWS, set as attributes of each row
    # Where the rows go: a reverse relation's name (installed as prefetched), else an
    # attribute set to the list; a reverse one-to-one takes at most one row.
    relation: str | None = None
    attribute: str | None = None
    one: bool = False
    limit: int | None = None  # the first LIMIT rows of ROWS' order
    # Plain rows (attributes only, not model instances) for a long list shown as text:
    # building hundreds of model instances costs more than reading them.
    plain: bool = False
    order: Callable[[Any], Any] | None = None  # the order the rows are installed in


def _field_names(model: type[models.Model], names: Sequence[str] | None) -> list[str]:
    if names is not None:
        return list(names)
    return [item.attname for item in model._meta.concrete_fields]


def _paths(fold: Fold) -> list[str]:
    model = fold.rows.model
    paths = _field_names(model, fold.fields)
    for join in fold.joins:
        paths += [f"{join.name}__{name}" for name in join.fields]
    return paths + list(fold.extra)


# Stands for the case's id in folds compiled once and reused (``compile_folds``): no row
# has a negative id.
CASE_PLACEHOLDER = -7_310_000_000_000_000_001


@dataclass(frozen=True)
class CompiledFolds:
    """Folds with their SQL, compiled once for every case read of the same shape."""

    folds: Sequence[Fold]
    columns: Sequence[tuple[str, str, tuple[Any, ...]]]  # column, SQL, parameters

    def annotate(self, cases: QuerySet[Any], case_id: int) -> QuerySet[Any]:
        """CASES with the fold columns, for the case CASE_ID."""
        return cases.annotate(
            **{
                column: RawSQL(  # noqa: S611 - the ORM's compiled SQL; values are parameters
                    sql, [case_id if value == CASE_PLACEHOLDER else value for value in params]
                )
                for column, sql, params in self.columns
            }
        )


class PreparedQuery:
    """A queryset compiled to SQL once and run again with other values.

    QUERYSET names what changes from one run to the next by placeholders (the case by
    CASE_PLACEHOLDER, say); ``fetch`` runs the same SQL with real values in their place.
    Compiling the case read (its joins, scope and a dozen fold subqueries) takes longer
    than the database takes to answer it, and its SQL differs from one case to the next
    only in that id. Rows are built by Django's own iterable, from the compiler that was
    set up for the SQL, so they are what the queryset would return.

    Only a queryset whose SQL depends on nothing but its placeholders may be prepared: the
    caller keys it by everything else it reads (the user, their role, the database).
    """

    def __init__(self, queryset: QuerySet[Any]) -> None:
        self._queryset = queryset
        self._compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            self._sql, self._params = self._compiler.as_sql()
        except EmptyResultSet:  # a filter that matches nothing (a scope of no cases)
            self._sql, self._params = "", ()

    def fetch(self, case_id: int) -> list[Any]:
        """The rows for the case CASE_ID."""
        return self.fetch_with({CASE_PLACEHOLDER: case_id})

    def fetch_with(self, values: dict[Any, Any]) -> list[Any]:
        """The rows with VALUES (placeholder: value, as the database receives each one)."""
        if not self._sql:
            return []
        params = tuple(_swapped(value, values) for value in self._params)
        compiler = copy.copy(self._compiler)
        # The connection is per thread; the compiled statement is not.
        compiler.connection = connections[self._queryset.db]
        compiler.as_sql = lambda *args, **kwargs: (self._sql, params)
        run = self._queryset.all()
        run.query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        return list(run)


def _swapped(value: Any, values: dict[Any, Any]) -> Any:
    for placeholder, real in values.items():
        # Compared by type first: a parameter may be a list or JSON, not hashable.
        if type(value) is type(placeholder) and value == placeholder:
            return real
    return value


def compile_folds(folds: Sequence[Fold], using: str) -> CompiledFolds:
    """FOLDS (built for the case CASE_PLACEHOLDER) compiled to SQL: compiling a dozen
    querysets costs more than running them, so a caller keeps the result."""
    columns = []
    for fold in folds:
        raw = fold_column(fold, using)
        columns.append((fold.column, raw.sql, tuple(raw.params)))
    return CompiledFolds(folds=folds, columns=columns)


def fold_column(fold: Fold, using: str) -> RawSQL:
    """The subquery that returns FOLD's rows as one JSON array of arrays."""
    paths = _paths(fold)
    names = {f"fold_{number}": F(path) for number, path in enumerate(paths)}
    inner = fold.rows.values(**names)
    if fold.limit is not None:
        inner = inner[: fold.limit]
    sql, params = inner.query.get_compiler(using=using).as_sql()
    # Only generated column names and the ORM's own SQL are pasted; values stay parameters.
    items = ", ".join(f'folded."fold_{number}"' for number in range(len(paths)))
    if connections[using].vendor == "postgresql":
        rows = f"COALESCE(json_agg(json_build_array({items})), '[]'::json)"
        outer = f"SELECT {rows} FROM ({sql}) folded"  # noqa: S608
    else:
        outer = f"SELECT json_group_array(json_array({items})) FROM ({sql}) folded"  # noqa: S608
    return RawSQL(outer, params)  # noqa: S611


Decoder = Callable[[Any], Any]


def _decoder(model_field: models.Field[Any, Any], using: str) -> Decoder:
    """How a JSON value becomes what FIELD would read from its own column. Chosen once per
    field (``_layout``): a list of fifty cases decodes over a thousand values."""
    if isinstance(model_field, models.DateTimeField):

        def moment(value: Any) -> Any:
            if value is None:
                return None
            found = value
            if isinstance(value, str):
                try:  # the databases' own formats, which fromisoformat reads in C
                    found = datetime.fromisoformat(value)
                except ValueError:
                    found = parse_datetime(value)
            if found is not None and found.tzinfo is None:
                found = found.replace(tzinfo=UTC)
            return found

        return moment
    if isinstance(model_field, models.DateField):
        return lambda value: parse_date(value) if isinstance(value, str) else value
    if isinstance(model_field, models.JSONField):
        # SQLite keeps JSON as text; PostgreSQL's jsonb arrives already parsed.
        return lambda value: json.loads(value) if isinstance(value, str) else value
    from_db = getattr(model_field, "from_db_value", None)
    is_boolean = isinstance(model_field, models.BooleanField)

    def other(value: Any) -> Any:
        if value is None:
            return None
        if from_db is not None and isinstance(value, str):
            # The connection is looked up per value: connections are per thread.
            return from_db(value, None, connections[using])
        if is_boolean:
            return bool(value)
        return model_field.to_python(value)

    return other


@functools.cache
def _layout(
    model: type[models.Model], names: tuple[str, ...], using: str
) -> tuple[tuple[int, ...], tuple[str, ...], tuple[Decoder, ...]]:
    """For a row of NAMES: where each of the model's fields is in it (``from_db`` takes a
    partial row in the model's own field order), their names, and their decoders."""
    fields = {item.attname: item for item in model._meta.concrete_fields}
    ordered = [name for name in fields if name in names]
    return (
        tuple(names.index(name) for name in ordered),
        tuple(ordered),
        tuple(_decoder(fields[name], using) for name in ordered),
    )


def _instance(model: type[models.Model], names: list[str], values: list[Any], using: str) -> Any:
    positions, ordered, decoders = _layout(model, tuple(names), using)
    decoded = [
        decode(values[position]) for position, decode in zip(positions, decoders, strict=True)
    ]
    return model.from_db(using, list(ordered), decoded)


def unfold(case: models.Model, fold: Fold, raw: Any, using: str) -> list[Any]:
    """FOLD's rows from the JSON in RAW, installed on CASE."""
    if fold.plain:
        plain = plain_rows(fold, raw, using)
        _install(case, fold, plain)
        return plain
    model = fold.rows.model
    own = _field_names(model, fold.fields)
    data = json.loads(raw) if isinstance(raw, str | bytes) else (raw or [])
    rows: list[Any] = []
    for values in data:
        row = _instance(model, own, values[: len(own)], using)
        offset = len(own)
        for join in fold.joins:
            key = model._meta.get_field(join.name)
            related_values = values[offset : offset + len(join.fields)]
            offset += len(join.fields)
            related = (
                None
                if all(value is None for value in related_values)
                else _instance(key.related_model, list(join.fields), related_values, using)
            )
            key.set_cached_value(row, related)
        for name, value in zip(fold.extra, values[offset:], strict=True):
            setattr(row, name, value)
        rows.append(row)
    if fold.order is not None:
        rows.sort(key=fold.order)
    _install(case, fold, rows)
    return rows


def plain_rows(fold: Fold, raw: Any, using: str) -> list[Any]:
    """A ``plain`` FOLD's rows from the JSON in RAW, in the fold's order: each row's fields
    as attributes (joined rows as nested ones), decoded as the fields read them."""
    data = json.loads(raw) if isinstance(raw, str | bytes) else (raw or [])
    if not data:
        return []
    model: type[models.Model] = fold.rows.model
    own = tuple(_field_names(model, fold.fields))
    # Where each field is and how it is decoded, found once for all the rows.
    columns = list(zip(*_layout(model, own, using), strict=True))
    joins = []
    offset = len(own)
    for join in fold.joins:
        related_model: Any = model._meta.get_field(join.name).related_model
        layout = _layout(related_model, tuple(join.fields), using)
        joins.append((join.name, offset, len(join.fields), list(zip(*layout, strict=True))))
        offset += len(join.fields)
    pk_name = model._meta.pk.attname
    rows = []
    for values in data:
        row = SimpleNamespace(
            **{
                name: decode(values[position])
                for position, name, decode in columns
                if position < len(values)
            }
        )
        for join_name, start, width, join_columns in joins:
            part = values[start : start + width]
            joined = {name: decode(part[place]) for place, name, decode in join_columns}
            setattr(row, join_name, SimpleNamespace(**joined))
        row.pk = getattr(row, pk_name, None)
        rows.append(row)
    if fold.order is not None:
        rows.sort(key=fold.order)
    return rows


def _install(case: models.Model, fold: Fold, rows: list[Any]) -> None:
    if fold.attribute is not None:
        setattr(case, fold.attribute, rows)
    if fold.relation is None:
        return
    relation = case._meta.get_field(fold.relation)
    if fold.one:
        relation.set_cached_value(case, rows[0] if rows else None)  # type: ignore[union-attr]
        return
    back = relation.field  # type: ignore[union-attr]
    for row in rows:
        back.set_cached_value(row, case)
    manager = getattr(case, fold.relation)
    cached = manager.all()
    cached._result_cache = rows
    cached._prefetch_done = True
    if not hasattr(case, "_prefetched_objects_cache"):
        case._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    case._prefetched_objects_cache[relation.cache_name] = cached  # type: ignore[attr-defined,union-attr]


def with_folds(cases: QuerySet[Any], folds: Sequence[Fold]) -> QuerySet[Any]:
    """CASES with one JSON column per fold."""
    using = cases.db
    return cases.annotate(**{fold.column: fold_column(fold, using) for fold in folds})


def unfold_all(case: models.Model, folds: Sequence[Fold], using: str) -> None:
    for fold in folds:
        unfold(case, fold, getattr(case, fold.column), using)
        # The raw JSON is read once: do not keep a second copy of the rows around.
        setattr(case, fold.column, None)


def fetched_list(case: models.Model, relation: str) -> list[Any] | None:
    """The rows of RELATION already loaded on CASE (folded or prefetched), else None."""
    cache = getattr(case, "_prefetched_objects_cache", {})
    name = case._meta.get_field(relation).cache_name  # type: ignore[union-attr]
    found = cache.get(name)
    return list(found) if found is not None else None


def outer_case_id() -> RawSQL:
    """The case row of the enclosing query, for a fold of a list of cases.

    Only for folds whose own query does not read the cases table (it would take the name).
    """
    return RawSQL('"cases_case"."id"', [])
