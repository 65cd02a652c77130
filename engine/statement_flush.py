"""A locked transaction's changes written as one statement, queued in the pipeline with the COMMIT.

SQLAlchemy's unit of work writes a completion's five or six rows statement by statement, and its
bookkeeping costs more CPU than PostgreSQL spends storing them. When every versioned row the
transaction changes is locked (engine/db.py, `hold_locks`), nothing needs to be read back between
the writes, so they can go out as a single statement: the UPDATEs and INSERTs as data-modifying
CTEs (`WITH w0 AS (UPDATE ...), w1 AS (INSERT ... RETURNING id) SELECT ...`), the generated ids
coming back with the COMMIT's sync. Foreign keys are checked at the end of the statement, so the
rows may refer to each other in any order.

What it handles is what the hot paths produce: new rows (Python-side column defaults applied, at
most one generated key per table, and only in a table no other new row refers to) and changed rows
(only the changed columns, the version bumped and checked). Anything else (a deletion, a changed
relationship, a table mapped over several tables, two rows of one table with different server-side
defaults) and `write` returns None without writing: the caller lets the ORM flush as usual.

SQL text is SQLAlchemy's own compilation for the dialect (casts, quoting, bind processors), made
once per shape of the change (tables, columns, number of rows) and kept on the dialect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from psycopg import RawCursor
from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstanceState, Mapper, Session
from sqlalchemy.orm.attributes import NO_VALUE, set_committed_value
from sqlalchemy.orm.relationships import RelationshipDirection

from engine import history
from engine.models import Event

#: the column sets no default fills: left out of an INSERT, PostgreSQL writes NULL or its own default
_MISSING = object()


@dataclass
class _Insert:
    table: Table
    generated: Any  # the autoincrement primary key column PostgreSQL fills, or None
    rows: list[dict[str, Any]] = field(default_factory=list)  # column name -> value
    owners: list[Any] = field(default_factory=list)  # the new objects, to get the generated key


@dataclass
class _Update:
    table: Table
    values: dict[str, Any]  # column name -> new value (the new version included)
    where: dict[str, Any]  # primary key and old version


@dataclass
class Written:
    """What `write` queued: read the generated keys once the pipeline has synced (after COMMIT)."""

    cursor: Any
    inserts: list[_Insert]

    def assign_keys(self) -> None:
        if not any(part.generated is not None for part in self.inserts):
            return
        keys: dict[int, list[int]] = {}
        for part, key in self.cursor.fetchall():
            keys.setdefault(part, []).append(key)
        for index, part in enumerate(self.inserts):
            if part.generated is None:
                continue
            # one INSERT ... VALUES takes its sequence values row after row: ascending is row order
            for owner, key in zip(part.owners, sorted(keys.get(index, ())), strict=True):
                if owner is not None:
                    set_committed_value(owner, inspect(owner).mapper.get_property_by_column(part.generated).key, key)


def write(session: Session, connection: Connection) -> Written | None:
    """Queue the session's pending changes and recorded history as one statement on `connection`
    (in pipeline mode), or return None, having written nothing, when they need the ORM's flush.
    Every object is then taken out of the session, so that its own flush at COMMIT finds nothing: the
    caller commits next, and the session ends there."""
    if session.deleted:
        return None
    inserts: dict[Table, _Insert] = {}
    updates: list[_Update] = []
    states = sorted((inspect(obj) for obj in session.new), key=lambda state: state.insert_order)
    for state in states:
        if not _add_insert(inserts, state):
            return None
    # in a fixed order (the session's is its identity map's), so that a change's shape repeats
    dirty = sorted((inspect(obj) for obj in session.dirty),
                   key=lambda state: (_TABLE_ORDER.get(state.mapper.local_table.name, -1), str(state.key)))
    for state in dirty:
        change = _update_of(state)
        if change is False:
            return None
        if change is not None:
            updates.append(change)
    events = history.pending(session)
    if events:
        part = inserts.setdefault(Event.__table__, _Insert(Event.__table__, None))
        part.rows += events
        part.owners += [None] * len(events)
    if not updates and not inserts:
        return Written(None, [])
    if not _uniform(inserts.values()):
        return None
    ordered = sorted(inserts.values(), key=lambda part: _TABLE_ORDER[part.table.name])
    sql, names, processors = _compiled(connection, updates, ordered)
    values = dict(_params(updates, ordered))
    params = [processors[name](values[name]) if name in processors and values[name] is not None else values[name]
              for name in names]
    # a raw cursor: the statement is already in PostgreSQL's $n form, which psycopg need not parse
    # (it caches its parse only for statements under 4 KB and 50 parameters)
    cursor = RawCursor(connection.connection.driver_connection)
    connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, False)  # counters, logs
    cursor.execute(sql, params)  # queued: the pipeline sends it with the COMMIT
    history.take_pending(session)
    session.expunge_all()  # all at once: expunge() one by one walks each object's cascades
    return Written(cursor, ordered)


@dataclass(frozen=True)
class _Plan:
    """What `_add_insert` and `_update_of` need to know of a mapper, worked out once per mapper."""

    table: Table
    generated: Any  # the autoincrement primary key column, or None
    #: (column, attribute key) for each column of the table, in the table's order
    columns: tuple[tuple[Any, str], ...]
    #: attribute key -> its column, for the attributes an UPDATE may set (one column of this table, not
    #: part of the primary key); any other attribute changed means the ORM must write the row
    updatable: dict[str, Any]
    #: many-to-one relationships: (relationship key, ((local attribute key, related attribute key), ...))
    many_to_one: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    primary_key: tuple[str, ...]  # column names
    version: tuple[Any, str] | None  # (version column, its attribute key)


_PLANS: dict[Mapper, _Plan | None] = {}


def _plan(mapper: Mapper) -> _Plan | None:
    """The mapper's plan; None for a class mapped over several tables (the ORM writes those)."""
    if mapper not in _PLANS:
        _PLANS[mapper] = _make_plan(mapper) if len(mapper.tables) == 1 else None
    return _PLANS[mapper]


