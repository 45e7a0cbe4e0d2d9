"""What a run's callbacks can know of the experiment (a LoadTest, a Sweep) the run is part of.

An experiment runs each of its levels as an ordinary run, inside
`open_experiment`; any callback of those runs asks `current_experiment()`
(in its ``before_run`` or ``after_run``) and gets the `Experiment`, or None
for a run on its own. A tracker uses it to group the levels: the MLflow
callback makes the experiment a parent run and each level a nested run, and
closes the parent from `Experiment.at_end`. The experiment is found through a
context variable, so the tasks of its runs see it and nothing else does.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import attrs
import trio

__all__ = ["Experiment", "current_experiment", "open_experiment"]


@attrs.define(eq=False)
class Experiment:
    """An experiment in progress: its kind, name, folder and settings, for its runs' callbacks.

    `shared` holds whatever callbacks keep for the whole experiment (the
    MLflow callback keeps its parent run there), since an experiment may make
    a new callback object for each level. `summary` is what the experiment
    found (a sweep's knee), set just before it ends. `parent` is the
    experiment this one runs inside, if any.
    """

    kind: str  # "load_test", "sweep"
    name: str  # its test_name
    output_path: str | None = None  # its folder, which holds the levels' run folders
    parameters: Mapping[str, Any] = attrs.field(factory=dict)  # its settings, simple values
    parent: Experiment | None = None
    summary: dict[str, Any] = attrs.field(factory=dict)
    shared: dict[Any, Any] = attrs.field(factory=dict)
    _at_end: list[Callable[[bool], Any]] = attrs.field(factory=list, alias="_at_end")

    def at_end(self, hook: Callable[[bool], Any]) -> None:
        """Call ``hook(interrupted)`` once the experiment ends (awaited if it is a coroutine).

        `interrupted` is True when the experiment stopped on an error, a
        cancellation or Ctrl-C, rather than after its last level.
        """
        self._at_end.append(hook)


_CURRENT: ContextVar[Experiment | None] = ContextVar("llmeter_trio_experiment", default=None)


def current_experiment() -> Experiment | None:
    """The experiment the calling run belongs to (None for a run on its own)."""
    return _CURRENT.get()


@asynccontextmanager
async def open_experiment(
    kind: str,
    name: str,
    output_path: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> AsyncIterator[Experiment]:
    """The runs started inside belong to a new `Experiment`; its `at_end` hooks run on leaving.

    The hooks run in the order they were added, shielded from cancellation,
    each whatever the others did; the first error one raises is raised after
    them, unless the experiment itself failed (then it is noted on that error).
    """
    experiment = Experiment(kind, name, output_path, dict(parameters or {}), _CURRENT.get())
    token = _CURRENT.set(experiment)
    try:
        yield experiment
    except BaseException as failure:
        _CURRENT.reset(token)
        with trio.CancelScope(shield=True):
            error = await _call_hooks(experiment, interrupted=True)
        if error is not None and hasattr(failure, "add_note"):
            failure.add_note(f"then, ending the experiment: {type(error).__name__}: {error}")
        raise
    _CURRENT.reset(token)
    with trio.CancelScope(shield=True):
        error = await _call_hooks(experiment, interrupted=False)
    if error is not None:
        raise error


async def _call_hooks(experiment: Experiment, interrupted: bool) -> Exception | None:
    first: Exception | None = None
    for hook in experiment._at_end:
        try:
            outcome = hook(interrupted)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:
            first = first or exc
    return first
