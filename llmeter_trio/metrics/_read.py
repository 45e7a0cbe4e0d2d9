"""Reading a saved run's server metrics back."""

from __future__ import annotations

import posixpath
from typing import Any

from ..storage import Location, location, resolve
from ._scraper import SERVER_METRICS_FILE
from ._series import read_series

__all__ = ["read_server_metrics"]


def read_server_metrics(run_folder: Location, metric: str | None = None) -> list[dict[str, Any]]:
    """The rows of a run folder's ``server_metrics.jsonl`` (any fsspec URL): each
    ``{"time", "metric", "labels", "value"}``, or ``{"time", "error"}`` for a
    failed scrape. With `metric`, only that metric's samples. None saved: empty."""
    fs, folder = resolve(location(run_folder))
    rows = read_series(fs, posixpath.join(folder, SERVER_METRICS_FILE))
    if metric is None:
        return list(rows)
    return [row for row in rows if row.get("metric") == metric]
