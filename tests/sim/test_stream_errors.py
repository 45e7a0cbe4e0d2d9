"""The mid-stream error fault and the token cap, on every API."""

from __future__ import annotations

import random
from collections import Counter

import openai
import pytest
import trio

from llmeter_trio.sim import Fault, Faults, SimApp, SimConfig, call_app, plan, simulated_server

from ._wire_support import sse_events


class TestTheFault:
    def test_parsed_from_the_header(self) -> None:
        assert Fault.parse("stream-429") == (Fault.STREAM_ERROR, 429)
        assert Fault.parse(" Stream-503") == (Fault.STREAM_ERROR, 503)
        assert Fault.parse("503") == (Fault.SERVER_ERROR, 503)
        for bad in ("stream-", "stream-404", "stream-drop"):
            with pytest.raises(ValueError, match="stream-429"):
                Fault.parse(bad)

    def test_drawn_at_its_rate(self) -> None:
        faults = Faults(throttle_rate=0.2, stream_error_rate=0.3, stream_error_codes=(429, 529))
        rng = random.Random(1)
        draws = [faults.draw(rng) for _ in range(10_000)]
        counts = Counter(fault for fault, _ in draws)
        assert counts[Fault.STREAM_ERROR] == pytest.approx(3000, abs=250)
        assert {code for f, code in draws if f is Fault.STREAM_ERROR} == {429, 529}

    def test_rates_still_add_up_to_at_most_one(self) -> None:
        with pytest.raises(ValueError, match="add up"):
            Faults(drop_rate=0.6, stream_error_rate=0.5)
        with pytest.raises(ValueError):
            Faults(stream_error_codes=(404,))

    def test_planned_where_asked(self) -> None:
        config = SimConfig(output_tokens=4, faults=Faults(stream_error_after_chunks=9))
        cut = plan(config, random.Random(0), input_tokens=0, fault=Fault.STREAM_ERROR)
        assert cut.drop_after == 3  # clamped inside the stream
        assert cut.duration == cut.chunks[3].at


class TestTokenCap:
    def test_a_cap_below_the_answer_cuts_it(self) -> None:
        config = SimConfig(output_tokens=10)
        capped = plan(config, random.Random(0), input_tokens=0, token_cap=4)
        assert (capped.output_tokens, capped.length_limited) == (4, True)

    @pytest.mark.parametrize("cap", [10, 50, None])
    def test_a_cap_at_or_above_the_answer_does_not(self, cap: int | None) -> None:
        config = SimConfig(output_tokens=10)
        whole = plan(config, random.Random(0), input_tokens=0, token_cap=cap)
        assert (whole.output_tokens, whole.length_limited) == (10, False)

    def test_openai_max_tokens_stays_exact(self) -> None:
        config = SimConfig(output_tokens=10)
        exact = plan(config, random.Random(0), input_tokens=0, max_tokens=30, token_cap=4)
        assert (exact.output_tokens, exact.length_limited) == (30, True)


class TestOpenAI:
    async def test_chat_stream_error_is_the_sdk_s_api_error(self) -> None:
        """An ``error`` chunk mid-stream, as OpenAI-compatible servers send one."""
        config = SimConfig(ttft_base=0.0, itl=0.001, output_tokens=5, faults=Faults())
        received = []
        with trio.fail_after(20):
            async with (
                simulated_server(config) as url,
                openai.AsyncOpenAI(base_url=url, api_key="sim", max_retries=0) as sdk,
            ):
                stream = await sdk.chat.completions.create(
                    model="m",
                    messages=[{"role": "user", "content": "x"}],
                    stream=True,
                    extra_headers={"x-sim-fault": "stream-500"},
                )
                with pytest.raises(openai.APIError, match="server had an error"):
                    async for chunk in stream:
                        received.append(chunk.choices[0].delta.content)
        assert received == ["", "tok "]  # the role chunk, then one token

    async def test_responses_stream_error_event(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        config = SimConfig(output_tokens=3, faults=Faults(stream_error_after_chunks=1))
        exchange = await call_app(
            SimApp(config),
            "/v1/responses",
            {"input": "x", "stream": True},
            {"x-sim-fault": "stream-429"},
        )
        name, data = sse_events(exchange.body)[-1]
        assert name == "error" and data["type"] == "error"
        assert data["code"] == "rate_limit_exceeded"

    async def test_whole_answer_fails_when_the_error_is_due(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Without a stream, the error status comes when the cut chunk was due."""
        config = SimConfig(ttft_base=0.5, itl=0.1, output_tokens=5)
        exchange = await call_app(
            SimApp(config),
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "x"}]},
            {"x-sim-fault": "stream-503"},
        )
        assert exchange.status == 503
        assert exchange.parts[0][0] == pytest.approx(0.5 + 0.1)  # chunk 1 was due then
