"""Prefix caching, end to end: requests sharing a document prefix against the simulator's
prefix cache, in virtual time. The first request misses, the later ones hit; each hit starts
exactly as much sooner as the server's model says (`SimConfig.ttft`), every endpoint records
the cached tokens, and the run's summary reports TTFT of hits and misses apart, the same when
the run is reloaded or its records are merged from several workers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import InvocationResponse, Result, Runner
from llmeter_trio.cli._summary import format_summary
from llmeter_trio.endpoints import (
    AnthropicMessagesEndpoint,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
)
from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.stats import RunStats

BLOCK = 16
DOCUMENT = " ".join(f"doc{i}" for i in range(4 * BLOCK))  # four whole blocks, shared
SUFFIX_WORDS = 7
INPUT = 4 * BLOCK + SUFFIX_WORDS
N = 5  # requests, each with its own question after the shared document
CONFIG = SimConfig(
    ttft_base=0.05,
    ttft_per_input_token=0.002,
    itl=0.01,
    output_tokens=4,
    prefix_cache=True,
    prefix_cache_block=BLOCK,
    cached_prefill_share=0.2,
)
MISS = CONFIG.ttft(INPUT)
HIT = CONFIG.ttft(INPUT, 4 * BLOCK)
ENDPOINTS = [
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    AnthropicMessagesEndpoint,
]
CACHE_KEYS = (
    "cache_hit_requests",
    "cache_miss_requests",
    "cache_hit_rate",
    "input_tokens_cached_share",
    "time_to_first_token_cache_hit-p50",
    "time_to_first_token_cache_hit-p90",
    "time_to_first_token_cache_hit-p99",
    "time_to_first_token_cache_hit-average",
    "time_to_first_token_cache_miss-p50",
    "time_to_first_token_cache_miss-average",
)


def question(i: int) -> str:
    return " ".join(f"q{i}w{j}" for j in range(SUFFIX_WORDS))


def payloads(cls: type[Any]) -> list[dict[str, Any]]:
    """N payloads in `cls`'s own format: the document as the system prompt (completions: at
    the start of the prompt), then a question of its own."""
    out = []
    for i in range(N):
        if cls is OpenAIChatEndpoint:
            out.append(cls.create_payload(question(i), None, system_prompt=DOCUMENT))
        elif cls is OpenAIResponsesEndpoint:
            out.append(cls.create_payload(question(i), None, instructions=DOCUMENT))
        elif cls is AnthropicMessagesEndpoint:
            out.append(cls.create_payload(question(i), 4096, system=DOCUMENT))
        else:
            out.append(cls.create_payload(f"{DOCUMENT} {question(i)}", None))
    return out


async def run(cls: type[Any], output_path: str | None = None, config: SimConfig = CONFIG) -> Result:
    async with simulated_server(config) as base_url:
        if cls is AnthropicMessagesEndpoint:
            endpoint = cls(
                base_url=base_url.removesuffix("/v1"), model_id=config.model, api_key="sk-ant-t"
            )
        else:
            endpoint = cls(base_url=base_url, model_id=config.model)
        runner = Runner(endpoint, output_path=output_path)
        return await runner.run(
            payload=payloads(cls), clients=1, n_requests=N, seed=1, run_name="cache"
        )


def in_order(result: Result) -> list[InvocationResponse]:
    return sorted(result.responses, key=lambda r: r.send_time or 0.0)


@pytest.mark.parametrize("cls", ENDPOINTS, ids=lambda c: c.__name__)
async def test_hits_start_sooner_by_the_configured_share(
    cls: type[Any], autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(30):
        result = await run(cls)
    records = in_order(result)
    assert [r.error for r in records] == [None] * N
    assert [r.num_tokens_input for r in records] == [INPUT] * N
    assert [r.num_tokens_input_cached for r in records] == [0] + [4 * BLOCK] * (N - 1)
    ttfts = [r.time_to_first_token for r in records]
    assert ttfts == pytest.approx([MISS] + [HIT] * (N - 1), abs=1e-9)
    # what the share means: a cached token costs 20% of an uncached one's prefill
    assert ttfts[0] - ttfts[1] == pytest.approx(0.002 * (1 - 0.2) * 4 * BLOCK)

    stats = result.stats
    assert (stats["cache_hit_requests"], stats["cache_miss_requests"]) == (N - 1, 1)
    assert stats["cache_hit_rate"] == pytest.approx((N - 1) / N)
    assert stats["input_tokens_cached_share"] == pytest.approx((N - 1) * 4 * BLOCK / (N * INPUT))
    for aggregation in ("p50", "p90", "p99", "average", "min", "max"):
        assert stats[f"time_to_first_token_cache_hit-{aggregation}"] == pytest.approx(HIT)
        assert stats[f"time_to_first_token_cache_miss-{aggregation}"] == pytest.approx(MISS)


async def test_the_summary_is_the_same_reloaded_and_merged(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(30):
        result = await run(OpenAIChatEndpoint, str(tmp_path / "out"))
    live = {key: result.stats[key] for key in CACHE_KEYS}
    reloaded = Result.load(str(tmp_path / "out" / "cache"))
    assert {key: reloaded.stats[key] for key in CACHE_KEYS} == live

    records = in_order(result)
    merged = RunStats.of(records[:2])
    merged.merge(RunStats.of(records[2:]))
    assert {key: merged.to_dict(1.0)[key] for key in CACHE_KEYS} == live

    text = format_summary(result)
    assert "  cache hits" in text and "  cache misses" in text
    assert f"prefix cache: {N - 1} hits, 1 misses (80.0% hit rate)" in text
    if importlib.util.find_spec("plotly") is not None:  # the HTML report of the saved run
        from llmeter_trio.report import read_content

        figures = read_content(tmp_path / "out" / "cache").figures
        assert "Time to first token: cache hits and misses" in figures


async def test_a_server_that_says_nothing_of_caching_gives_no_cache_numbers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The simulator without a prefix cache reports no cached-token count on Chat Completions:
    no record is a hit or a miss, and the summary has no cache lines."""
    config = SimConfig(ttft_base=0.05, itl=0.01, output_tokens=4)
    with trio.fail_after(30):
        result = await run(OpenAIChatEndpoint, config=config)
    assert {r.num_tokens_input_cached for r in result.responses} == {None}
    assert not any(key.startswith(("cache_", "time_to_first_token_cache")) for key in result.stats)
    assert "prefix cache" not in format_summary(result)


