"""The simulator's prefix cache: which tokens it finds, what they cost, how every API reports
them (read raw in virtual time, and by the official clients), its flags and its counters."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import anthropic
import openai
import pytest
import trio

from llmeter_trio.sim import SimApp, SimConfig, call_app, signed_headers, simulated_server
from llmeter_trio.sim._cli import build_parser, config_from_args, parse_args
from llmeter_trio.sim._prefix_cache import PrefixCache

from ._support import data_events, typed_events
from ._wire_support import messages, sse_events, with_client

BLOCK = 4
SYSTEM = "s1 s2 s3 s4 s5 s6 s7 s8 s9"  # two whole blocks, and one word more
CONFIG = SimConfig(
    ttft_base=0.1,
    ttft_per_input_token=0.01,
    itl=0.001,
    output_tokens=3,
    prefix_cache=True,
    prefix_cache_block=BLOCK,
)
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-sim"}


def words(n: int, stem: str = "w") -> list[str]:
    return [f"{stem}{i}" for i in range(n)]


class TestPrefixCache:
    def test_whole_leading_blocks_seen_before_are_cached(self) -> None:
        cache = PrefixCache(block=4, capacity=100)
        assert cache.admit([" ".join(words(10))]) == 0  # first time: a miss
        assert cache.admit([" ".join(words(10))]) == 8  # the partial last block never counts
        assert cache.admit([" ".join(words(9)), "other"]) == 8
        assert cache.admit([" ".join(words(5))]) == 4
        assert (cache.queried_tokens, cache.hit_tokens) == (10 + 10 + 10 + 5, 20)

    def test_texts_are_read_as_one_sequence_of_words(self) -> None:
        """Where one message ends and the next begins does not matter, only the words."""
        cache = PrefixCache(block=3, capacity=100)
        cache.admit(["a b", "c d e f"])
        assert cache.admit(["a b c", "d  e\nf g"]) == 6

    def test_a_block_hits_only_after_matching_blocks(self) -> None:
        cache = PrefixCache(block=2, capacity=100)
        cache.admit(["x y a b"])
        assert cache.admit(["z z a b"]) == 0  # same second block, different first one
        assert cache.admit(["x y q q"]) == 2

    def test_least_recently_used_blocks_are_forgotten(self) -> None:
        cache = PrefixCache(block=1, capacity=3)
        cache.admit(["a b"])
        cache.admit(["c"])  # holds a, a>b, c
        cache.admit(["a"])  # a is now the most recently used
        cache.admit(["d"])  # forgets a>b
        assert len(cache) == 3
        assert cache.admit(["a b"]) == 1
        assert cache.admit(["c"]) == 0  # forgotten when a>b came back

    def test_bad_sizes_are_refused(self) -> None:
        with pytest.raises(ValueError):
            PrefixCache(block=0, capacity=1)


class TestModel:
    def test_ttft_charges_cached_tokens_their_share(self) -> None:
        config = SimConfig(ttft_base=0.1, ttft_per_input_token=0.01, cached_prefill_share=0.25)
        assert config.ttft(100) == pytest.approx(1.1)
        assert config.ttft(100, cached_tokens=80) == pytest.approx(0.1 + 0.2 + 0.2)
        free = SimConfig(ttft_base=0.1, ttft_per_input_token=0.01)
        assert free.ttft(100, 100) == pytest.approx(0.1)

    @pytest.mark.parametrize(
        "options",
        [{"prefix_cache_block": 0}, {"prefix_cache_blocks": 0}, {"cached_prefill_share": 1.5}],
    )
    def test_bad_options_are_refused(self, options: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            SimConfig(**options)

    def test_flags_and_config_keys(self, tmp_path: Any) -> None:
        args = build_parser().parse_args(
            ["--prefix-cache", "--prefix-cache-block", "8", "--prefix-cache-blocks", "50",
             "--cached-prefill-share", "0.1"]
        )  # fmt: skip
        config = config_from_args(args)
        assert (config.prefix_cache, config.prefix_cache_block) == (True, 8)
        assert (config.prefix_cache_blocks, config.cached_prefill_share) == (50, 0.1)
        assert not config_from_args(build_parser().parse_args([])).prefix_cache
        toml = tmp_path / "sim.toml"
        toml.write_text("prefix-cache = true\nprefix_cache_block = 32\n")
        config = config_from_args(parse_args(["--config", str(toml)]))
        assert (config.prefix_cache, config.prefix_cache_block) == (True, 32)


# --- each API's usage: (path, body for a user text, headers, read(exchange) -> (input, cached))

Reader = Callable[[Any], tuple[int, int]]


def _chat(stream: bool) -> Callable[[str], dict[str, Any]]:
    def body(text: str) -> dict[str, Any]:
        extra = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
        chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
        return {"model": "m", "messages": chat, **extra}

    return body


def _openai_usage(usage: dict[str, Any]) -> tuple[int, int]:
    return usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"]


def _responses_usage(usage: dict[str, Any]) -> tuple[int, int]:
    return usage["input_tokens"], usage["input_tokens_details"]["cached_tokens"]


def _anthropic_usage(usage: dict[str, Any]) -> tuple[int, int]:
    """Anthropic's ``input_tokens`` are the uncached ones: the prompt is their sum."""
    return usage["input_tokens"] + usage["cache_read_input_tokens"], usage[
        "cache_read_input_tokens"
    ]


