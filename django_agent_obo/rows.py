"""The few statements of the token endpoint's hot path written by hand, and their rows.

The ORM cannot say ``FOR KEY SHARE`` or ``DELETE … RETURNING`` (used by ``delegation``), nor
tell whether an ``INSERT … ON CONFLICT DO NOTHING`` inserted (used by ``actors``). These
statements are built from the models' metadata, so swapped models work; values go through
the fields' own preparation and rows through the ORM's converters and ``Model.from_db``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connections, router
from django.db.models import Model

M = TypeVar("M", bound=Model)


def lock_for_key_share(targets: Sequence[tuple[type[Model], Any, Iterable[str]]]) -> list[Any] | None:
    """Lock rows given as ``(model, pk, field names)`` in one statement, in the order given,
    and return them as locked (the primary key and the named fields loaded), or None if one
    of them does not exist.

    PostgreSQL takes ``FOR KEY SHARE``: ``FOR UPDATE`` waits for it and it for them, while
    key-share holders do not wait for each other. SQLite serialises writers anyway.
    """
    using = router.db_for_write(targets[0][0])
    connection = connections[using]
    quote = connection.ops.quote_name
    selected, tables, matches, params, shapes = [], [], [], [], []
    for index, (model, pk, names) in enumerate(targets):
        alias = f"t{index}"
        fields = fields_of(model, names)
        tables.append(f"{quote(model._meta.db_table)} {alias}")
        matches.append(f"{alias}.{quote(model._meta.pk.column)} = %s")
        params.append(pk)
        selected += [f"{alias}.{quote(field.column)}" for field in fields]
        shapes.append((model, fields))
    sql = f"SELECT {', '.join(selected)} FROM {', '.join(tables)} WHERE {' AND '.join(matches)}"  # noqa: S608
    if connection.vendor == "postgresql":
        sql += " FOR KEY SHARE"
    elif connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    return [load(model, fields, [next(values) for _ in fields], using) for model, fields in shapes]


def delete_returning(model: type[M], **match: Any) -> M | None:
    """Delete the one row whose fields equal ``match`` and return it as it was, or None.

    Needs RETURNING (PostgreSQL; SQLite from 3.35). Sends no delete signals.
    """
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = fields_of(model)
    matched: list[Any] = [model._meta.get_field(name) for name in match]
    where = " AND ".join(f"{quote(field.column)} = %s" for field in matched)
    returning = ", ".join(quote(field.column) for field in fields)
    sql = f"DELETE FROM {quote(model._meta.db_table)} WHERE {where} RETURNING {returning}"  # noqa: S608
    params = [
        field.get_db_prep_value(value, connection)
        for field, value in zip(matched, match.values(), strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else load(model, fields, row, using)


def fields_of(model: type[Model], names: Iterable[str] | None = None) -> list[Any]:
    """The primary key and the named fields (all when ``names`` is None), in the model's
    field order: the order ``Model.from_db`` takes values in."""
    wanted = None if names is None else set(names)
    return [f for f in model._meta.concrete_fields if wanted is None or f.primary_key or f.name in wanted]


def load(model: type[M], fields: Sequence[Any], values: Sequence[Any], using: str) -> M:
    """An instance from one row of ``fields``' columns (the others deferred)."""
    connection = connections[using]
    converted = []
    for field, value in zip(fields, values, strict=True):
        col = field.get_col(model._meta.db_table)
        for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            value = converter(value, col, connection)
        converted.append(value)
    return model.from_db(using, [f.attname for f in fields], converted)


def insert_unless_present(model: type[Model], **values: Any) -> bool:
    """Insert one row unless a unique constraint already holds its values; True if inserted.

    One statement (``ON CONFLICT DO NOTHING``, PostgreSQL and SQLite) where catching the
    ``IntegrityError`` would need a savepoint around the insert. A concurrent insert of the
    same values waits for the other transaction and inserts nothing if it commits.
    """
    using = router.db_for_write(model)
    connection = connections[using]
    fields: list[Any] = [model._meta.get_field(name) for name in values]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = quote(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"  # noqa: S608
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount == 1)


def count_up(model: type[Model], key: str, expires_at: Any) -> int:
    """Add one to the ``count`` of the row ``key`` (created at 1, expiring at ``expires_at``) and
    return the new count, in one statement (``INSERT … ON CONFLICT DO UPDATE … RETURNING``,
    PostgreSQL and SQLite from 3.35): concurrent counts of the same key never lose one."""
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    count_field: Any = model._meta.get_field("count")
    expires_field: Any = model._meta.get_field("expires_at")
    table, pk = quote(model._meta.db_table), quote(str(model._meta.pk.column))
    count, expires = quote(count_field.column), quote(expires_field.column)
    sql = (
        f"INSERT INTO {table} ({pk}, {count}, {expires}) VALUES (%s, 1, %s) "  # noqa: S608
        f"ON CONFLICT ({pk}) DO UPDATE SET {count} = {table}.{count} + 1 RETURNING {count}"
    )
    params = [key, expires_field.get_db_prep_save(expires_at, connection)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])