def test_hits_misses_and_neither() -> None:
    """Hits have cached tokens, misses a count of 0; a record without a count is neither, and
    failed requests are not counted."""
    records = [
        InvocationResponse("a", time_to_first_token=0.1, num_tokens_input=10,
                           num_tokens_input_cached=8),
        InvocationResponse("b", time_to_first_token=0.4, num_tokens_input=10,
                           num_tokens_input_cached=0),
        InvocationResponse("c", time_to_first_token=0.9, num_tokens_input=10),
        InvocationResponse.error_output("boom", num_tokens_input_cached=8),
    ]  # fmt: skip
    stats = RunStats.of(records).to_dict(1.0)
    assert (stats["cache_hit_requests"], stats["cache_miss_requests"]) == (1, 1)
    assert stats["cache_hit_rate"] == 0.5
    assert stats["input_tokens_cached_share"] == pytest.approx(8 / 20)
    assert stats["time_to_first_token_cache_hit-max"] == 0.1
    assert stats["time_to_first_token_cache_miss-min"] == 0.4
    assert "cache_hit_rate" not in RunStats.of(records[2:3]).to_dict(1.0)


def test_the_report_compares_hits_and_misses() -> None:
    pytest.importorskip("plotly")
    from llmeter_trio.plotting import run_figures
    from llmeter_trio.plotting.cache import cache_ttft_fig

    records = [
        InvocationResponse("a", time_to_first_token=t, num_tokens_input_cached=c)
        for t, c in ((0.3, 0), (0.1, 8), (0.12, 8))
    ]
    result = Result(responses=records)
    figure = cache_ttft_fig(result)
    assert [trace.name for trace in figure.data] == ["cache hits (2)", "cache misses (1)"]
    assert list(figure.data[0].x) == pytest.approx([100.0, 120.0])
    assert "Time to first token: cache hits and misses" in run_figures(result)
    no_hits = Result(responses=records[:1])
    assert "Time to first token: cache hits and misses" not in run_figures(no_hits)
    with pytest.raises(ValueError, match="no request of this run hit"):
        cache_ttft_fig(no_hits)
