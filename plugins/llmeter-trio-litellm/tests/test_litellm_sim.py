"""End to end on the real clock: LiteLLM's ``openai/`` provider against the simulated server.

The server runs on 127.0.0.1 inside the test's trio run, on the same clock as
the records, and notes when each request reaches it (`sim_with_arrivals`).
So a record's time to first token splits into two measured parts: LiteLLM's
lead (from the hand-over to LiteLLM to the request reaching the server: the
worker thread starting, LiteLLM building and sending the request) and the
delivery (from the server's planned send to the chunk coming out of LiteLLM
in the worker thread). The plan is ground truth:

- Nothing is early: every chunk comes out after the server's planned instant,
  counted from the request's arrival, exactly (``>=``).
- The delivery's median is at most `LATE` late, plus the worst event-loop lag
  measured meanwhile (`LagProbe`: a busy machine, or the worker threads
  holding the GIL, holds up the server and the probe alike). `LATE` is the
  ground-truth tolerance of the built-in endpoints (tests/test_ground_truth.py).
- Token counts are exact: they are the server's usage report, through LiteLLM.

Needs the real clock (LiteLLM's HTTP client blocks in a worker thread), so
every test is marked ``realtime``; each is bounded by `TIME_LIMIT` seconds.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import litellm_fakes  # noqa: F401  (litellm imported the plugin's way, offline)
import pytest
import trio
from litellm_sim import INPUT_WORDS, PROMPT, LagProbe, sim_with_arrivals, truth
from llmeter_trio_litellm import LiteLLM, LiteLLMEndpoint, LiteLLMStreaming

from llmeter_trio import InvocationResponse, Result, Runner
from llmeter_trio.endpoints import ChunkKind, ErrorClass, TokenCountSource
from llmeter_trio.sim import Faults, SimConfig, simulated_server

pytestmark = pytest.mark.realtime

LATE = 0.015  # seconds a median may be late, plus the worst event-loop lag measured
TIME_LIMIT = 30.0  # seconds any one test may take
KEY = "sk-litellm-test-0123456789abcdef"


def median(values: list[float]) -> float:
    return statistics.median(values)


async def measure(
    endpoint: LiteLLMEndpoint, config: SimConfig, payload: dict[str, object], count: int
) -> tuple[list[InvocationResponse], list[float], float]:
    """`count` requests one after another, after one that lets LiteLLM set up its client
    for this server; returns their records, their arrival times and the worst loop lag."""
    probe = LagProbe()
    async with sim_with_arrivals(config) as sim, trio.open_nursery() as nursery:
        nursery.start_soon(probe.run)
        endpoint.api_base = sim.base_url
        async with endpoint.open_session(1):
            await endpoint.invoke(payload)
            probe.worst = 0.0  # what LiteLLM's first request set up is not measured
            records = [await endpoint.invoke(payload) for _ in range(count)]
        nursery.cancel_scope.cancel()
    return records, sim.arrivals[1:], probe.worst


async def test_streamed_timings_and_counts_match_the_server() -> None:
    """Reasoning then content, 20 ms apart: nothing early, the medians within `LATE` plus
    the measured lag, the counts exact, one record chunk per server chunk."""
    config = SimConfig(ttft_base=0.1, itl=0.02, output_tokens=8, reasoning_tokens=2)
    timeline = truth(config)
    first_at, last_at = timeline.chunks[0].at, timeline.chunks[-1].at
    endpoint = LiteLLMEndpoint(model="openai/sim-model", api_key=KEY)
    payload = endpoint.create_payload(PROMPT, None)
    with trio.fail_after(TIME_LIMIT):
        records, arrivals, lag = await measure(endpoint, config, payload, count=6)

    leads, first_late, last_late = [], [], []
    for record, arrival in zip(records, arrivals, strict=True):
        assert not record.failed, record.error
        assert (record.num_tokens_input, record.num_tokens_output) == (INPUT_WORDS, 8)
        assert record.num_tokens_output_reasoning == 2
        assert record.num_tokens_output_source is TokenCountSource.SERVER
        assert [c.kind for c in record.chunks] == [ChunkKind.REASONING] * 2 + [
            ChunkKind.CONTENT
        ] * 6
        assert record.response_text == "tok " * 6
        assert record.send_time is not None and record.time_to_first_token is not None
        assert record.time_to_last_token is not None
        lead = arrival - record.send_time
        assert lead >= 0
        leads.append(lead)
        first_late.append(record.time_to_first_token - lead - first_at)
        last_late.append(record.time_to_last_token - lead - last_at)
    assert min(first_late) >= -1e-9, first_late
    assert min(last_late) >= -1e-9, last_late
    allowed = LATE + lag
    print(
        f"\nLiteLLM lead (hand-over to request at the server) p50 {median(leads) * 1e3:.1f} ms; "
        f"late: first token p50 {median(first_late) * 1e3:.1f} ms, "
        f"last token p50 {median(last_late) * 1e3:.1f} ms; worst loop lag {lag * 1e3:.1f} ms"
    )
    assert median(first_late) < allowed, (first_late, lag)
    assert median(last_late) < allowed, (last_late, lag)
    ttft_p50 = median([r.time_to_first_token or 0.0 for r in records])
    assert ttft_p50 - first_at < allowed + median(leads)


async def test_whole_answers_match_the_server() -> None:
    """LLMeter's `LiteLLM` (no streaming): the answer ends after the server's last token;
    the counts are exact."""
    config = SimConfig(ttft_base=0.05, itl=0.02, output_tokens=5)
    last_at = truth(config).chunks[-1].at
    endpoint = LiteLLM("openai/sim-model", api_key=KEY)
    payload = endpoint.create_payload(PROMPT, None)
    with trio.fail_after(TIME_LIMIT):
        records, arrivals, lag = await measure(endpoint, config, payload, count=3)
    late = []
    for record, arrival in zip(records, arrivals, strict=True):
        assert not record.failed, record.error
        assert record.chunks == []
        assert (record.num_tokens_input, record.num_tokens_output) == (INPUT_WORDS, 5)
        assert record.response_text == "tok " * 5
        assert record.send_time is not None and record.time_to_last_token is not None
        late.append(record.time_to_last_token - (arrival - record.send_time) - last_at)
    assert min(late) >= -1e-9, late
    assert median(late) < LATE + lag, (late, lag)


@pytest.mark.usefixtures("installed_plugin")
async def test_a_run_saves_and_loads_back_without_the_key(tmp_path: Path) -> None:
    """A `Runner` run through LLMeter's `LiteLLMStreaming`: every record complete with the
    server's counts; the saved run reloads as a "litellm" endpoint with the same options,
    and the key is in no file."""
    config = SimConfig(ttft_base=0.03, itl=0.01, output_tokens=4)
    with trio.fail_after(TIME_LIMIT):
        async with simulated_server(config) as base_url:
            endpoint = LiteLLMStreaming("openai/sim-model", api_base=base_url, api_key=KEY)
            result = await Runner(endpoint, output_path=str(tmp_path)).run(
                payload=[endpoint.create_payload(PROMPT, None)],
                clients=2,
                n_requests=3,
                run_name="litellm",
            )
    assert result.stats["failed_requests"] == 0, result.stats["errors_by_class"]
    assert result.stats["total_output_tokens"] == 6 * 4
    assert result.stats["total_input_tokens"] == 6 * INPUT_WORDS
    for record in result.responses:
        assert len(record.chunks) == 4
        assert record.time_to_first_token is not None and record.time_to_first_token >= 0.03

    files = [f for f in (tmp_path / "litellm").rglob("*") if f.is_file()]
    assert files
    for file in files:
        assert KEY.encode() not in file.read_bytes(), file
    loaded = Result.load(str(tmp_path / "litellm"))
    assert loaded.run_config is not None
    reloaded = loaded.run_config.endpoint()
    assert type(reloaded) is LiteLLMEndpoint
    assert reloaded.api_key is None
    assert reloaded.to_config() == endpoint.to_config()
    assert reloaded.stream is True
    assert loaded.stats["total_output_tokens"] == 6 * 4


@pytest.mark.parametrize(
    ("fault", "error_class", "status"),
    [
        ("429", ErrorClass.THROTTLED, 429),
        ("500", ErrorClass.SERVER, 500),
        ("503", ErrorClass.SERVER, 503),
        ("drop", ErrorClass.CONNECTION, None),
        ("stream-429", ErrorClass.THROTTLED, 429),
        ("stream-500", ErrorClass.SERVER, 500),
    ],
)
async def test_faults_are_classified(
    fault: str, error_class: ErrorClass, status: int | None
) -> None:
    """The server's 429, 5xx, dropped connections and error events mid-stream, through
    LiteLLM, land in the right class, each once (LiteLLM does not retry them)."""
    config = SimConfig(ttft_base=0.02, itl=0.01, output_tokens=4)
    with trio.fail_after(TIME_LIMIT):
        async with simulated_server(config) as base_url:
            endpoint = LiteLLMEndpoint(
                model="openai/sim-model",
                api_base=base_url,
                api_key=KEY,
                extra_headers={"x-sim-fault": fault},
            )
            result = await Runner(endpoint).run(
                payload=[endpoint.create_payload(PROMPT, None)], clients=1, n_requests=2
            )
    assert result.stats["errors_by_class"] == {error_class.value: 2}
    for record in result.responses:
        assert record.error_class is error_class
        assert record.status_code == status
        assert record.error and KEY not in record.error
        if fault in ("drop", "stream-429", "stream-500"):
            assert len(record.chunks) == 1  # the chunk that came before the break is kept


async def run_stalled(**run_options: Any) -> tuple[Result, float]:
    """One client against a server whose streams stall for 30 s after their first chunk:
    the run's result and how long it took."""
    config = SimConfig(
        ttft_base=0.02,
        itl=0.01,
        output_tokens=4,
        faults=Faults(stall_duration=30.0, stall_after_chunks=1),
    )
    with trio.fail_after(TIME_LIMIT):
        async with simulated_server(config) as base_url:
            endpoint = LiteLLMEndpoint(
                model="openai/sim-model",
                api_base=base_url,
                api_key=KEY,
                extra_headers={"x-sim-fault": "stall"},
            )
            start = trio.current_time()
            result = await Runner(endpoint).run(
                payload=[endpoint.create_payload(PROMPT, None)], clients=1, **run_options
            )
            return result, trio.current_time() - start