def _make_plan(mapper: Mapper) -> _Plan:
    table = mapper.local_table
    key_of = {column: mapper.get_property_by_column(column).key for column in table.columns}
    updatable = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if len(prop.columns) == 1 and getattr(column, "table", None) is table and not column.primary_key:
            updatable[prop.key] = column
    many_to_one = tuple(
        (rel.key, tuple((mapper.get_property_by_column(local).key, rel.mapper.get_property_by_column(remote).key)
                        for local, remote in rel.local_remote_pairs))
        for rel in mapper.relationships if rel.direction is RelationshipDirection.MANYTOONE)
    version = mapper.version_id_col
    return _Plan(table, table.autoincrement_column, tuple(key_of.items()), updatable, many_to_one,
                 tuple(column.name for column in mapper.primary_key),
                 (version, mapper.get_property_by_column(version).key) if version is not None else None)


def _add_insert(inserts: dict[Table, _Insert], state: InstanceState) -> bool:
    mapper: Mapper = state.mapper
    plan = _plan(mapper)
    if plan is None:
        return False
    table, generated = plan.table, plan.generated
    part = inserts.setdefault(table, _Insert(table, generated))
    values = dict(state.dict)
    if not _fill_foreign_keys(plan, values):
        return False
    row: dict[str, Any] = {}
    for column, key in plan.columns:
        value = values.get(key, _MISSING)
        if value is _MISSING or (value is None and column is generated):
            if column is generated:
                continue
            value = _default(mapper, column)
            if value is not _MISSING:
                set_committed_value(state.obj(), key, value)
        if value is not _MISSING:
            row[column.name] = value
    if generated is not None and generated.name in row:
        return False  # a key chosen by the caller beside keys the sequence gives: let the ORM sort it out
    part.rows.append(row)
    part.owners.append(state.obj())
    return True


def _fill_foreign_keys(plan: _Plan, values: dict[str, Any]) -> bool:
    """A many-to-one relationship set on a new row gives its foreign key columns, as the ORM's flush
    would; a related row still without its key cannot be written in the same statement."""
    for relationship, pairs in plan.many_to_one:
        if relationship not in values:
            continue
        related = values[relationship]
        for local, remote in pairs:
            if related is None:
                values.setdefault(local, None)
                continue
            remote_value = inspect(related).dict.get(remote)
            if remote_value is None:
                return False
            values[local] = remote_value
    return True


def _default(mapper: Mapper, column: Any) -> Any:
    if column is mapper.version_id_col:
        return mapper.version_id_generator(None)
    default = column.default
    if default is None or default.is_sequence or default.is_clause_element:
        return _MISSING
    return default.arg if default.is_scalar else default.arg(None)


