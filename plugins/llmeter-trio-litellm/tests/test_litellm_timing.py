"""Timestamps taken in the worker thread, on the run's clock, as LiteLLM hands each chunk over.

Every test runs under ``MockClock(autojump_threshold=0)`` with `ScriptedCompletion`,
which pauses on the trio clock from the worker thread: the recorded times are
exact virtual times. An endpoint that stamped chunks in the trio task after
the thread returned would see them all at the end; one that read
``time.perf_counter()`` in the thread would see them all at about zero.
"""

from __future__ import annotations

import threading

import pytest
import trio
import trio.testing
from litellm_fakes import (
    RESPONSE_ID,
    Block,
    Meet,
    ScriptedCompletion,
    Step,
    content,
    finish,
    reasoning,
    tool_call,
    usage,
    whole_answer,
)
from llmeter_trio_litellm import LiteLLMEndpoint

from llmeter_trio.endpoints import ChunkKind, ErrorClass, TokenCountSource
from llmeter_trio.endpoints._timing import watch_recorders

EXACT = 1e-9  # sums of virtual pauses, up to float rounding


def endpoint_for(script: ScriptedCompletion, **options: object) -> LiteLLMEndpoint:
    return LiteLLMEndpoint(model="openai/scripted", completion=script, **options)  # type: ignore[arg-type]