def _converse_usage(usage: dict[str, Any]) -> tuple[int, int]:
    assert usage["totalTokens"] == usage["inputTokens"] + usage["cacheReadInputTokens"] + 3
    return usage["inputTokens"] + usage["cacheReadInputTokens"], usage["cacheReadInputTokens"]


def _chunks(exchange: Any) -> list[dict[str, Any]]:
    return [
        json.loads(base64.b64decode(json.loads(m.payload)["bytes"])) for _, m in messages(exchange)
    ]


def _invoke_stream(exchange: Any) -> tuple[int, int]:
    events = _chunks(exchange)
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    start = _anthropic_usage(events[0]["message"]["usage"])
    total = metrics["inputTokenCount"] + metrics["cacheReadInputTokenCount"]
    assert (total, metrics["cacheReadInputTokenCount"]) == start
    return start


def _invoke_whole(exchange: Any) -> tuple[int, int]:
    headers = exchange.headers
    cached = int(headers["x-amzn-bedrock-cache-read-input-token-count"])
    from_headers = int(headers["x-amzn-bedrock-input-token-count"]) + cached
    assert (from_headers, cached) == _anthropic_usage(exchange.json()["usage"])
    return from_headers, cached


def _claude(stream: bool) -> Callable[[str], dict[str, Any]]:
    def body(text: str) -> dict[str, Any]:
        extra = {"stream": True} if stream else {}
        return {
            "model": "claude-sim",
            "max_tokens": 100,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": text}],
            **extra,
        }

    return body


def _bedrock_claude(text: str) -> dict[str, Any]:
    body = _claude(False)(text)
    del body["model"]
    return {**body, "anthropic_version": "bedrock-2023-05-31"}


def _converse(text: str) -> dict[str, Any]:
    return {
        "system": [{"text": SYSTEM}],
        "messages": [{"role": "user", "content": [{"text": text}]}],
    }


