"""Records as table rows: one row per request, for `Result.to_pandas`, `to_arrow` and export.

Scalars stay as they are (datetimes stay datetimes); the small mappings a
record holds (`annotations`, `rate_limit`) become one column per key
(``annotations.cost``); anything else nested (the payload, the chunk timeline,
the attempts) becomes JSON text, so every cell is a scalar.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .endpoints import InvocationResponse
from .json_utils import llmeter_default_serializer

__all__ = ["EXPORT_EXTRA", "columns_of", "missing_extra", "record_row"]

EXPORT_EXTRA = "pip install 'llmeter-trio[export]'"
SPREAD = ("annotations", "rate_limit")  # mappings spread into one column per key


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple | bytes):
        return json.dumps(value, default=llmeter_default_serializer)
    return value


def record_row(
    record: InvocationResponse, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One record as a flat row; `extra` columns (e.g. ``clients``) come first."""
    row: dict[str, Any] = dict(extra or {})
    for key, value in record.to_dict().items():
        if key in SPREAD and isinstance(value, dict):
            row.update({f"{key}.{name}": _cell(item) for name, item in value.items()})
        elif key in SPREAD and value is None:
            continue
        else:
            row[key] = _cell(value)
    return row


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every column the rows hold, in the order they first appear."""
    return list(dict.fromkeys(key for row in rows for key in row))


def missing_extra(module: str) -> ImportError:
    """The error for an export that needs the ``export`` extra."""
    return ImportError(f"{module} is needed for this export: {EXPORT_EXTRA}")