class TestStreamTimeline:
    async def test_each_chunk_is_stamped_when_it_arrives(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Chunk times, first token (reasoning), first content token and the kinds are the
        script's, to the nanosecond."""
        script = ScriptedCompletion(
            opening=[Step(0.1)],  # LiteLLM returns its stream once the headers are in
            steps=[
                Step(0.2, reasoning("think ")),
                Step(0.05, content("Hello")),
                Step(0.05, tool_call("lookup", '{"q": 1}')),
                Step(0.05, content(" world")),
                Step(0.05, finish()),
                Step(0.0, usage(7, 5, reasoning_tokens=1)),
            ],
        )
        endpoint = endpoint_for(script)
        record = await endpoint.invoke(endpoint.create_payload("hi there"))

        assert not record.failed, record.error
        assert [c.time for c in record.chunks] == pytest.approx([0.3, 0.35, 0.4, 0.45], abs=EXACT)
        assert [(c.kind, c.chars) for c in record.chunks] == [
            (ChunkKind.REASONING, 6),
            (ChunkKind.CONTENT, 5),
            (ChunkKind.TOOL, len("lookup") + len('{"q": 1}')),
            (ChunkKind.CONTENT, 6),
        ]
        assert record.time_to_first_token == pytest.approx(0.3, abs=EXACT)
        assert record.time_to_first_content_token == pytest.approx(0.35, abs=EXACT)
        assert record.time_to_last_token == pytest.approx(0.5, abs=EXACT)
        assert record.response_text == "Hello world"
        assert record.id == RESPONSE_ID
        assert record.input_prompt == "hi there"

    async def test_usage_comes_from_the_final_chunk(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Input, output and reasoning counts are LiteLLM's usage report; time per output
        token uses them: (0.5 - 0.35) s over 5 - 1 reasoning - 1 tokens."""
        script = ScriptedCompletion(
            steps=[
                Step(0.3, reasoning("think ")),
                Step(0.05, content("a")),
                Step(0.15, content("b")),
                Step(0.0, finish()),
                Step(0.0, usage(7, 5, reasoning_tokens=1)),
            ]
        )
        record = await endpoint_for(script).invoke({"messages": []})
        assert (record.num_tokens_input, record.num_tokens_output) == (7, 5)
        assert record.num_tokens_output_reasoning == 1
        assert record.num_tokens_input_source is TokenCountSource.SERVER
        assert record.num_tokens_output_source is TokenCountSource.SERVER
        assert record.time_per_output_token == pytest.approx(0.15 / 3, abs=EXACT)

    async def test_time_to_last_token_is_the_chunk_that_ends_the_answer(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """LiteLLM's work after the provider's stream (its usage chunk, here 0.4 s later)
        is not the endpoint's: the answer ended with its finish_reason."""
        script = ScriptedCompletion(
            steps=[
                Step(0.1, content("a")),
                Step(0.1, content("b")),
                Step(0.0, finish("length")),
                Step(0.4, usage(3, 2)),
            ]
        )
        record = await endpoint_for(script).invoke({"messages": []})
        assert record.time_to_last_token == pytest.approx(0.2, abs=EXACT)
        assert record.num_tokens_output == 2  # the usage still counts

    async def test_every_choice_must_finish(self, autojump_clock: trio.testing.MockClock) -> None:
        """With n=2, the answer ends when the last open choice has its finish_reason."""
        script = ScriptedCompletion(
            steps=[
                Step(0.1, content("a", index=0)),
                Step(0.0, content("b", index=1)),
                Step(0.1, finish(index=0)),
                Step(0.2, content("c", index=1)),
                Step(0.0, finish(index=1)),
            ]
        )
        record = await endpoint_for(script).invoke({"messages": [], "n": 2})
        assert record.time_to_last_token == pytest.approx(0.4, abs=EXACT)
        assert len(record.chunks) == 3

    async def test_a_stream_without_an_end_is_a_protocol_error(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """No finish_reason came: the chunks are kept, the record fails as PROTOCOL."""
        script = ScriptedCompletion(steps=[Step(0.1, content("a")), Step(0.1, content("b"))])
        record = await endpoint_for(script).invoke({"messages": []})
        assert record.error_class is ErrorClass.PROTOCOL
        assert record.error is not None and "finish_reason" in record.error
        assert [c.time for c in record.chunks] == pytest.approx([0.1, 0.2], abs=EXACT)

    async def test_text_is_kept_up_to_max_response_chars(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        script = ScriptedCompletion(
            steps=[Step(0.1, content("abcdef")), Step(0.1, content("ghij")), Step(0, finish())]
        )
        record = await endpoint_for(script, max_response_chars=8).invoke({"messages": []})
        assert (record.response_text, record.truncated_chars) == ("abcdefgh", 2)
        assert [c.chars for c in record.chunks] == [6, 4]  # every chunk is still timed


class TestWholeAnswer:
    async def test_time_to_last_token_is_when_litellm_returns(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A payload with ``stream: false``: one timed answer, its text and usage."""
        script = ScriptedCompletion(opening=[Step(0.4)], answer=whole_answer("Hi!", 3, 2))
        endpoint = endpoint_for(script)
        record = await endpoint.invoke(endpoint.create_payload("hello", stream=False))
        assert script.calls[0]["stream"] is False
        assert "stream_options" not in script.calls[0]
        assert record.time_to_last_token == pytest.approx(0.4, abs=EXACT)
        assert record.chunks == []
        assert record.time_to_first_token is None
        assert (record.response_text, record.num_tokens_input, record.num_tokens_output) == (
            "Hi!",
            3,
            2,
        )


class TestErrors:
    async def test_an_error_before_the_stream(self, autojump_clock: trio.testing.MockClock) -> None:
        """LiteLLM's RateLimitError, raised 0.2 s in: THROTTLED, 429, timed."""
        from litellm import exceptions as litellm

        error = litellm.RateLimitError("slow down", llm_provider="openai", model="scripted")
        script = ScriptedCompletion(opening=[Step(0.2, error=error)])
        record = await endpoint_for(script).invoke({"messages": []})
        assert (record.error_class, record.status_code) == (ErrorClass.THROTTLED, 429)
        assert record.error is not None and "slow down" in record.error
        assert record.time_to_last_token == pytest.approx(0.2, abs=EXACT)

    async def test_an_error_mid_stream_keeps_the_chunks_before_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        from litellm import exceptions as litellm

        error = litellm.InternalServerError("went away", llm_provider="openai", model="scripted")
        script = ScriptedCompletion(
            steps=[Step(0.1, content("tok ")), Step(0.1, content("tok ")), Step(0.1, error=error)]
        )
        record = await endpoint_for(script).invoke({"messages": []})
        assert (record.error_class, record.status_code) == (ErrorClass.SERVER, 500)
        assert record.response_text == "tok tok "
        assert [c.time for c in record.chunks] == pytest.approx([0.1, 0.2], abs=EXACT)
        assert record.time_to_last_token == pytest.approx(0.3, abs=EXACT)
        assert script.closed.is_set()


class TestCallArguments:
    async def test_what_litellm_is_called_with(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The endpoint's model and options, usage asked for, no retries; the payload's own
        fields win over `extra_kwargs`."""
        script = ScriptedCompletion(steps=[Step(0.1, content("a")), Step(0, finish())])
        endpoint = endpoint_for(
            script,
            api_base="http://127.0.0.1:9/v1",
            api_key="sk-scripted-key",
            extra_headers={"X-Trace": "1"},
            extra_kwargs={"temperature": 0.1, "timeout": 30},
        )
        payload = endpoint.create_payload("hi", max_tokens=5, temperature=0.7, model="ignored")
        await endpoint.invoke(payload)
        [call] = script.calls
        assert call["model"] == "openai/scripted"
        assert (call["api_base"], call["api_key"]) == ("http://127.0.0.1:9/v1", "sk-scripted-key")
        assert call["extra_headers"] == {"X-Trace": "1"}
        assert (call["temperature"], call["timeout"], call["max_tokens"]) == (0.7, 30, 5)
        assert call["stream"] is True
        assert call["stream_options"] == {"include_usage": True}
        assert call["max_retries"] == 0


class TestCancellation:
    async def test_a_cancelled_request_does_not_wait_for_its_blocked_thread(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """LiteLLM blocked before answering (a stalled connect or read): cancelling the
        request returns at once; the thread is abandoned, not waited for."""
        block = Block()
        script = ScriptedCompletion(opening=[block])
        endpoint = endpoint_for(script)
        watchdog = threading.Timer(20.0, block.release.set)  # frees the thread if we hang
        watchdog.start()
        try:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(endpoint.invoke, {"messages": []})
                    await block.reached.wait()
                    scope.cancel()
            assert scope.cancelled_caught
            assert not block.release.is_set(), "invoke returned only once the thread was freed"
        finally:
            watchdog.cancel()
            block.release.set()

    async def test_an_abandoned_stream_records_nothing_more_and_is_closed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Cut short after its first chunk (as the run's deadline does), the request's
        timeline stops there: the chunk LiteLLM hands over later is dropped, and the
        thread closes the stream."""
        block = Block()
        script = ScriptedCompletion(
            steps=[Step(0.1, content("a")), block, Step(0, content("b")), Step(0, finish())]
        )
        endpoint = endpoint_for(script)
        with watch_recorders(trio.current_time()) as recorders, trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(endpoint.invoke, {"messages": []})
                await block.reached.wait()
                scope.cancel()
        [recorder] = recorders
        assert [c.chars for c in recorder.chunks] == [1]
        block.release.set()
        closed = await trio.to_thread.run_sync(script.closed.wait, 20.0)
        assert closed
        assert len(script.handed_over) == 2  # "b" came out of LiteLLM...
        assert [c.chars for c in recorder.chunks] == [1]  # ...and was not recorded

    async def test_more_requests_in_flight_than_trio_has_default_threads(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """60 requests at once (trio's default limit is 40 threads): every one has its
        thread at the same time, or the 60-party barrier breaks (after 10 s) and they fail."""
        barrier = threading.Barrier(60, timeout=10.0)
        script = ScriptedCompletion(
            opening=[Meet(barrier)], steps=[Step(0.0, content("a")), Step(0, finish())]
        )
        endpoint = endpoint_for(script)
        records = []

        async def one() -> None:
            records.append(await endpoint.invoke({"messages": []}))

        async with endpoint.open_session(60), trio.open_nursery() as nursery:
            for _ in range(60):
                nursery.start_soon(one)
        assert [r.error for r in records if r.failed] == []
        assert len(records) == 60
