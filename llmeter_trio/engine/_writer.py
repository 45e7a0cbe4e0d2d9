"""The run's one writer task: every record is counted, kept, stored and reported here.

Records arrive over the run's bounded memory channel. For each, in order: a
record the endpoint gave no id gets a random one (as LLMeter's do), token
counts the endpoint did not report are filled in, the statistics count it, it
is kept in memory (unless low-memory), the progress counters move,
`after_invoke` callbacks see it (what they add, a cost in its `annotations`,
is saved with it), and it is written to storage. If storage or a
callback fails, the writer asks the run to stop the load, stops using what
failed, and goes on counting and storing every record until the channel closes.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import trio

from ..endpoints import InvocationResponse, TokenCountSource
from ..live_display import DisplayStats
from ..stats import RunStats
from ..storage import ResponseSink
from ..tokenizers import Tokenizer, count_tokens
from ._hooks import RunHooks

if TYPE_CHECKING:
    from ._sessions import SessionCounts

__all__ = ["LiveProgress", "RecordWriter"]


@attrs.define
class LiveProgress:
    """Counters a progress display can read while the run goes on.

    The run also fills in its planned size when it starts: `total_requests`
    (None when only time bounds it) and `run_duration`; `stats`, its
    statistics so far; and `display_stats`, the statistics to show
    (``progress_bar_stats``; see `llmeter_trio.live_display`).
    """

    started: int = 0
    finished: int = 0
    failed: int = 0
    output_tokens: int = 0
    total_requests: int | None = None
    run_duration: float | None = None
    stats: RunStats | None = None
    display_stats: DisplayStats | None = None
    sessions: SessionCounts | None = None  # a multi-turn run: sessions started, active


@attrs.define
class RecordWriter:
    """Consumes the run's records; shielded, so it drains them even while the run is cancelled."""

    stats: RunStats
    tokenizer: Tokenizer | None
    hooks: RunHooks
    sink: ResponseSink | None
    progress: LiveProgress
    keep: bool  # keep records in memory (not low-memory)
    stop_load: Callable[[], None]
    responses: list[InvocationResponse] = attrs.field(factory=list)
    first_send: float = math.inf
    last_send: float = -math.inf
    failure: Exception | None = None  # a storage or callback error: stops the load, re-raised
    callbacks_ok: bool = True
    scope: trio.CancelScope = attrs.field(factory=lambda: trio.CancelScope(shield=True))
    # sees each record once its token counts are known (a `TokenRate` run's pacer)
    settle: Callable[[InvocationResponse], None] | None = None

    def __attrs_post_init__(self) -> None:
        self.progress.stats = self.stats  # a live display reads the statistics so far

    async def run(self, receive: trio.MemoryReceiveChannel[InvocationResponse]) -> None:
        """Handle every record until all senders have closed."""
        with self.scope:
            async with receive:
                async for response in receive:
                    response.id = response.id or uuid.uuid4().hex
                    self._count_tokens(response)
                    if self.settle is not None:
                        self.settle(response)
                    self.stats.add(response)
                    if self.keep:
                        self.responses.append(response)
                    self._track(response)
                    if self.callbacks_ok:  # before storing: what callbacks add is saved
                        try:
                            await self.hooks.call("after_invoke", response=response)
                        except Exception as exc:
                            self.callbacks_ok = False
                            self._fail(exc)
                    if self.sink is not None:
                        try:
                            await self.sink.write(response)
                        except Exception as exc:
                            self.sink = None  # stop writing; memory still counts each record
                            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        """Storage or a callback failed: stop the load; the error is raised at the end."""
        if self.failure is None:
            self.failure = exc
        self.stop_load()

    def _count_tokens(self, response: InvocationResponse) -> None:
        """Fill token counts the endpoint did not report, and say they were counted here."""
        if self.tokenizer is None or response.failed:
            return
        if response.num_tokens_input is None:
            response.num_tokens_input = count_tokens(self.tokenizer, response.input_prompt)
            if response.num_tokens_input is not None:
                response.num_tokens_input_source = TokenCountSource.TOKENIZER
        if response.num_tokens_output is None and response.truncated_chars is None:
            # (a cut text would be undercounted: then the count stays unknown)
            response.num_tokens_output = count_tokens(self.tokenizer, response.response_text)
            if response.num_tokens_output is not None:
                response.num_tokens_output_source = TokenCountSource.TOKENIZER
                response.derive_timings()

    def _track(self, response: InvocationResponse) -> None:
        progress = self.progress
        progress.finished += 1
        if response.failed:
            progress.failed += 1
        progress.output_tokens += response.num_tokens_output or 0
        assert response.send_time is not None
        self.first_send = min(self.first_send, response.send_time)
        self.last_send = max(self.last_send, response.send_time)
