"""`Runner`: LLMeter's entry point for one run, on trio."""

from __future__ import annotations

import itertools
import os
import posixpath
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal, TypeVar

import attrs

from .._loops import runs_on_any_loop
from ..endpoints import Endpoint
from ..live_display import DisplayStats, check_display_stats
from ..plugins import callback_from_config
from ..results import RUN_CONFIG_FILE, Result, holds_run
from ..run_config import RunConfig
from ..schedules import Schedule
from ..stats import PercentileMethod
from ..storage import (
    OutputLocationError,
    ResponseSink,
    converter,
    display_url,
    open_sink,
    os_error_reason,
    resolve,
    write_json,
)
from ..tokenizers import DummyTokenizer, Tokenizer
from ..workloads import Sessions
from ._hooks import RunHooks
from ._payloads import PayloadInput
from ._plan import RunPlan, plan_run
from ._retry import Retry
from ._run import OnInterrupt, execute_run
from ._saved_runner import load_runner, save_runner
from ._writer import LiveProgress

__all__ = ["Runner"]

R = TypeVar("R", bound="Runner")


@attrs.define
class Runner:
    """Sends load to one endpoint with closed-loop clients and measures it.

    The fields are defaults for `run`, which may override any of them:

        runner = Runner(endpoint, output_path="outputs")
        result = await runner.run(payload=payloads, clients=8, n_requests=20)

    `run` may be awaited from trio or from asyncio (a notebook), where it runs
    as a trio guest on the asyncio loop (`llmeter_trio._loops`).

    Run semantics (as in LLMeter, with its flaws fixed):

    - `n_requests` is per client: a run sends ``clients * n_requests``
      requests. Without `n_requests` or `run_duration`, each client sends
      ``len(payload)`` requests.
    - `run_duration` (seconds) bounds the run in time instead: after it no
      request starts; requests in flight get `drain_timeout` more seconds
      (default: `timeout`, else 60 s) and are then cancelled, each recorded
      as ``cancelled``. The two are exclusive.
    - `timeout` is a deadline over the whole of each request (connecting,
      waiting, streaming), not a per-read timeout.
    - Each client draws payloads in its own seeded order; `seed` (random
      when not given, and saved) makes a run repeatable. With
      ``payload_order="once"`` the clients instead share one pass over the
      payloads in list order, each taking the next one not yet sent, so every
      payload is sent exactly once (no `n_requests`; closed loop only).
    - Results go to ``{output_path}/{run_name}/`` when the Runner has the
      `output_path`, and to ``output_path`` itself when it is given to `run`
      (as in LLMeter); `Result.output_path` says which folder. A folder
      holding another run is refused (`FileExistsError`), except when the
      run name was left to the default (the time): the next free
      ``{name}-2``, ``-3``, ... is used instead. Records stream
      there as they finish, so an interrupted or killed run keeps what it
      measured.
    - Ctrl-C or SIGTERM stops the load; the partial result is saved, then
      ``on_interrupt="raise"`` (the default here) raises `RunInterrupted`
      carrying it, and ``on_interrupt="return"`` returns it (LLMeter's way,
      the default of `llmeter_trio.runner.Runner`). Either way
      ``result.interrupted`` and ``result.stats["interrupted"]`` are true.
    - `endpoint` may be left to `run` (``run(endpoint=...)``); `run_duration`
      may be a `timedelta`. An endpoint whose `invoke` is a plain (blocking)
      function, as LLMeter's are, runs it in a worker thread per request.
    - With `preconnect` (the default) each client's connection is opened
      before the run's clock starts, so no first request is charged for it;
      ``preconnect=False`` measures cold starts (see each record's
      `connect_time`).
    - `retry` (off by default) sends a failed request again as a real client
      would: a `Retry` policy, its options as a dict, or a number of attempts.
      A closed-loop client told ``Retry-After`` waits that long before its next
      request unless ``respect_retry_after=False`` (docs/throttling.md). When
      the first requests all fail to connect, the run stops at once, saved,
      and raises `EndpointUnreachable`.
    - `sessions` (a `~llmeter_trio.workloads.Sessions`, its options as a dict, or
      a number of turns) makes each payload the first turn of a multi-turn
      conversation: every later turn sends the history with the real answers,
      after a think time. A closed-loop client then runs one session after
      another, an open-loop arrival starts one (the rate and `max_concurrency`
      count sessions), and `n_requests` counts sessions (docs/workloads.md).
    - `percentile_method` picks how percentiles are computed: ``"linear"``
      (the default) or ``"llmeter"`` (LLMeter's numbers); saved with the run.
    - A live display (`llmeter_trio.live`) shows the run's progress, requests
      in flight and statistics on stderr: by default when stderr is a terminal
      or in a notebook; ``show_progress=False`` hides it, ``True`` shows it
      anywhere (off a terminal, a plain line every 5 seconds). LLMeter's
      ``disable_clients_progress_bar=True`` hides it too. `progress_bar_stats`
      (LLMeter's) picks the statistics it shows under its progress line.
    - `server_metrics` (a URL such as ``http://127.0.0.1:8000/metrics``) scrapes
      the server's Prometheus page every `server_metrics_interval` seconds
      while the load runs: every sample is saved as ``server_metrics.jsonl``
      and `Result.server_metrics` summarises the gauges that explain a knee
      (`llmeter_trio.metrics`). A failed scrape is recorded, never fails the run.
    - `workers` (a number, or ``"auto"``: one per core) runs the load in that
      many worker processes, each a trio run with its share of the clients or
      of the schedule, started together and stopped together, their records
      merged into one result (`llmeter_trio.distributed`; docs/scaling-out.md).
      Each worker gets a copy of every callback (a configuration, or an object
      that pickles); a `max_cost` cap is divided between them.
    - One process runs at most 100,000 clients (`MAX_CLIENTS`; open loop:
      requests in flight); every setting is checked before the first request
      (`engine._plan`). `callbacks` may also be given as configurations,
      ``{"callback_type": NAME, **options}``, found through the plugins.
    """

    endpoint: Endpoint | Mapping[str, Any] | None = None  # a dict: `Endpoint.load` makes it
    output_path: str | os.PathLike[str] | None = None
    tokenizer: Tokenizer | None = None
    clients: int = 1
    n_requests: int | None = None
    run_duration: float | timedelta | None = None
    payload: PayloadInput | None = None
    run_name: str | None = None
    run_description: str | None = None
    timeout: float | None = 60
    callbacks: Sequence[Any] | None = None
    low_memory: bool = False
    progress_bar_stats: DisplayStats | None = None  # LLMeter's: what a live display shows
    seed: int | None = None
    drain_timeout: float | None = None
    schedule: Schedule | None = None
    warmup_requests: int | None = None
    warmup_seconds: float | None = None
    cooldown_requests: int | None = None
    cooldown_seconds: float | None = None
    lag_tolerance: float = 0.025
    rate_tolerance: float = 0.05
    slos: Sequence[str] | None = None
    payload_order: Literal["shuffle", "once"] = "shuffle"
    preconnect: bool = True
    percentile_method: PercentileMethod = "linear"
    # the live display (`llmeter_trio.live`): None shows it on a terminal or in a notebook
    show_progress: bool | None = None
    # LLMeter's progress-bar switches: True turns the live display off (no per-client bars)
    disable_per_client_progress_bar: bool | None = None
    disable_clients_progress_bar: bool | None = None
    on_interrupt: OnInterrupt = "raise"
    # a Prometheus page (e.g. vLLM's http://host:8000/metrics) scraped during each run
    server_metrics: str | None = None
    server_metrics_interval: float = 1.0
    # worker processes on this host sending the load together (`llmeter_trio.distributed`)
    workers: int | Literal["auto"] | None = None
    # where the workers run: processes on this host, or actors on a Ray cluster (`ray` extra)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    ray_resources: Mapping[str, float] | None = None
    retry: Retry | Mapping[str, Any] | int | None = None  # see docs/throttling.md
    respect_retry_after: bool = True
    # multi-turn sessions (docs/workloads.md): `Sessions`, its options as a dict, or a turn count
    sessions: Sessions | Mapping[str, Any] | int | None = None

    def add_callback(self, callback: Any) -> None:
        """Add a callback for every later run (LLMeter's `Runner.add_callback`)."""
        self.callbacks = [*(self.callbacks or ()), callback]

    def save(
        self, output_path: str | os.PathLike[str] | None = None, file_name: str = "run_config.json"
    ) -> str:
        """Save these settings (LLMeter's `Runner.save`): to `output_path`, else the Runner's.

        Payloads given as dicts go to ``payload.jsonl`` beside the document, which
        names that file, as LLMeter's does; callbacks (code) are not saved, nor any
        secret. Returns the document's path; `Runner.load` reads it back.
        """
        return save_runner(self, output_path, file_name)

    @classmethod
    def load(
        cls: type[R], load_path: str | os.PathLike[str], file_name: str = "run_config.json"
    ) -> R:
        """A Runner with saved settings: `save`'s document, or a run folder's configuration
        (LLMeter's or llmeter-trio's), to run it again. A run's folder is read back as
        its parent `output_path`, so a rerun goes beside it (under a new `run_name`)."""
        return load_runner(cls, load_path, file_name)

    @runs_on_any_loop
    async def run(
        self,
        *,
        payload: PayloadInput | None = None,
        clients: int | None = None,
        n_requests: int | None = None,
        run_duration: float | timedelta | None = None,
        timeout: float | None = None,
        drain_timeout: float | None = None,
        callbacks: Sequence[Any] | None = None,
        progress_bar_stats: DisplayStats | None = None,
        low_memory: bool | None = None,
        run_name: str | None = None,
        run_description: str | None = None,
        output_path: str | os.PathLike[str] | None = None,
        tokenizer: Tokenizer | None = None,
        seed: int | None = None,
        schedule: Schedule | None = None,
        warmup_requests: int | None = None,
        warmup_seconds: float | None = None,
        cooldown_requests: int | None = None,
        cooldown_seconds: float | None = None,
        lag_tolerance: float | None = None,
        rate_tolerance: float | None = None,
        slos: Sequence[str] | None = None,
        payload_order: Literal["shuffle", "once"] | None = None,
        preconnect: bool | None = None,
        percentile_method: PercentileMethod | None = None,
        progress: LiveProgress | None = None,
        endpoint: Endpoint | Mapping[str, Any] | None = None,
        on_interrupt: OnInterrupt | None = None,
        disable_per_client_progress_bar: bool | None = None,
        disable_clients_progress_bar: bool | None = None,
        show_progress: bool | None = None,
        server_metrics: str | None = None,
        server_metrics_interval: float | None = None,
        workers: int | Literal["auto"] | None = None,
        executor: Literal["local", "ray"] | None = None,
        ray_address: str | None = None,
        ray_resources: Mapping[str, float] | None = None,
        retry: Retry | Mapping[str, Any] | int | None = None,
        respect_retry_after: bool | None = None,
        sessions: Sessions | Mapping[str, Any] | int | None = None,
    ) -> Result:
        """Run the load and return its `Result` (also saved, when there is an output path).

        Arguments left as None take the Runner's value; `callbacks` add to the
        Runner's. An `output_path` given here is the run folder itself (the
        Runner's is the parent of ``{run_name}/``). Pass a `LiveProgress` to
        watch the counts while the run goes on.
        """
        given = {k: v for k, v in locals().items() if k not in ("self", "progress", "callbacks")}
        overrides = {k: v for k, v in given.items() if v is not None}
        if n_requests is not None or run_duration is not None:  # a bound given here wins whole
            overrides.update(n_requests=n_requests, run_duration=run_duration)
        given_callbacks = [*(self.callbacks or ()), *(callbacks or ())]
        all_callbacks = [
            callback_from_config(c) if isinstance(c, Mapping) else c for c in given_callbacks
        ]
        settings = attrs.evolve(self, **overrides, callbacks=all_callbacks)
        if settings.workers is not None:
            from ..distributed._split import worker_callbacks, worker_count

            settings.workers = worker_count(settings.workers)
            callback_configs = worker_callbacks(given_callbacks)
        on_ray = settings.executor == "ray" or settings.ray_address is not None
        if on_ray or settings.executor != "local":
            from ..distributed._ray import check_ray_settings  # before the run folder is made

            check_ray_settings(settings.executor, settings.workers, settings.ray_resources)
        if isinstance(settings.endpoint, Mapping):  # a saved configuration, as LLMeter takes
            settings.endpoint = Endpoint.load(settings.endpoint)
        plan = plan_run(settings, run_folder=output_path)
        if settings.workers is not None:  # before the run folder is made
            from ..distributed._coordinator import check_rebuilds

            assert isinstance(settings.endpoint, Endpoint)  # checked by plan_run
            check_rebuilds(plan.config, settings.endpoint)
        config = plan.config
        progress = progress or LiveProgress()
        progress.total_requests, progress.run_duration = plan.total_requests, config.run_duration
        check_display_stats(settings.progress_bar_stats)  # before the run folder is made
        if settings.progress_bar_stats is not None:
            progress.display_stats = settings.progress_bar_stats
        sink = None
        if config.output_path is not None:
            # a name the user gave is theirs (a folder holding a run is refused); one made
            # from the clock gets a suffix instead, as two runs may start in the same second
            named = settings.run_name is not None or output_path is not None
            plan, sink = _start_run(
                plan,
                settings.output_path,
                pick_free_name=not named,
                records=settings.workers is None,  # workers save theirs in their own folders
            )
            config = plan.config

        workers = settings.workers if isinstance(settings.workers, int) else None

        async def go() -> Result:
            hooks = RunHooks(settings.callbacks or ())
            tokenizer_obj = settings.tokenizer or DummyTokenizer()
            endpoint = settings.endpoint
            assert endpoint is not None and not isinstance(endpoint, Mapping)  # checked by plan_run
            if workers is not None:
                from ..distributed._coordinator import run_with_workers

                if on_ray:
                    from ..distributed._ray import ray_executor

                    factory = ray_executor(settings.ray_address, settings.ray_resources)
                    return await run_with_workers(
                        plan, workers, endpoint, callbacks=callback_configs,
                        progress=progress, executor=factory,
                    )  # fmt: skip
                return await run_with_workers(
                    plan, workers, endpoint, callbacks=callback_configs, progress=progress,
                )  # fmt: skip
            return await execute_run(plan, endpoint, tokenizer_obj, hooks, sink, progress)

        from ..live import current_label, display_wanted, run_with_progress

        if display_wanted(_show_progress(settings)):
            return await run_with_progress(go, progress, label=current_label())
        return await go()


