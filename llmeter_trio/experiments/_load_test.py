"""`LoadTest`: one run per concurrency level, one after the other."""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from .._checks import check_number
from .._loops import runs_on_any_loop
from ..callbacks._experiment import open_experiment
from ..endpoints import Endpoint
from ..engine import LiveProgress
from ..engine._payloads import PayloadInput
from ..engine._plan import check_clients
from ..live import run_with_progress
from ..results import Result, holds_run
from ..storage import resolve
from ..tokenizers import Tokenizer
from ..workloads import Sessions
from ._load_test_result import LoadTestResult, level_name
from ._names import experiments

__all__ = ["LoadTest"]

_DEFAULT_PER_CLIENT = 1
_DEFAULT_PER_RUN = 10


def _seconds(value: float | timedelta | None) -> float | None:
    return value.total_seconds() if isinstance(value, timedelta) else value


@attrs.define
class LoadTest:
    """Measures how an endpoint behaves as concurrency grows: one run per level.

    For each number of clients in `sequence_of_clients`, in order, a run goes
    to ``{output_path}/{test_name}/{clients:05d}-clients/`` (nothing is saved
    without an `output_path`)::

        load_test = LoadTest(endpoint, payload, sequence_of_clients=[1, 4, 16])
        result = await load_test.run(output_path="outputs")

    - **Count-bound** (the default): each client of a level sends
      ``max(min_requests_per_client, ceil(min_requests_per_run / clients))``
      requests, so a level sends at least `min_requests_per_run` requests in
      all and at least `min_requests_per_client` per client (LLMeter's rule).
    - **Time-bound**: with `run_duration` (seconds), each level runs that
      long instead (see `Runner` for how in-flight requests end). Setting
      `min_requests_per_client` or `min_requests_per_run` away from their
      defaults as well is an error: they only apply to count-bound levels.

    `test_name` defaults to the date and time the LoadTest was made. A
    live display per level goes to stderr (docs/user-guide.md, "Watching a
    run"), labelled with the level; ``progress_bar_stats={}`` or
    ``show_progress=False`` hides it (any other value of `progress_bar_stats`
    picks the statistics shown under its line). `timeout`, `drain_timeout`,
    `seed`, `server_metrics` (with `server_metrics_interval`), `workers` and
    where they run (`executor`, `ray_address`, `ray_resources`) go to every
    run, and so do `sessions` (multi-turn sessions: each level's clients run
    conversations, and the request counts above count sessions).
    """

    endpoint: Endpoint
    payload: PayloadInput
    sequence_of_clients: Sequence[int]
    min_requests_per_client: int = _DEFAULT_PER_CLIENT
    min_requests_per_run: int = _DEFAULT_PER_RUN
    run_duration: float | None = attrs.field(default=None, converter=_seconds)
    low_memory: bool = False
    progress_bar_stats: dict[str, Any] | None = None
    output_path: str | os.PathLike[str] | None = None
    tokenizer: Tokenizer | None = None
    test_name: str | None = None
    callbacks: Sequence[Any] | None = None
    # -- beyond LLMeter --
    timeout: float | None = attrs.field(default=60, kw_only=True)
    drain_timeout: float | None = attrs.field(default=None, kw_only=True)
    seed: int | None = attrs.field(default=None, kw_only=True)
    # a Prometheus page scraped during every level (`Runner`'s `server_metrics`)
    server_metrics: str | None = attrs.field(default=None, kw_only=True, repr=False)
    server_metrics_interval: float = attrs.field(default=1.0, kw_only=True)
    # worker processes sending each level together (`Runner`'s `workers`; "auto": one per core)
    workers: int | Literal["auto"] | None = attrs.field(default=None, kw_only=True)
    # where the workers run: this host's processes, or actors on a Ray cluster (`Runner`'s)
    executor: Literal["local", "ray"] = attrs.field(default="local", kw_only=True)
    ray_address: str | None = attrs.field(default=None, kw_only=True)
    ray_resources: Mapping[str, float] | None = attrs.field(default=None, kw_only=True)
    # the live display of each level: False hides it (as progress_bar_stats={} does)
    show_progress: bool | None = attrs.field(default=None, kw_only=True)
    # multi-turn sessions for every level (`Runner.run`'s `sessions`): clients run sessions
    sessions: Sessions | Mapping[str, Any] | int | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        levels = list(self.sequence_of_clients)
        if not levels:
            raise ValueError("sequence_of_clients is empty: give the numbers of clients to test")
        for clients in levels:
            check_clients("every number of clients in sequence_of_clients", clients)
        repeated = sorted({c for c in levels if levels.count(c) > 1})
        if repeated:
            raise ValueError(
                f"sequence_of_clients repeats {repeated}: each level is one run folder "
                f"({level_name(repeated[0])}), so list each number of clients once"
            )
        self.sequence_of_clients = levels
        check_number("min_requests_per_client", self.min_requests_per_client, whole=True)
        check_number("min_requests_per_run", self.min_requests_per_run, whole=True, at_least=0)
        check_number("run_duration", self.run_duration)
        if self.run_duration is not None and (
            self.min_requests_per_client != _DEFAULT_PER_CLIENT
            or self.min_requests_per_run != _DEFAULT_PER_RUN
        ):
            raise ValueError(
                "run_duration makes every level time-bound, while min_requests_per_client "
                "and min_requests_per_run size count-bound levels: set one or the other"
            )
        if self.test_name is None:
            self.test_name = datetime.now().strftime("%Y%m%d-%H%M%S")
        elif not self.test_name.strip("/ "):
            raise ValueError(f"test_name must name a folder, not {self.test_name!r}")

    def n_requests(self, clients: int) -> int | None:
        """Requests per client at a level of `clients` (None when time-bound)."""
        if self.run_duration is not None:
            return None
        per_run = math.ceil(self.min_requests_per_run / clients)
        return max(self.min_requests_per_client, per_run)

    def test_folder(self, output_path: str | os.PathLike[str] | None = None) -> str | None:
        """Where `run(output_path)` saves the levels: ``{output_path}/{test_name}``."""
        base = output_path if output_path is not None else self.output_path
        if base is None:
            return None
        assert self.test_name is not None
        return posixpath.join(os.fspath(base).rstrip("/"), self.test_name)

    def _settings(self) -> dict[str, Any]:
        """The settings an experiment's callbacks see (each run has the endpoint's)."""
        names = ("min_requests_per_client", "min_requests_per_run", "run_duration",
                 "low_memory", "timeout", "drain_timeout", "seed")  # fmt: skip
        return {"sequence_of_clients": list(self.sequence_of_clients)} | {
            name: getattr(self, name) for name in names
        }

    @runs_on_any_loop
    async def run(self, output_path: str | os.PathLike[str] | None = None) -> LoadTestResult:
        """Run every level in turn and return their results, keyed by number of clients.

        `output_path` (any fsspec URL) overrides the LoadTest's. If a level is
        stopped (Ctrl-C, an error), the levels already done are saved, and
        ``LoadTestResult.load(test_folder)`` loads them with the partial one.
        Awaitable under trio and under asyncio (a notebook, `asyncio.run`).
        """
        folder = self.test_folder(output_path)
        levels = list(self.sequence_of_clients)
        if folder is not None:
            _check_unused(folder, levels)
        runner = experiments().Runner(
            self.endpoint,
            output_path=folder,
            tokenizer=self.tokenizer,
            timeout=self.timeout,
            seed=self.seed,
            drain_timeout=self.drain_timeout,
            server_metrics=self.server_metrics,
            server_metrics_interval=self.server_metrics_interval,
            workers=self.workers,
            executor=self.executor,
            ray_address=self.ray_address,
            ray_resources=self.ray_resources,
            sessions=self.sessions,
        )
        results: dict[int, Result] = {}
        assert self.test_name is not None
        async with open_experiment("load_test", self.test_name, folder, self._settings()):
            await self._run_levels(runner, levels, results)
        return LoadTestResult(results=results, test_name=self.test_name, output_path=folder)

    async def _run_levels(self, runner: Any, levels: list[int], results: dict[int, Result]) -> None:
        """Run the levels one after the other, each result into `results` as it ends."""
        size: dict[str, Any] = (
            {"run_duration": self.run_duration} if self.run_duration is not None else {}
        )
        for index, clients in enumerate(levels, start=1):
            if self.run_duration is None:
                size = {"n_requests": self.n_requests(clients)}
            progress = LiveProgress()

            async def level(
                clients: int = clients,
                size: dict[str, Any] = size,
                progress: LiveProgress = progress,
            ) -> Result:
                result: Result = await runner.run(
                    payload=self.payload,
                    clients=clients,
                    **size,
                    run_name=level_name(clients),
                    callbacks=self.callbacks,
                    low_memory=self.low_memory,
                    progress=progress,
                    progress_bar_stats=self.progress_bar_stats,
                    show_progress=False,  # the level's display is drawn here, or hidden
                )
                return result

            if self.progress_bar_stats == {} or self.show_progress is False:
                results[clients] = await level()
            else:
                results[clients] = await run_with_progress(
                    level, progress, label=f"level {index}/{len(levels)}: {clients:>4} clients"
                )


def _check_unused(folder: str, levels: list[int]) -> None:
    """Refuse before the first level, not halfway, if a level's folder already holds a run."""
    fs, path = resolve(folder)
    used = [level_name(c) for c in levels if holds_run(fs, posixpath.join(path, level_name(c)))]
    if used:
        raise FileExistsError(
            f"{folder} already holds runs for {', '.join(used)}: choose another test_name "
            "or output_path (runs are never mixed)"
        )
