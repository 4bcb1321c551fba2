"""Rows of the few statements written by hand, loaded as the ORM would load them.

The ORM cannot say ``FOR KEY SHARE`` or ``DELETE … RETURNING``, which the token endpoint's
hot path uses (see ``delegation``). Those statements are built from the models' metadata,
so swapped models work, and their rows go through the ORM's converters and
``Model.from_db``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


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
