"""Reading request bodies: input token counts, output lengths, refusals."""

from __future__ import annotations

import orjson
import pytest

from llmeter_trio.sim._requests import Api, ApiError, parse_request


def test_chat_counts_words_of_every_message() -> None:
    request = parse_request(
        Api.CHAT,
        orjson.dumps(
            {
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be  brief\n please"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "one two"},
                            {"type": "image_url", "image_url": {"url": "http://x/y.png"}},
                        ],
                    },
                    {"role": "assistant", "content": None},
                ],
                "max_completion_tokens": 7,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        ),
    )
    assert request.input_tokens == 5
    assert request.max_tokens == 7
    assert request.stream and request.include_usage
    assert request.model == "m"


def test_completions_count_strings_and_token_ids() -> None:
    assert parse_request(Api.COMPLETIONS, b'{"prompt": "a b c"}').input_tokens == 3
    body = orjson.dumps({"prompt": [[1, 2, 3], [4]], "max_tokens": 2})
    request = parse_request(Api.COMPLETIONS, body)
    assert (request.input_tokens, request.max_tokens, request.stream) == (4, 2, False)
    assert parse_request(Api.COMPLETIONS, b'{"prompt": ["a b", "c"]}').input_tokens == 3


def test_responses_count_input_items_and_instructions() -> None:
    body = {
        "instructions": "answer in one word",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "why is it so"}]},
            {"type": "function_call_output", "call_id": "c1", "output": "42 degrees"},
            {"role": "user", "content": "ok"},
        ],
        "max_output_tokens": 3,
    }
    request = parse_request(Api.RESPONSES, orjson.dumps(body))
    assert (request.input_tokens, request.max_tokens) == (4 + 4 + 2 + 1, 3)
    assert parse_request(Api.RESPONSES, b'{"input": "x y"}').input_tokens == 2


@pytest.mark.parametrize(
    ("api", "body", "param"),
    [
        (Api.CHAT, b"{not json", None),
        (Api.CHAT, b"[1, 2]", None),
        (Api.CHAT, b'{"messages": []}', "messages"),
        (Api.CHAT, b'{"messages": ["hi"]}', "messages"),
        (Api.CHAT, b'{"messages": [{"content": "x"}], "max_tokens": 0}', "max_tokens"),
        (Api.CHAT, b'{"messages": [{"content": "x"}], "max_tokens": true}', "max_tokens"),
        (Api.CHAT, b'{"messages": [{"content": "x"}], "model": 3}', "model"),
        (Api.COMPLETIONS, b'{"prompt": 5}', "prompt"),
        (Api.RESPONSES, b'{"input": {"a": 1}}', "input"),
    ],
)
def test_bad_requests_are_refused_openai_style(api: Api, body: bytes, param: str | None) -> None:
    with pytest.raises(ApiError) as info:
        parse_request(api, body)
    assert info.value.status == 400
    error = orjson.loads(info.value.body())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]
