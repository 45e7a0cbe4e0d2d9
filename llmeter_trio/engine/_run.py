"""One run: closed-loop clients, one writer, a deadline, and signal handling, in nurseries.

The shape of a run::

    run nursery
    ├── writer task       (shielded: drains every record, even while cancelling)
    ├── signal watcher    (SIGINT / SIGTERM cancel the load scope)
    └── load scope        (the run's deadline: run_duration + drain grace)
        └── endpoint session (e.g. the shared httpx client)
            ├── preconnect: connections opened, then the run's clock starts
            └── client nursery: one task per client

Every issued request produces exactly one record, sent to the writer over a
bounded memory channel: finished, failed, timed out or cancelled. When the
load ends for any reason the writer drains the channel, the result is built
and saved, and `after_run` runs, before the reason (an error, a cancellation,
`RunInterrupted`) propagates. If storage or an `after_invoke` callback fails,
the load stops, the writer still counts every record, and that error is
raised once the partial result is saved: the first error is the one raised,
never a later one from saving the summary (a full disk fails both).
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

import attrs
import trio

from ..endpoints import (
    Attempt,
    Chunk,
    Endpoint,
    ErrorClass,
    InvocationResponse,
    classify_exception,
)
from ..endpoints._base import scrubber
from ..endpoints._timing import StreamRecorder, keep_partial_timeline, watch_recorders
from ..metrics._scraper import SERVER_METRICS_FILE, ServerMetricsScraper
from ..metrics._series import SeriesFile
from ..results import Result
from ..run_config import RunConfig
from ..schedules import OpenLoopSchedule, TokenRate
from ..stats import RunStats
from ..storage import ResponseSink, converter, resolve, run_io
from ..tokenizers import Tokenizer
from ..workloads import keep_workload, split_workload
from ._hooks import RunHooks
from ._load import OPEN_LOOP_POOL, Issue, closed_loop, open_loop, paced_loop
from ._monitor import GeneratorMonitor, generator_warnings
from ._pacer import QuotaPacer
from ._plan import RunPlan
from ._result import run_result
from ._retry import Retry, retry_policy
from ._sessions import Mark, SessionLoop
from ._signals import watch_signals
from ._stop import CURRENT_STOP, LoadStop
from ._window import exclusion
from ._writer import LiveProgress, RecordWriter

__all__ = [
    "CHANNEL_CAPACITY",
    "DEFAULT_DRAIN_TIMEOUT",
    "UNREACHABLE_AFTER",
    "EndpointUnreachable",
    "LiveProgress",
    "OnInterrupt",
    "RunControl",
    "RunInterrupted",
    "execute_run",
]

OnInterrupt = Literal["raise", "return"]

CHANNEL_CAPACITY = 1024
DEFAULT_DRAIN_TIMEOUT = 60.0
# connection failures in a row, before any answer, that stop a run as unreachable (fewer
# with fewer clients: each closed-loop client's first request failing is enough)
UNREACHABLE_AFTER = 10


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run; its partial result was saved and is attached.

    A subclass of KeyboardInterrupt, so an uncaught one ends a script as Ctrl-C
    does; catch it to keep working with `result`.
    """

    def __init__(self, result: Result, signal_name: str) -> None:
        super().__init__(f"run {result.run_name!r} interrupted by {signal_name}")
        self.result = result
        self.signal_name = signal_name


class RunControl(Protocol):
    """Drives a run from outside it (a worker of a split run): when its clock starts, and
    stops sent from another process (`llmeter_trio.distributed`)."""

    def attach(self, stop: LoadStop, interrupt: Callable[[str], None]) -> None:
        """Called in the run's trio thread as it starts: ``stop.stop(reason)`` ends the
        sending as `stop_run` does (``stop.reason`` says if something in the run did);
        `interrupt(signal_name)` cancels the load as Ctrl-C does."""

    async def clock_start(self) -> tuple[float, datetime]:
        """Called once the connections are open; returns when the run's clock starts: that
        instant as a trio time (it may be past) and as a wall-clock time."""
        ...


