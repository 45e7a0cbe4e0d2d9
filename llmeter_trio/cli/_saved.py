"""What a saved folder holds: a run, a load test, a heatmap, a sweep or a quota search.

One place that tells them apart, for `analyze` and `export`.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from typing import Any, Literal

from ..endpoints import InvocationResponse
from ..experiments._heatmap import HEATMAP_FILE
from ..experiments._quota import QUOTA_FILE
from ..experiments._sweep import SWEEP_FILE
from ..results import Result, holds_run
from ..storage import exists, resolve

__all__ = ["Kind", "folder_kind", "load_saved", "record_groups"]

Kind = Literal["run", "load-test", "heatmap", "sweep", "quota"]
_INDEXES: tuple[tuple[str, Kind], ...] = (
    (HEATMAP_FILE, "heatmap"),
    (SWEEP_FILE, "sweep"),
    (QUOTA_FILE, "quota"),
)


def folder_kind(path: str | os.PathLike[str]) -> Kind:
    """Which kind of saved folder `path` is; a FileNotFoundError when none."""
    url = os.fspath(path)
    fs, folder = resolve(url)
    if not exists(fs, folder):
        raise FileNotFoundError(f"{url} does not exist")
    for index, kind in _INDEXES:
        if exists(fs, posixpath.join(folder, index)):
            return kind
    if holds_run(fs, folder) or not fs.isdir(folder):
        return "run"  # a file: Result.load says what is wrong with it
    return "load-test"


def load_saved(path: str, kind: Kind, *, load_responses: bool = False) -> Any:
    """The result object of a saved folder of that kind."""
    from ..experiments import LatencyHeatmapResult, LoadTestResult, QuotaResult, SweepResult

    if kind == "load-test":
        return LoadTestResult.load(path, load_responses=load_responses)
    if kind == "heatmap":
        return LatencyHeatmapResult.load(path, load_responses=load_responses)
    if kind == "sweep":
        return SweepResult.load(path, load_responses=load_responses)
    if kind == "quota":
        return QuotaResult.load(path, load_responses=load_responses)
    return Result.load(path, load_responses=load_responses)


def record_groups(path: str) -> list[tuple[dict[str, Any], Iterable[InvocationResponse]]]:
    """The records a folder holds, in groups, each with the columns that tell it apart.

    A load test's levels carry ``clients``, a sweep's steps ``load``, a quota
    search's steps ``requests_per_minute``, a heatmap's cells ``input_length``
    and ``output_length``; a run is one group without columns.
    """
    kind = folder_kind(path)
    saved = load_saved(path, kind)
    if kind == "load-test":
        return [({"clients": n}, result.iter_records()) for n, result in saved.results.items()]
    if kind == "sweep":
        return [({"load": step.load}, step.result.iter_records()) for step in saved.steps]
    if kind == "quota":
        return [
            ({"requests_per_minute": step.requests_per_minute}, step.result.iter_records())
            for step in saved.steps
        ]
    if kind == "heatmap":
        return [
            ({"input_length": inputs, "output_length": outputs}, records)
            for (inputs, outputs), records in saved.responses_by_combination().items()
        ]
    return [({}, saved.iter_records())]
