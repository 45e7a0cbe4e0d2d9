"""The simulated server speaks Anthropic's Messages API, as the `anthropic` SDK reads it."""

from __future__ import annotations

import random
from typing import Any

import anthropic
import httpx
import pytest
import trio

from llmeter_trio.sim import Faults, SimApp, SimConfig, call_app, plan, simulated_server

from ._wire_support import sse_events

CONFIG = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=6, reasoning_tokens=2)
HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-sim"}


@pytest.fixture(autouse=True)
def _no_anthropic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def client(url: str) -> anthropic.AsyncAnthropic:
    origin = url.removesuffix("/v1")
    return anthropic.AsyncAnthropic(base_url=origin, api_key="sk-ant-sim", max_retries=0)


def ask(text: str = "one two three", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sim",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


class TestTheSdkReadsIt:
    async def test_stream_with_thinking(self) -> None:
        """Thinking then text deltas, usage and stop reason, as the SDK accumulates them."""
        with trio.fail_after(20):
            async with (
                simulated_server(CONFIG) as url,
                client(url) as sdk,
                sdk.messages.stream(**ask(**THINKING)) as stream,
            ):
                events = [event async for event in stream]
                final = await stream.get_final_message()
        kinds = [e.type for e in events if e.type not in ("text", "thinking", "signature")]
        assert kinds == [
            "message_start",
            "content_block_start",
            *["content_block_delta"] * 3,  # two thinking deltas, the signature
            "content_block_stop",
            "content_block_start",
            *["content_block_delta"] * 4,
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
        thinking, text = final.content
        assert thinking.type == "thinking" and thinking.thinking == "think " * 2
        assert text.type == "text" and text.text == "tok " * 4
        assert final.stop_reason == "end_turn"
        assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 6)
        assert events[0].message.usage.output_tokens == 1  # type: ignore[union-attr]

    async def test_stream_cut_by_max_tokens(self) -> None:
        """``max_tokens`` below the model's answer cuts it, and says so."""
        with trio.fail_after(20):
            async with simulated_server(CONFIG) as url, client(url) as sdk:
                stream = await sdk.messages.create(**ask(max_tokens=4), stream=True)
                events = [event async for event in stream]
        text = "".join(
            e.delta.text
            for e in events
            if e.type == "content_block_delta" and e.delta.type == "text_delta"
        )
        assert text == "tok " * 4  # no thinking asked for: every token is text
        delta = events[-2]
        assert delta.type == "message_delta"
        assert delta.delta.stop_reason == "max_tokens" and delta.usage.output_tokens == 4

    async def test_whole_message(self) -> None:
        with trio.fail_after(20):
            async with simulated_server(CONFIG) as url, client(url) as sdk:
                message = await sdk.messages.create(
                    **ask(system="be brief", **THINKING), metadata={"user_id": "u"}
                )
        assert [block.type for block in message.content] == ["thinking", "text"]
        assert message.content[1].text == "tok " * 4  # type: ignore[union-attr]
        assert message.stop_reason == "end_turn" and message.id.startswith("msg_")
        assert (message.usage.input_tokens, message.usage.output_tokens) == (5, 6)


class TestFaults:
    async def test_http_errors_are_the_sdk_s_own(self) -> None:
        """429, 529 and 500 come back as RateLimitError, OverloadedError, InternalServerError."""
        config = SimConfig(faults=Faults(retry_after=2.0))
        with trio.fail_after(20):
            async with simulated_server(config) as url, client(url) as sdk:
                for fault, error in [
                    ("429", anthropic.RateLimitError),
                    ("529", anthropic.OverloadedError),
                    ("500", anthropic.InternalServerError),
                ]:
                    with pytest.raises(error) as raised:
                        await sdk.messages.create(**ask(), extra_headers={"x-sim-fault": fault})
                    assert raised.value.body["type"] == "error"  # type: ignore[index]
                    if fault == "429":
                        assert raised.value.response.headers["retry-after"] == "2"
                        assert raised.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]

    async def test_error_mid_stream(self) -> None:
        """A fault mid-stream is an ``event: error`` after the chunks already sent."""
        config = SimConfig(output_tokens=6, faults=Faults(stream_error_after_chunks=2))
        received: list[str] = []
        with trio.fail_after(20):
            async with simulated_server(config) as url, client(url) as sdk:
                stream = await sdk.messages.create(
                    **ask(), stream=True, extra_headers={"x-sim-fault": "stream-529"}
                )
                with pytest.raises(anthropic.APIStatusError) as raised:
                    async for event in stream:
                        if event.type == "content_block_delta":
                            received.append(event.delta.text)  # type: ignore[union-attr]
        assert received == ["tok ", "tok "]
        assert raised.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


class TestRefusals:
    @pytest.mark.parametrize(
        ("drop", "status", "kind"),
        [
            ("anthropic-version", 400, "invalid_request_error"),
            ("x-api-key", 401, "authentication_error"),
        ],
    )
    async def test_required_headers(self, drop: str, status: int, kind: str) -> None:
        """Without ``anthropic-version`` or a key, the request is refused as Anthropic does."""
        headers = {k: v for k, v in HEADERS.items() if k != drop}
        exchange = await call_app(SimApp(CONFIG), "/v1/messages", ask(), headers)
        assert exchange.status == status
        assert exchange.json()["error"]["type"] == kind

    @pytest.mark.parametrize("missing", ["max_tokens", "model", "messages"])
    async def test_required_fields(self, missing: str) -> None:
        body = {k: v for k, v in ask().items() if k != missing}
        exchange = await call_app(SimApp(CONFIG), "/v1/messages", body, HEADERS)
        assert exchange.status == 400
        assert exchange.json() == {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": exchange.json()["error"]["message"],
            },
        }


class TestTimeline:
    async def test_events_follow_the_plan(self, autojump_clock: trio.testing.MockClock) -> None:
        """message_start goes out with the headers; each delta at its planned instant."""
        config = SimConfig(ttft_base=0.2, itl=0.05, output_tokens=4, reasoning_tokens=1)
        expected = plan(config, random.Random(0), input_tokens=3, token_cap=100)
        exchange = await call_app(
            SimApp(config), "/v1/messages", ask(**THINKING, stream=True), HEADERS
        )
        assert exchange.status == 200
        assert exchange.headers["content-type"].startswith("text/event-stream")
        first_at, first = exchange.parts[0]
        assert first_at == 0.0
        assert [name for name, _ in sse_events(first)] == [
            "message_start",
            "content_block_start",
            "ping",
        ]
        delta_times = [
            at
            for at, part in exchange.parts
            for name, data in sse_events(part)
            if name == "content_block_delta" and data["delta"]["type"] != "signature_delta"
        ]
        assert delta_times == pytest.approx([chunk.at for chunk in expected.chunks])
        assert delta_times[0] == pytest.approx(0.2)

    async def test_raw_wire_sequence(self) -> None:
        """Every event's ``event:`` name equals its ``type``; the stream ends with message_stop."""
        async with simulated_server(CONFIG) as url, httpx.AsyncClient() as http:
            origin = url.removesuffix("/v1")
            response = await http.post(
                origin + "/v1/messages", json=ask(stream=True), headers=HEADERS
            )
        events = sse_events(response.content)
        assert all(name == data["type"] for name, data in events)
        assert events[-1][0] == "message_stop"
        assert events[-2][1]["usage"] == {"output_tokens": 6}