def _update_of(state: InstanceState) -> _Update | None | bool:
    """The UPDATE for a changed row; None if nothing it maps changed; False if the ORM must do it."""
    plan = _plan(state.mapper)
    if plan is None or state.key is None:
        return False
    values: dict[str, Any] = {}
    for key, old in state.committed_state.items():
        column = plan.updatable.get(key)
        if column is None:
            return False  # a relationship changed, or something else than one column of this table
        new = state.dict.get(key, NO_VALUE)
        if new is NO_VALUE:
            continue
        if old is NO_VALUE or not column.type.compare_values(old, new):
            values[column.name] = new
    if not values:
        return None
    where = dict(zip(plan.primary_key, state.key[1], strict=True))
    if plan.version is not None:
        version, key = plan.version
        old_version = state.dict[key]
        new_version = state.mapper.version_id_generator(old_version)
        where[version.name] = old_version
        values[version.name] = new_version
        set_committed_value(state.obj(), key, new_version)
    return _Update(plan.table, values, where)


def _uniform(parts: Any) -> bool:
    """Every row of one INSERT names the same columns, or the left-out ones are plain NULLs (no server
    default to apply): one multi-row VALUES list per table keeps the sequence's order."""
    for part in parts:
        names = set().union(*(row.keys() for row in part.rows))
        for row in part.rows:
            if any(name not in row and part.table.c[name].server_default is not None for name in names):
                return False
            for name in names:
                row.setdefault(name, None)
    return True


def _shape(updates: list[_Update], inserts: list[_Insert]) -> tuple[Any, ...]:
    return (tuple((part.table.name, tuple(part.values), tuple(part.where)) for part in updates),
            tuple((part.table.name, tuple(part.rows[0]), len(part.rows), part.generated is not None)
                  for part in inserts))


def _params(updates: list[_Update], inserts: list[_Insert]) -> Any:
    for index, change in enumerate(updates):
        for name, value in change.values.items():
            yield f"u{index}_{name}", value
        for name, value in change.where.items():
            yield f"u{index}_w_{name}", value
    for index, part in enumerate(inserts):
        names = tuple(part.rows[0])
        for number, row in enumerate(part.rows):
            for name in names:
                yield f"i{index}_{number}_{name}", row[name]


def _compiled(connection: Connection, updates: list[_Update],
              inserts: list[_Insert]) -> tuple[str, list[str], dict[str, Any]]:
    cache = connection.dialect.__dict__.setdefault("_motcua_statement_flush", {})
    shape = _shape(updates, inserts)
    if shape not in cache:
        statements = []
        for index, change in enumerate(updates):
            table = change.table
            statements.append(update(table).where(
                *(table.c[name] == bindparam(f"u{index}_w_{name}", type_=table.c[name].type) for name in change.where)
            ).values({table.c[name]: bindparam(f"u{index}_{name}", type_=table.c[name].type)
                      for name in change.values}))
        returning = []
        for index, part in enumerate(inserts):
            table, names = part.table, tuple(part.rows[0])
            statement = insert(table).values([
                {table.c[name]: bindparam(f"i{index}_{number}_{name}", type_=table.c[name].type) for name in names}
                for number in range(len(part.rows))])
            if part.generated is not None:
                statement = statement.returning(part.generated)
                returning.append((len(updates) + index, index, part.generated.name))
            statements.append(statement)
        compiled = [statement.compile(dialect=connection.dialect) for statement in statements]
        processors = {name: processor for each in compiled for name, processor in each._bind_processors.items()}
        if len(compiled) == 1 and not returning:
            sql = compiled[0].string
        else:
            ctes = ", ".join(f"w{number} AS ({each.string})" for number, each in enumerate(compiled))
            rows = " UNION ALL ".join(f"SELECT {index}, {name} FROM w{number}" for number, index, name in returning)
            sql = f"WITH {ctes} {rows or 'SELECT 1 WHERE false'}"
        cache[shape] = (*_numbered(sql), processors)
    return cache[shape]


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _numbered(sql: str) -> tuple[str, list[str]]:
    """SQLAlchemy's pyformat SQL (`%(name)s`, `%%`) in PostgreSQL's own form (`$1`, `%`), with the
    parameter names in the order of their numbers."""
    names: list[str] = []
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in numbers:
            names.append(name)
            numbers[name] = len(names)
        return f"${numbers[name]}"

    return _PLACEHOLDER.sub(number, sql), names


#: tables in the order of their foreign keys: the INSERTs are listed so (PostgreSQL runs them as one)
_TABLE_ORDER = {table.name: number for number, table in enumerate(Event.metadata.sorted_tables)}