def _show_progress(settings: Runner) -> bool | None:
    """The display option, from `show_progress` or LLMeter's progress-bar switches."""
    if settings.show_progress is not None:
        return settings.show_progress
    if settings.disable_clients_progress_bar is not None:
        return not settings.disable_clients_progress_bar
    if settings.disable_per_client_progress_bar is False:
        return True  # bars asked for: the one display there is
    return None


def _start_run(
    plan: RunPlan,
    parent: str | os.PathLike[str] | None,
    *,
    pick_free_name: bool,
    records: bool = True,
) -> tuple[RunPlan, ResponseSink | None]:
    """Start the plan's run folder; with `pick_free_name`, when it holds another run, the
    first free ``{run_name}-2``, ``-3``, ... beside it (in `parent`) instead."""
    config = plan.config
    assert config.output_path is not None and config.run_name is not None
    base = config.run_name
    for number in itertools.count(2):
        try:
            return plan, _start_run_folder(config.output_path, config, records=records)
        except FileExistsError:
            if not pick_free_name or parent is None:
                raise
        name = f"{base}-{number}"
        config = attrs.evolve(
            config, run_name=name, output_path=posixpath.join(os.fspath(parent), name)
        )
        plan = attrs.evolve(plan, config=config)
    raise AssertionError("unreachable")  # pragma: no cover


def _start_run_folder(
    run_folder: str, config: RunConfig, *, records: bool = True
) -> ResponseSink | None:
    """Create the run folder, save the configuration and open the records' sink.

    Without `records`, no sink is opened (a run split across workers: each worker
    saves its records in its own folder under this one). Done before any
    request: a folder that holds a run is refused
    (`FileExistsError`: runs are never mixed), and one that cannot be written
    (not a folder, no permission, a full disk) is an `OutputLocationError`.
    """
    fs, folder = resolve(run_folder)
    try:
        in_use = holds_run(fs, folder)
        if not in_use:
            fs.makedirs(folder, exist_ok=True)
            write_json(fs, posixpath.join(folder, RUN_CONFIG_FILE), converter.unstructure(config))
            return open_sink(run_folder) if records else None
    except OSError as exc:
        raise OutputLocationError(
            f"cannot write the run folder {display_url(run_folder)}: {os_error_reason(exc)}; "
            "no request was sent"
        ) from exc
    raise FileExistsError(
        f"{display_url(run_folder)} already holds a run; choose another run_name or output_path "
        "(runs are never mixed)"
    )
