"""The live progress line."""

from __future__ import annotations

import io

import pytest
import trio
import trio.testing

from llmeter_trio import FakeEndpoint, LiveProgress, Runner
from llmeter_trio.live import format_progress, run_with_progress


class TestFormat:
    def test_count_bound_line(self) -> None:
        """Requests done of total, rates over elapsed time, errors, in flight."""
        progress = LiveProgress(
            started=60, finished=50, failed=1, output_tokens=1000, total_requests=100
        )
        line = format_progress(progress, 10.0)
        assert line == (
            "[##########----------]    50/100 req  5.0 req/s  100 tok/s  1 error"
            "  10 in flight  10.0 s"
        )

    def test_time_bound_bar_follows_time(self) -> None:
        """A time-bound run fills the bar with elapsed time."""
        line = format_progress(LiveProgress(run_duration=60.0), 15.0)
        assert line.startswith("[#####---------------]     0 req  0.0 req/s")


class TestRunWithProgress:
    async def test_lines_while_running_and_result_passes_through(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Off a terminal, a line every 5 s and a final one, sized by the run itself;
        the run's result is returned."""
        out = io.StringIO()
        progress = LiveProgress()
        endpoint = FakeEndpoint(time_to_first_token=1.0, inter_token_latency=0.0, output_tokens=2)

        async def run() -> int:
            result = await Runner(endpoint).run(
                payload={"prompt": "x"}, clients=1, n_requests=25, progress=progress
            )
            return result.total_requests

        assert await run_with_progress(run, progress, stream=out) == 25
        lines = out.getvalue().splitlines()
        assert [line.split()[-2] for line in lines[:4]] == ["5.0", "10.0", "15.0", "20.0"]
        assert all(line.startswith("[") for line in lines)  # plain lines, no escapes
        assert lines[-1].startswith("[####################]    25/25 req  1.0 req/s")

    async def test_errors_pass_through_unwrapped(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An exception from the run comes out as itself, not in an exception group."""

        async def boom() -> None:
            await trio.sleep(1)
            raise LookupError("inner")

        with pytest.raises(LookupError, match="inner"):
            await run_with_progress(boom, LiveProgress(), stream=io.StringIO())
