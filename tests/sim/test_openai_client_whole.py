"""The official `openai` client reads the simulated server's non-streamed answers too.

`test_openai_client.py` covers the streams (chat, completions, responses) and the whole
Responses API answer; this covers the rest: whole chat and completions answers, and the
completions stream's usage chunk.
"""

from __future__ import annotations

import openai
import trio

from llmeter_trio.sim import SimConfig, simulated_server

CONFIG = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=6, reasoning_tokens=2)


def client(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=url, api_key="sim", max_retries=0)


async def test_chat_completion_whole() -> None:
    with trio.fail_after(20):
        async with simulated_server(CONFIG) as url, client(url) as oai:
            whole = await oai.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "one two three"}]
            )
            limited = await oai.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "one two three"}],
                max_completion_tokens=3,
            )
    assert whole.object == "chat.completion"
    assert whole.id.startswith("chatcmpl-")
    choice = whole.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "tok " * 4
    assert (choice.message.model_extra or {}).get("reasoning_content") == "think " * 2
    assert whole.usage is not None
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (3, 6)
    assert whole.usage.total_tokens == 9
    assert whole.usage.completion_tokens_details is not None
    assert whole.usage.completion_tokens_details.reasoning_tokens == 2

    assert limited.choices[0].finish_reason == "length"
    assert limited.usage is not None and limited.usage.completion_tokens == 3
    assert limited.choices[0].message.content == "tok "  # 2 of the 3 tokens are reasoning


async def test_completion_whole_and_streamed_usage() -> None:
    with trio.fail_after(20):
        async with simulated_server(CONFIG) as url, client(url) as oai:
            whole = await oai.completions.create(model="m", prompt="a b c d", max_tokens=4)
            stream = await oai.completions.create(
                model="m", prompt="a b", stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]
    assert whole.object == "text_completion"
    assert whole.choices[0].text == "tok " * 4  # no reasoning on /v1/completions
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage is not None
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (4, 4)

    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (2, 6, 8)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "tok " * 6
    assert chunks[-2].choices[0].finish_reason == "stop"
