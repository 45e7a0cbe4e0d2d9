"""Every route, streamed and whole, in the OpenAI wire formats, with exact usage."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import trio

from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.sim._server import Engine

from ._support import CHAT, COMPLETIONS, RESPONSES, chat_body, data_events, typed_events

FAST = SimConfig(ttft_base=0.0, itl=0.0, output_tokens=5)
REASONING = SimConfig(ttft_base=0.0, itl=0.0, output_tokens=6, reasoning_tokens=2)


async def post_raw(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post(path, json=body)


def chat_usage(prompt: int, completion: int, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": None,  # no prefix cache: no cached-token count
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


async def test_chat_stream_framing_and_usage(engine: Engine) -> None:
    with trio.fail_after(10):
        async with simulated_server(REASONING, engine=engine) as url:
            body = chat_body("one two three", stream=True, stream_options={"include_usage": True})
            response = await post_raw(url, CHAT, body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = data_events(response.content)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "m" for c in chunks)
    first, usage_chunk, finish = chunks[0], chunks[-1], chunks[-2]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    deltas = [c["choices"][0]["delta"] for c in chunks[1:-2]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "think think "
    assert "".join(d.get("content", "") for d in deltas) == "tok tok tok tok "
    assert all(len(d) == 1 for d in deltas)  # one kind per chunk
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-2]] == [None] * (len(chunks) - 2)
    assert finish["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    ]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == chat_usage(3, 6, 2)


async def test_chat_stream_without_usage_and_with_several_tokens_per_chunk() -> None:
    config = SimConfig(ttft_base=0.0, itl=0.0, tokens_per_chunk=3)
    with trio.fail_after(10):
        async with simulated_server(config) as url:
            response = await post_raw(url, CHAT, chat_body(stream=True, max_tokens=10))
    events = data_events(response.content)
    assert events[-1] == "[DONE]"
    assert all("usage" not in c for c in events[:-1])
    contents = [c["choices"][0]["delta"].get("content") for c in events[1:-2]]
    assert contents == ["tok tok tok "] * 3 + ["tok "]
    assert events[-2]["choices"][0]["finish_reason"] == "length"  # max_tokens reached


async def test_chat_whole_response() -> None:
    with trio.fail_after(10):
        async with simulated_server(REASONING) as url:
            body = chat_body("a b", max_tokens=4)
            body["messages"].insert(0, {"role": "system", "content": "x y z"})
            response = await post_raw(url, CHAT, body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "tok tok "
    assert choice["message"]["reasoning_content"] == "think think "
    assert choice["finish_reason"] == "length"
    assert data["usage"] == chat_usage(5, 4, 2)


async def test_completions_stream_and_whole() -> None:
    with trio.fail_after(10):
        async with simulated_server(REASONING) as url:
            body = {"model": "x", "prompt": "p q r s", "stream": True}
            body["stream_options"] = {"include_usage": True}
            streamed = await post_raw(url, COMPLETIONS, body)
            whole = await post_raw(url, COMPLETIONS, {"prompt": ["p q", "r"], "max_tokens": 3})
    events = data_events(streamed.content)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "text_completion" and c["model"] == "x" for c in chunks)
    texts = [c["choices"][0]["text"] for c in chunks[:-2]]
    assert texts == ["tok "] * 6  # no reasoning on the completions API
    assert chunks[-2]["choices"][0] == {
        "text": "",
        "index": 0,
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == chat_usage(4, 6)

    data = whole.json()
    assert data["object"] == "text_completion" and data["model"] == "sim-model"
    assert data["choices"][0]["text"] == "tok tok tok "
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["prompt_tokens"] == 3 and data["usage"]["completion_tokens"] == 3


def responses_usage(inp: int, out: int, reasoning: int) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


async def test_responses_stream_with_reasoning_summary() -> None:
    with trio.fail_after(10):
        async with simulated_server(REASONING) as url:
            body = {"model": "m", "input": "a b c", "stream": True, "max_output_tokens": 5}
            response = await post_raw(url, RESPONSES, body)
    assert response.status_code == 200
    assert b"[DONE]" not in response.content
    events = typed_events(response.content)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    types = [e["type"] for e in events]
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = events[0]["response"]
    assert created["status"] == "in_progress" and created["id"].startswith("resp_")
    reasoning_id = events[2]["item"]["id"]
    message_id = events[9]["item"]["id"]
    reasoning = [e for e in events if e["type"] == "response.reasoning_summary_text.delta"]
    assert all(e["item_id"] == reasoning_id and e["output_index"] == 0 for e in reasoning)
    assert "".join(e["delta"] for e in reasoning) == "think think "
    text = [e for e in events if e["type"] == "response.output_text.delta"]
    assert all(e["item_id"] == message_id and e["output_index"] == 1 for e in text)
    assert "".join(e["delta"] for e in text) == "tok tok tok "
    assert events[14]["text"] == "tok tok tok "
    completed = events[-1]["response"]
    assert completed["status"] == "completed" and completed["id"] == created["id"]
    assert completed["usage"] == responses_usage(3, 5, 2)
    assert [item["type"] for item in completed["output"]] == ["reasoning", "message"]
    assert completed["output"][1]["content"][0]["text"] == "tok tok tok "


async def test_responses_stream_with_reasoning_text() -> None:
    config = SimConfig(
        ttft_base=0.0, itl=0.0, output_tokens=3, reasoning_tokens=1, responses_reasoning="text"
    )
    with trio.fail_after(10):
        async with simulated_server(config) as url:
            response = await post_raw(url, RESPONSES, {"input": "x", "stream": True})
    events = typed_events(response.content)
    types = [e["type"] for e in events]
    assert types[2:6] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
    ]
    assert events[3]["part"] == {"type": "reasoning_text", "text": ""}
    assert events[4]["delta"] == "think "
    final = events[-1]["response"]["output"][0]
    assert final["content"] == [{"type": "reasoning_text", "text": "think "}]


async def test_responses_without_reasoning_and_whole() -> None:
    with trio.fail_after(10):
        async with simulated_server(FAST) as url:
            streamed = await post_raw(url, RESPONSES, {"input": "x", "stream": True})
            whole = await post_raw(url, RESPONSES, {"input": [{"role": "user", "content": "a b"}]})
    types = [e["type"] for e in typed_events(streamed.content)]
    assert "response.output_item.added" in types
    assert not any("reasoning" in t for t in types)
    data = whole.json()
    assert data["object"] == "response" and data["status"] == "completed"
    assert data["output"][0]["type"] == "message"
    assert data["output"][0]["content"][0]["text"] == "tok " * 5
    assert data["usage"] == responses_usage(2, 5, 0)


async def test_models_health_and_errors(engine: Engine) -> None:
    with trio.fail_after(10):
        async with (
            simulated_server(FAST, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            models = await client.get("/models")
            model = await client.get("/models/sim-model")
            missing = await client.get("/models/gpt-9")
            health = await client.get(url.removesuffix("/v1") + "/health")
            unknown = await client.post("/embeddings", json={})
            wrong_method = await client.get(CHAT)
            bad_json = await client.post(CHAT, content=b"{oops")
            bad_fault = await client.post(CHAT, json=chat_body(), headers={"x-sim-fault": "boom"})
    assert models.json() == {
        "object": "list",
        "data": [{"id": "sim-model", "object": "model", "created": 0, "owned_by": "llmeter-trio"}],
    }
    assert model.json()["id"] == "sim-model"
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    for response, status in [
        (missing, 404),
        (unknown, 404),
        (wrong_method, 405),
        (bad_json, 400),
        (bad_fault, 400),
    ]:
        assert response.status_code == status
        error = orjson.loads(response.content)["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["message"]
    assert missing.json()["error"]["code"] == "model_not_found"
    assert bad_fault.json()["error"]["param"] == "x-sim-fault"
