"""The official `openai` client reads the simulated server without complaint."""

from __future__ import annotations

import openai
import pytest
import trio

from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.sim._server import Engine

CONFIG = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=6, reasoning_tokens=2)


def client(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=url, api_key="sim", max_retries=0)


async def test_chat_completion_stream(engine: Engine) -> None:
    with trio.fail_after(20):
        async with simulated_server(CONFIG, engine=engine) as url, client(url) as oai:
            stream = await oai.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "one two three"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            chunks = [chunk async for chunk in stream]
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "tok " * 4
    assert chunks[0].choices[0].delta.role == "assistant"
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 6, 9)
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 2


async def test_completion_stream() -> None:
    with trio.fail_after(20):
        async with simulated_server(CONFIG) as url, client(url) as oai:
            stream = await oai.completions.create(
                model="m", prompt="a b", stream=True, max_tokens=3
            )
            chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].text for c in chunks) == "tok " * 3
    assert chunks[-1].choices[0].finish_reason == "length"


@pytest.mark.parametrize("style", ["summary", "text"])
async def test_responses_stream(style: str) -> None:
    config = SimConfig(
        ttft_base=0.01,
        itl=0.001,
        output_tokens=6,
        reasoning_tokens=2,
        responses_reasoning=style,  # type: ignore[arg-type]
    )
    with trio.fail_after(20):
        async with simulated_server(config) as url, client(url) as oai:
            stream = await oai.responses.create(model="m", input="hi there", stream=True)
            events = [event async for event in stream]
            async with oai.responses.stream(model="m", input="hi there") as helper:
                async for _ in helper:
                    pass
                final = await helper.get_final_response()
            whole = await oai.responses.create(model="m", input="hi there")
    assert events[-1].type == "response.completed"
    completed = events[-1].response  # type: ignore[union-attr]
    assert completed.output_text == "tok " * 4
    assert completed.usage is not None
    assert (completed.usage.input_tokens, completed.usage.output_tokens) == (2, 6)
    assert completed.usage.output_tokens_details.reasoning_tokens == 2
    assert final.output_text == "tok " * 4
    assert whole.output_text == "tok " * 4


async def test_errors_surface_as_openai_exceptions(engine: Engine) -> None:
    with trio.fail_after(20):
        async with simulated_server(CONFIG, engine=engine) as url, client(url) as oai:
            with pytest.raises(openai.RateLimitError):
                await oai.chat.completions.create(
                    model="m",
                    messages=[{"role": "user", "content": "x"}],
                    extra_headers={"x-sim-fault": "429"},
                )
            with pytest.raises(openai.InternalServerError):
                await oai.chat.completions.create(
                    model="m",
                    messages=[{"role": "user", "content": "x"}],
                    extra_headers={"x-sim-fault": "503"},
                )