class EndpointUnreachable(Exception):
    """The run's first requests all failed to connect: it stopped at once, its folder saved.

    `result` is the (short) result of the run, `url` where nothing answered.
    """

    def __init__(self, result: Result, url: str) -> None:
        super().__init__(f"nothing answers at {url}")
        self.result = result
        self.url = url


@attrs.define
class _Run:
    plan: RunPlan
    endpoint: Endpoint
    tokenizer: Tokenizer | None
    hooks: RunHooks
    sink: ResponseSink | None
    progress: LiveProgress
    run_start: float = attrs.field(init=False)
    wall_start: datetime = attrs.field(init=False)
    load_end: float | None = None
    stop_at: float = math.inf
    writer: RecordWriter = attrs.field(init=False)
    signal_received: str | None = None
    forced: bool = False
    load_scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    stop: LoadStop = attrs.field(factory=LoadStop)  # `stop_run` from a callback or an endpoint
    monitor: GeneratorMonitor = attrs.field(init=False)
    health: dict[str, Any] = attrs.field(factory=dict)
    server_metrics: dict[str, Any] = attrs.field(factory=dict)  # the scraper's summary
    payload_indices: dict[int, int] = attrs.field(init=False)  # id(payload) -> its index
    scrub: Callable[[str], str] = attrs.field(init=False)  # masks the endpoint's credentials
    # a plain (blocking) `invoke`, as LLMeter's endpoints have: run in worker threads
    threads: trio.CapacityLimiter | None = attrs.field(init=False)
    control: RunControl | None = None
    retry: Retry | None = attrs.field(init=False)
    # closed loop: the trio time before which a client told Retry-After sends nothing
    not_before: dict[int, float] = attrs.field(factory=dict)
    answered: bool = False  # any answer yet (even an error status): the endpoint is there
    connect_failures: int = 0  # in a row, before any answer
    unreachable: str | None = None  # where nothing answered, when the run stopped for it
    sessions: SessionLoop | None = None  # a run of multi-turn sessions: its sessions

    @retry.default
    def _retry_policy(self) -> Retry | None:
        return retry_policy(self.plan.config.retry)

    @threads.default
    def _thread_limiter(self) -> trio.CapacityLimiter | None:
        if _is_async(self.endpoint.invoke):
            return None
        return trio.CapacityLimiter(max(1, self.plan.config.clients))

    @monitor.default
    def _new_monitor(self) -> GeneratorMonitor:
        return GeneratorMonitor(self.plan.config.lag_tolerance)

    @payload_indices.default
    def _index_payloads(self) -> dict[int, int]:
        return {id(payload): index for index, payload in enumerate(self.payloads)}

    @property
    def config(self) -> RunConfig:
        return self.plan.config

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return self.plan.payloads

    @property
    def schedule(self) -> OpenLoopSchedule | None:
        return self.plan.schedule

    def __attrs_post_init__(self) -> None:
        self.writer = RecordWriter(
            stats=RunStats(
                self.config.parsed_slos(), percentile_method=self.config.percentile_method
            ),
            tokenizer=self.tokenizer,
            hooks=self.hooks,
            sink=self.sink,
            progress=self.progress,
            keep=not self.config.low_memory,
            stop_load=self.load_scope.cancel,
        )
        self.scrub = scrubber(self.endpoint.secret_values())  # once per run
        self.stop.on_stop = self._drain_after_stop

    # -- the run as a whole ---------------------------------------------------

    async def execute(self) -> Result:
        token = CURRENT_STOP.set(self.stop)  # tasks of the run inherit it
        try:
            return await self._execute()
        finally:
            CURRENT_STOP.reset(token)

    async def _execute(self) -> Result:
        await self.hooks.call("before_run", run_config=converter.unstructure(self.config))
        if self.control is not None:
            self.control.attach(self.stop, self._on_signal)
        self.run_start = trio.current_time()
        self.wall_start = datetime.now(timezone.utc)
        try:
            await self._load_and_write()
        except BaseException as error:
            with trio.CancelScope(shield=True):
                later = (await self._finish(interrupted=True))[1]
            _mention(error, later)
            raise
        failure = self.writer.failure  # storage or a callback failed during the run
        stopped_early = self.signal_received is not None or failure is not None
        result, later = await self._finish(interrupted=stopped_early)
        if failure is not None:  # the first error is the one raised
            _mention(failure, later)
            raise failure
        if self.signal_received is not None and self.config.on_interrupt != "return":
            interrupted = RunInterrupted(result, self.signal_received)
            _mention(interrupted, later)
            raise interrupted
        if later is not None:
            raise later
        if self.unreachable is not None:
            raise EndpointUnreachable(result, self.unreachable)
        return result

    async def _load_and_write(self) -> None:
        send, receive = trio.open_memory_channel[InvocationResponse](CHANNEL_CAPACITY)
        scraper = self._server_metrics_scraper()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.writer.run, receive)
                try:
                    await nursery.start(self._watch_signals)
                    nursery.start_soon(self.monitor.run)
                    nursery.start_soon(self.monitor.sample_series, self._run_clock)
                    if scraper is not None:  # its first scrape comes before the load
                        await nursery.start(scraper.run)
                    with self.load_scope:
                        async with send:
                            await self._generate_load(send)
                    self.load_end = trio.current_time()
                    if scraper is not None:  # the counters up to the end of the load
                        await scraper.last_scrape()
                finally:
                    send.close()  # ends the shielded writer, also if cancelled before the load
                    if self.load_end is None:  # (cancelled: the load ended here)
                        self.load_end = trio.current_time()
                    self.health = self.monitor.report()
                    nursery.cancel_scope.cancel()  # the signal watcher, monitor and scraper
        finally:
            if scraper is not None:  # kept whatever stopped the run
                self.server_metrics = scraper.summary()
                if scraper.series is not None:
                    scraper.series.close()

    def _run_clock(self) -> float:
        """Seconds since the run's clock started (before it, during preconnect: below 0)."""
        return trio.current_time() - self.run_start

    def _server_metrics_scraper(self) -> ServerMetricsScraper | None:
        """The scraper of the run's `server_metrics` page, saving beside the records."""
        url = self.plan.server_metrics_url
        if url is None:
            return None
        folder = self.config.output_path
        series = SeriesFile(folder, SERVER_METRICS_FILE) if folder is not None else None
        return ServerMetricsScraper(
            url, self.config.server_metrics_interval, self._run_clock, series
        )

    async def _finish(self, interrupted: bool) -> tuple[Result, Exception | None]:
        """Close the sink, build and save the result, and call `after_run`.

        Returns the result and the first error raised on the way (closing the
        sink, saving, a callback), which never stops the rest: the result is
        saved and `after_run` called whatever failed. A sink that fails to
        close marks the run interrupted (its last records may be missing).
        """
        if self.load_end is None:
            self.load_end = trio.current_time()
        error: Exception | None = None
        sink = self.writer.sink  # None too when it failed during the run
        if sink is not None and not self.forced:
            try:
                await sink.close()
            except Exception as exc:
                error = exc
        result = self._build_result(interrupted or error is not None)
        if self.forced:
            return result, error
        if result.output_path is not None:
            try:
                await run_io(resolve(result.output_path)[0], result.save)
            except Exception as exc:
                error = error or exc
        try:
            await self.hooks.call("after_run", result=result, interrupted=result.interrupted)
            if result.contributed_stats and result.output_path is not None:  # callbacks added
                await run_io(resolve(result.output_path)[0], result.save_stats)
        except Exception as exc:
            error = error or exc
        return result, error

    def _build_result(self, interrupted: bool) -> Result:
        config = self.config
        assert self.load_end is not None
        total_test_time = self.load_end - self.run_start
        endpoint, stats, writer = self.endpoint, self.writer.stats, self.writer
        health = dict(self.health)
        result = run_result(
            self.plan, endpoint, stats, writer.responses,
            wall_start=self.wall_start, total_test_time=total_test_time,
            first_send=writer.first_send, last_send=writer.last_send,
            interrupted=interrupted, stop_reason=self.stop.reason, generator=health,
            generator_series=self.monitor.series, server_metrics=self.server_metrics,
        )  # fmt: skip
        # the statistics are summarized once, here, and kept by the result
        warnings = generator_warnings(
            health, result.stats, config.lag_tolerance, config.rate_tolerance
        )
        health.update(bottleneck=bool(warnings), warnings=warnings)
        return result

    # -- signals ----------------------------------------------------------------

    async def _watch_signals(
        self, task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with trio.CancelScope() as scope:
            if threading.current_thread() is not threading.main_thread():
                task_status.started(scope)  # signals can only be caught in the main thread
                await trio.sleep_forever()
            with watch_signals(self._on_signal):
                task_status.started(scope)
                await trio.sleep_forever()

    def _on_signal(self, name: str) -> None:
        if self.signal_received is None:
            self.signal_received = name
            self.load_scope.cancel()
        else:  # a second signal: stop saving too
            self.forced = True
            self.writer.scope.cancel()

    # -- load -------------------------------------------------------------------

    def _issue(self) -> Issue:
        """What the loops call per payload: `issue`, or with sessions, a whole session."""
        sessions = self.plan.sessions
        if sessions is None:
            return self.issue
        self.sessions = SessionLoop(
            self.issue, sessions, self.endpoint, self.config.seed, self.stop,
            lambda payload: self.payload_indices.get(id(payload)), stop_at=self.stop_at,
            numbers=self.plan.session_numbers(),
        )  # fmt: skip
        self.progress.sessions = self.sessions
        return self.sessions.issue

    async def _generate_load(self, send: trio.MemorySendChannel[InvocationResponse]) -> None:
        config = self.config
        schedule = self.schedule
        if schedule is None:
            async with self.endpoint.open_session(config.clients):
                await self._connect_then_start_clock(config.clients)
                await closed_loop(
                    self._issue(), self.payloads, clients=config.clients,
                    n_requests=config.n_requests,
                    seed=config.seed, stop_at=self.stop_at, send=send,
                    once=config.payload_order == "once", stop=self.stop,
                    first_client=self.plan.first_client,
                )  # fmt: skip
        else:
            async with self.endpoint.open_session(schedule.max_concurrency or OPEN_LOOP_POOL):
                # uncapped: how many connections it will need is not known
                await self._connect_then_start_clock(schedule.max_concurrency or 0)
                if isinstance(schedule, TokenRate):
                    await self._paced(schedule, send)
                    return
                await open_loop(
                    self._issue(), self.payloads, self.plan.arrivals(),
                    n_requests=config.n_requests,
                    max_concurrency=schedule.max_concurrency, seed=config.seed,
                    run_start=self.run_start, stop_at=self.stop_at, send=send, stop=self.stop,
                )  # fmt: skip

    async def _paced(
        self, schedule: TokenRate, send: trio.MemorySendChannel[InvocationResponse]
    ) -> None:
        """A quota-paced load: the writer settles each record's tokens with the pacer."""
        config = self.config
        pacer = QuotaPacer.for_run(schedule, self.payloads, self.tokenizer, self.endpoint)
        self.writer.settle = pacer.settle
        await paced_loop(
            self.issue, self.payloads, pacer, n_requests=config.n_requests,
            max_concurrency=schedule.max_concurrency, seed=config.seed, stop_at=self.stop_at,
            send=send, stop=self.stop,
        )  # fmt: skip

    async def _connect_then_start_clock(self, connections: int) -> None:
        """Open the clients' connections (unless the run measures cold starts); then the
        run's clock starts, so opening them is charged to no request."""
        config = self.config
        if config.preconnect and connections:
            limit = config.timeout if config.timeout is not None else DEFAULT_DRAIN_TIMEOUT
            with trio.move_on_after(limit):
                await self.endpoint.preconnect(connections)
        if self.control is not None:  # a worker: the clock starts at the run's agreed instant
            self.run_start, self.wall_start = await self.control.clock_start()
        else:
            self.run_start = trio.current_time()
            self.wall_start = datetime.now(timezone.utc)
        if config.run_duration is not None:
            self.stop_at = self.run_start + config.run_duration
            self.load_scope.deadline = self.stop_at + self._drain_grace()

    def _drain_grace(self) -> float:
        """How long requests in flight may take once the sending has stopped."""
        config = self.config
        if config.drain_timeout is not None:
            return config.drain_timeout
        return config.timeout if config.timeout is not None else DEFAULT_DRAIN_TIMEOUT

    def _drain_after_stop(self) -> None:
        deadline = trio.current_time() + self._drain_grace()
        self.load_scope.deadline = min(self.load_scope.deadline, deadline)

    async def issue(
        self,
        payload: dict[str, Any],
        intended: float,
        client: int | None,
        send: trio.MemorySendChannel[InvocationResponse],
        mark: Mark | None = None,
    ) -> InvocationResponse | None:
        """Send one request due at `intended`; hand its record to the writer, whatever happens,
        and return it (None when nothing was sent). `mark` (a session's) sets fields of the
        record before the writer gets it.

        `before_invoke` callbacks and `prepare_payload` run first, outside the
        timer; an error there is a bug in the set-up, not a failed request, and
        stops the run. A closed-loop client the server told to wait (Retry-After)
        first waits; if the run stops or ends meanwhile, nothing is sent.
        """
        throttle_wait = None
        if client is not None and client in self.not_before:
            throttle_wait = await self._wait_as_told(client)
            if throttle_wait is None:
                return None
            if throttle_wait > 0:  # (the wait may have passed already: none then)
                intended = trio.current_time()
            else:
                throttle_wait = None
        payload_index = self.payload_indices.get(id(payload))
        payload, workload = split_workload(payload)  # a copy: before_invoke may change it
        await self.hooks.call("before_invoke", payload=payload)
        payload = self.endpoint.prepare_payload(payload)
        index = self.progress.started
        self.progress.started += 1
        excluded = exclusion(
            self.config, self.plan.total_requests, index, intended - self.run_start
        )
        response: InvocationResponse | None = None
        sent = trio.current_time()
        with watch_recorders(self.run_start) as recorders:
            try:
                response = await self._invoke(payload, index, recorders)
            except Exception as exc:
                response = _failure(exc)
            finally:
                if response is None:  # cancelled (the run stopped) while in flight
                    cancelled = InvocationResponse.error_output(
                        "cancelled: the run stopped while this request was in flight",
                        ErrorClass.CANCELLED,
                    )
                    keep_partial_timeline(cancelled, recorders)
                    self._stamp(cancelled, client, intended, sent, payload, excluded, payload_index)
                    keep_workload(cancelled, workload)
                    if mark is not None:
                        mark(cancelled)
                    with trio.CancelScope(shield=True):
                        await _deliver(send, cancelled)
        if response.error is not None:
            response.error = self.scrub(response.error)
        if response.failed and response.attempts is None:
            keep_partial_timeline(response, recorders)
        response.throttle_wait = throttle_wait
        self._stamp(response, client, intended, sent, payload, excluded, payload_index)
        keep_workload(response, workload)
        if client is not None and response.retry_after and self.config.respect_retry_after:
            self.not_before[client] = trio.current_time() + response.retry_after
        if mark is not None:
            mark(response)
        await _deliver(send, response)
        return response

    async def _wait_as_told(self, client: int) -> float | None:
        """Wait until `client` may send again; the seconds waited, or None when the run
        stopped or its time ended meanwhile (nothing more to send)."""
        start = trio.current_time()
        wake = self.not_before.pop(client)
        with trio.move_on_at(min(wake, self.stop_at)):
            await self.stop.wait()
        now = trio.current_time()
        if self.stop.requested or now >= self.stop_at:
            return None
        return now - start

    async def _invoke(
        self, prepared: dict[str, Any], index: int, recorders: list[StreamRecorder]
    ) -> InvocationResponse:
        """One request: one attempt, or as many as the retry policy allows, all within the
        run's request timeout (waits included)."""
        timeout = self.config.timeout
        deadline = math.inf if timeout is None else trio.current_time() + timeout
        if self.retry is None:
            response = await self._attempt(prepared, deadline)
            self._note_reachability(response)
            return response
        return await self._attempts(prepared, index, recorders, deadline, self.retry)

    async def _attempt(self, prepared: dict[str, Any], deadline: float) -> InvocationResponse:
        """One attempt, its failure (an exception, the deadline) made a record."""
        with trio.move_on_at(deadline):
            try:
                return await self._call_endpoint(prepared)
            except Exception as exc:
                return _failure(exc)
        timeout = self.config.timeout
        return InvocationResponse.error_output(
            f"no complete answer within the {timeout:g} s request timeout", ErrorClass.TIMEOUT
        )

    async def _attempts(
        self,
        prepared: dict[str, Any],
        index: int,
        recorders: list[StreamRecorder],
        deadline: float,
        policy: Retry,
    ) -> InvocationResponse:
        """Attempts until one succeeds, or one that does not retry fails, or the policy's
        attempts, the deadline or the run end; the record of the last, timed from the first."""
        rng = policy.rng(self.config.seed, index)
        attempts: list[Attempt] = []
        waited = wait = 0.0
        first_send: float | None = None
        while True:
            made = len(recorders)
            sent = trio.current_time() - self.run_start
            response = await self._attempt(prepared, deadline)
            if response.failed and len(recorders) > made:
                keep_partial_timeline(response, recorders)
            if response.send_time is None:
                response.send_time = sent
            if first_send is None:
                first_send = response.send_time
            attempts.append(_attempt_of(response, wait))
            self._note_reachability(response)
            if len(attempts) >= policy.max_attempts or not policy.retries(response):
                break
            wait = policy.wait(len(attempts), response.retry_after, rng)
            if trio.current_time() + wait >= deadline or self.stop.requested:
                break
            if await self.stop.stopped_within(wait):  # the run stopped while this one waited
                break
            waited += wait
        _time_from(response, first_send)
        response.attempts = attempts
        response.retries = len(attempts) - 1
        response.retry_wait = waited
        return response

    def _note_reachability(self, response: InvocationResponse) -> None:
        """Stop the run when its first attempts all failed to connect: nothing answers."""
        if self.answered:
            return
        if not _failed_to_connect(response):
            self.answered = True
            return
        self.connect_failures += 1
        if self.connect_failures >= self._unreachable_after():
            url = self.config.endpoint_config.get("base_url") or self.endpoint.endpoint_name
            self.unreachable = str(url)
            self.stop.stop(f"nothing answers at {self.unreachable}")

    def _unreachable_after(self) -> int:
        """Connection failures before any answer that stop the run: one per closed-loop
        client (each one's first request), at least a retry policy's attempts, at most
        `UNREACHABLE_AFTER`."""
        failures = self.config.clients or UNREACHABLE_AFTER  # (an uncapped open loop: 0)
        if self.retry is not None:
            failures = max(failures, self.retry.max_attempts)
        return min(failures, UNREACHABLE_AFTER)

    async def _call_endpoint(self, prepared: dict[str, Any]) -> InvocationResponse:
        """The endpoint's `invoke`: awaited, or a blocking one in a worker thread.

        A thread cannot be stopped: on a timeout or a stop the request is
        recorded at once and its thread is left to finish on its own.
        """
        if self.threads is None:
            return await self.endpoint.invoke(prepared)
        blocking = _plain_invoke(self.endpoint)
        response = await trio.to_thread.run_sync(
            blocking, prepared, abandon_on_cancel=True, limiter=self.threads
        )
        if not isinstance(response, InvocationResponse):
            raise TypeError(f"invoke returned {type(response).__name__}, not an InvocationResponse")
        return response

    def _stamp(
        self,
        response: InvocationResponse,
        client: int | None,
        intended: float,
        sent: float,
        payload: dict[str, Any],
        excluded: str | None,
        payload_index: int | None = None,
    ) -> None:
        """Set what the engine knows about a record: who sent it, what, and when (run clock).

        `intended` and `sent` are trio times. A `send_time` the endpoint's
        `StreamRecorder` set is already on the run clock (the moment the request
        went to the transport) and is kept; otherwise it is `sent`.
        """
        response.client = client
        response.payload_index = payload_index
        response.excluded = excluded
        if response.send_time is None:
            response.send_time = sent - self.run_start
        response.intended_send_time = intended = intended - self.run_start
        self.monitor.note_schedule_lag(response.send_time, response.send_time - intended)
        response.request_time = self.wall_start + timedelta(seconds=response.send_time)
        if response.input_payload is None:
            response.input_payload = payload


def _failure(exc: Exception) -> InvocationResponse:
    """The record of an attempt that raised."""
    error_class, status = classify_exception(exc)
    return InvocationResponse.error_output(
        f"{type(exc).__name__}: {exc}", error_class, status_code=status
    )


def _failed_to_connect(response: InvocationResponse) -> bool:
    """Whether no server answered at all: a connection failure before any status or output."""
    return (
        response.error_class is ErrorClass.CONNECTION
        and response.status_code is None
        and not response.chunks
    )


def _attempt_of(response: InvocationResponse, wait: float) -> Attempt:
    return Attempt(
        send_time=response.send_time,
        status_code=response.status_code,
        error_class=response.error_class if response.failed else None,
        time_to_first_token=response.time_to_first_token,
        time_to_last_token=response.time_to_last_token,
        wait=wait,
        retry_after=response.retry_after,
    )


def _time_from(response: InvocationResponse, first_send: float | None) -> None:
    """Re-time a retried request's record from its first attempt's send: what the user waited."""
    send = response.send_time
    if first_send is None or send is None or send == first_send:
        return
    shift = send - first_send
    response.send_time = first_send
    for name in ("time_to_first_token", "time_to_first_content_token", "time_to_last_token"):
        value = getattr(response, name)
        if value is not None:
            setattr(response, name, value + shift)
    response.chunks = [Chunk(c.time + shift, c.kind, c.chars, c.tokens) for c in response.chunks]


def _is_async(invoke: Callable[..., Any]) -> bool:
    """Whether `invoke` is a coroutine function (also under `functools.wraps` wrappers)."""
    return inspect.iscoroutinefunction(inspect.unwrap(invoke)) or inspect.iscoroutinefunction(
        invoke
    )


def _plain_invoke(endpoint: Endpoint) -> Callable[[dict[str, Any]], Any]:
    """A blocking `invoke` as its author wrote it, under any wrapper added around it."""
    invoke = endpoint.invoke
    function = getattr(invoke, "__func__", None)  # a method: bind its own function
    if function is None:
        return invoke
    return functools.partial(inspect.unwrap(function), endpoint)


def _mention(error: BaseException, later: Exception | None) -> None:
    """Keep an error raised while saving in the notes of the run's first error (Python 3.11+)."""
    if later is not None and later is not error and hasattr(error, "add_note"):
        error.add_note(f"then, while saving the result: {type(later).__name__}: {later}")


async def _deliver(
    send: trio.MemorySendChannel[InvocationResponse], response: InvocationResponse
) -> None:
    """Hand a record to the writer; only a forced stop (second Ctrl-C) leaves none to take it."""
    try:
        await send.send(response)
    except trio.BrokenResourceError:  # (a try costs less than contextlib.suppress)
        return


async def execute_run(
    plan: RunPlan,
    endpoint: Endpoint,
    tokenizer: Tokenizer | None,
    hooks: RunHooks,
    sink: ResponseSink | None,
    progress: LiveProgress | None = None,
    control: RunControl | None = None,
) -> Result:
    """Run the load as `plan` says (closed loop, or its schedule) and return its result.

    `control` (a worker of a split run) starts its clock and stops it from outside.
    """
    run = _Run(plan, endpoint, tokenizer, hooks, sink, progress or LiveProgress(), control=control)
    return await run.execute()