async def test_the_run_timeout_cuts_a_stalled_stream() -> None:
    """A stream stalled for 30 s is cut at the run's 0.4 s request timeout: the requests are
    timeouts with the chunk they had, and the run takes 2 * 0.4 s, not a minute, though
    each worker thread is still blocked in its read."""
    result, elapsed = await run_stalled(n_requests=2, timeout=0.4)
    assert result.stats["errors_by_class"] == {"timeout": 2}
    for record in result.responses:
        assert [c.kind for c in record.chunks] == [ChunkKind.CONTENT]
    assert 0.8 <= elapsed < 0.8 + 2.0, elapsed


async def test_the_end_of_a_timed_run_cancels_a_stalled_stream() -> None:
    """A run of 0.3 s with 0.2 s of grace, its one request stalled for 30 s: the run ends at
    its deadline (as on Ctrl-C, in-flight requests are cancelled), not when the thread's
    read returns; the request is recorded as cancelled with the chunk it had."""
    result, elapsed = await run_stalled(run_duration=0.3, drain_timeout=0.2)
    assert result.stats["errors_by_class"] == {"cancelled": 1}
    [record] = result.responses
    assert [c.kind for c in record.chunks] == [ChunkKind.CONTENT]
    assert 0.5 <= elapsed < 0.5 + 2.0, elapsed