APIS: dict[str, tuple[str, Callable[[str], dict[str, Any]], dict[str, str], Reader]] = {
    "chat": ("/v1/chat/completions", _chat(False), {}, lambda e: _openai_usage(e.json()["usage"])),
    "chat-stream": (
        "/v1/chat/completions",
        _chat(True),
        {},
        lambda e: _openai_usage(data_events(e.body)[-2]["usage"]),
    ),
    "completions": (
        "/v1/completions",
        lambda text: {"model": "m", "prompt": f"{SYSTEM} {text}"},
        {},
        lambda e: _openai_usage(e.json()["usage"]),
    ),
    "completions-stream": (
        "/v1/completions",
        lambda text: {
            "model": "m",
            "prompt": f"{SYSTEM} {text}",
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        {},
        lambda e: _openai_usage(data_events(e.body)[-2]["usage"]),
    ),
    "responses": (
        "/v1/responses",
        lambda text: {"model": "m", "instructions": SYSTEM, "input": text},
        {},
        lambda e: _responses_usage(e.json()["usage"]),
    ),
    "responses-stream": (
        "/v1/responses",
        lambda text: {"model": "m", "instructions": SYSTEM, "input": text, "stream": True},
        {},
        lambda e: _responses_usage(typed_events(e.body)[-1]["response"]["usage"]),
    ),
    "anthropic": (
        "/v1/messages",
        _claude(False),
        ANTHROPIC_HEADERS,
        lambda e: _anthropic_usage(e.json()["usage"]),
    ),
    "anthropic-stream": (
        "/v1/messages",
        _claude(True),
        ANTHROPIC_HEADERS,
        lambda e: _anthropic_usage(sse_events(e.body)[0][1]["message"]["usage"]),
    ),
    "converse": (
        "/model/m/converse",
        _converse,
        signed_headers("bedrock"),
        lambda e: _converse_usage(e.json()["usage"]),
    ),
    "converse-stream": (
        "/model/m/converse-stream",
        _converse,
        signed_headers("bedrock"),
        lambda e: _converse_usage(json.loads(messages(e)[-1][1].payload)["usage"]),
    ),
    "invoke": (
        f"/model/{CLAUDE}/invoke",
        _bedrock_claude,
        signed_headers("bedrock"),
        _invoke_whole,
    ),
    "invoke-stream": (
        f"/model/{CLAUDE}/invoke-with-response-stream",
        _bedrock_claude,
        signed_headers("bedrock"),
        _invoke_stream,
    ),
    "sagemaker-chat": (
        "/endpoints/e/invocations",
        _chat(False),
        signed_headers("sagemaker"),
        lambda e: _openai_usage(e.json()["usage"]),
    ),
}


@pytest.mark.parametrize("api", sorted(APIS))
async def test_every_api_reports_the_cached_tokens(
    api: str, autojump_clock: trio.testing.MockClock
) -> None:
    """A first request misses (0 cached), a second with the same system prompt finds its
    whole blocks; the answer starts exactly as much sooner as the model says."""
    path, body, headers, read = APIS[api]
    app = SimApp(CONFIG)
    first = await call_app(app, path, body("u1 u2 u3"), headers)
    second = await call_app(app, path, body("v1 v2"), headers)
    assert (first.status, second.status) == (200, 200)
    assert read(first) == (12, 0)
    assert read(second) == (11, 8)
    assert app.prefix_cache is not None and app.prefix_cache.hit_tokens == 8


async def test_without_a_cache_answers_report_no_cached_tokens(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = SimApp(SimConfig(itl=0.0))
    chat = await call_app(app, "/v1/chat/completions", _chat(False)("a b"))
    assert chat.json()["usage"]["prompt_tokens_details"] is None
    responses = await call_app(app, "/v1/responses", {"model": "m", "input": "a b"})
    assert responses.json()["usage"]["input_tokens_details"] == {"cached_tokens": 0}  # schema
    claude = await call_app(app, "/v1/messages", _claude(False)("a b"), ANTHROPIC_HEADERS)
    usage = claude.json()["usage"]  # Anthropic's API always reports its cache, 0 here
    assert (usage["input_tokens"], usage["cache_read_input_tokens"]) == (11, 0)
    converse = await call_app(app, "/model/m/converse", _converse("a b"), signed_headers("bedrock"))
    assert converse.json()["usage"] == {"inputTokens": 11, "outputTokens": 16, "totalTokens": 27}
    assert app.prefix_cache is None and b"prefix_cache" not in app.metrics.page()


async def test_a_hit_starts_sooner_by_the_model_s_share(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = SimConfig(
        ttft_base=0.1,
        ttft_per_input_token=0.01,
        itl=0.001,
        output_tokens=2,
        prefix_cache=True,
        prefix_cache_block=BLOCK,
        cached_prefill_share=0.5,
    )
    app = SimApp(config)
    times = []
    for text in ("u1", "v1"):
        exchange = await call_app(app, "/v1/chat/completions", _chat(True)(text))
        times.append(next(at for at, part in exchange.parts if b'"content":"tok' in part))
    assert times == pytest.approx([config.ttft(10), config.ttft(10, 8)])
    assert times[1] == pytest.approx(0.1 + 0.01 * 2 + 0.01 * 0.5 * 8)


async def test_metrics_count_queried_and_hit_tokens(autojump_clock: trio.testing.MockClock) -> None:
    app = SimApp(CONFIG)
    for text in ("u1", "v1 v2"):
        await call_app(app, "/v1/chat/completions", _chat(False)(text))
    page = app.metrics.page().decode()
    assert "vllm:prefix_cache_queries_total 21.0" in page
    assert "vllm:prefix_cache_hits_total 8.0" in page
    assert "# TYPE vllm:prefix_cache_hits counter" in page


# --- the official clients parse the fields


async def test_openai_client_reads_cached_tokens() -> None:
    with trio.fail_after(20):
        async with (
            simulated_server(CONFIG) as url,
            openai.AsyncOpenAI(base_url=url, api_key="sim", max_retries=0) as oai,
        ):
            usages = []
            for text in ("u1 u2", "v1"):
                stream = await oai.chat.completions.create(
                    model="m",
                    messages=[
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": text},
                    ],
                    stream=True,
                    stream_options={"include_usage": True},
                )
                usages.append([c async for c in stream][-1].usage)
            response = await oai.responses.create(model="m", instructions=SYSTEM, input="x")
    details = [u.prompt_tokens_details for u in usages if u is not None]
    assert [d.cached_tokens for d in details if d is not None] == [0, 8]
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == 8


async def test_anthropic_client_reads_cache_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with trio.fail_after(20):
        async with simulated_server(CONFIG) as url:
            origin = url.removesuffix("/v1")
            sdk = anthropic.AsyncAnthropic(base_url=origin, api_key="sk-ant-sim", max_retries=0)
            async with sdk:
                whole = await sdk.messages.create(**_claude(False)("u1 u2"))
                async with sdk.messages.stream(**_claude(False)("v1")) as stream:
                    final = await stream.get_final_message()
    assert (whole.usage.input_tokens, whole.usage.cache_read_input_tokens) == (11, 0)
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens) == (2, 8)


@pytest.mark.realtime
@pytest.mark.usefixtures("no_aws_settings")
async def test_boto3_reads_cache_reads() -> None:
    def run(client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        first = client.converse(modelId=CLAUDE, **_converse("u1 u2"))
        stream = client.converse_stream(modelId=CLAUDE, **_converse("v1"))
        metadata = [e for e in stream["stream"] if "metadata" in e]
        return first["usage"], metadata[0]["metadata"]["usage"]

    whole, streamed = await with_client("bedrock-runtime", run, CONFIG)
    assert whole["cacheReadInputTokens"] == 0 and whole["inputTokens"] == 11
    assert (streamed["cacheReadInputTokens"], streamed["inputTokens"]) == (8, 2)
