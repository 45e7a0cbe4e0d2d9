"""``endpoint.invoke(payload)`` outside a run, as LLMeter's notebooks call it: blocking where
no event loop runs, awaited (never blocking) under asyncio, the adapter's coroutine under trio."""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timezone
from typing import Any

import attrs
import pytest
import trio

from llmeter_trio import FakeEndpoint
from llmeter_trio.endpoints import (
    Endpoint,
    ErrorClass,
    InvocationResponse,
    OpenAICompletionStreamEndpoint,
    secret_field,
)
from llmeter_trio.endpoints._invoke_anywhere import PendingInvocation
from llmeter_trio.sim import SimConfig

from .._support.threaded_sim import served_in_thread

KEY = "sk-outside-a-run-0123456789"
FAST: dict[str, Any] = {
    "time_to_first_token": 0.001,
    "inter_token_latency": 0.0,
    "output_tokens": 3,
}


@attrs.define(kw_only=True)
class Recording(Endpoint):
    """Answers with what it saw: the payload as prepared, and whether its session was open."""

    endpoint_type = "test-recording"
    api_key: str | None = secret_field()
    fail: bool = False
    in_session: bool = attrs.field(default=False, init=False)

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "prepared": True}

    @asynccontextmanager
    async def open_session(self, concurrency: int) -> AsyncIterator[None]:
        self.in_session = True
        try:
            yield
        finally:
            self.in_session = False

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        await trio.lowlevel.checkpoint()
        if self.fail:
            raise ValueError(f"the server refused key {self.api_key}")
        return InvocationResponse(response_text=f"session={self.in_session}")


@attrs.define(kw_only=True)
class Counting(FakeEndpoint):
    """A slotted attrs subclass calling ``super().invoke``."""

    calls: int = 0

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        self.calls += 1
        return await super().invoke(payload)


@attrs.define(kw_only=True)
class Held(Endpoint):
    """Answers only once something else on the loop has released it."""

    endpoint_type = "test-held"
    released: bool = False

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        # released by an asyncio task, which cannot set a trio.Event
        while not self.released:
            await trio.lowlevel.checkpoint()
        return InvocationResponse(response_text="released")


class TestWithoutALoop:
    def test_blocks_and_returns_the_record(self) -> None:
        """Prepared, sent inside the endpoint's session, stamped with LLMeter's id and time."""
        endpoint: Any = Recording()  # (typed as trio code sees it: a coroutine)
        record = endpoint.invoke({"prompt": "hi"})
        assert isinstance(record, InvocationResponse)
        assert record.response_text == "session=True"
        assert record.input_payload == {"prompt": "hi", "prepared": True}
        assert record.id is not None and len(record.id) == 32
        assert record.request_time is not None
        assert record.request_time.tzinfo == timezone.utc

    def test_a_raising_endpoint_gives_an_error_record_without_its_key(self) -> None:
        """As LLMeter's invoke: no exception, the error on the record; no credential in it."""
        endpoint: Any = Recording(api_key=KEY, fail=True)
        record = endpoint.invoke(payload={"prompt": "hi"})
        assert record.error is not None and record.error.startswith("ValueError: ")
        assert KEY not in record.error and "***" in record.error
        assert record.error_class is not None and record.error_class != ErrorClass.CANCELLED

    def test_a_subclass_calling_super(self) -> None:
        endpoint: Any = Counting(**FAST)
        record = endpoint.invoke({"prompt": "hi"})
        assert endpoint.calls == 1
        assert record.num_tokens_output == 3


def test_a_synchronous_invoke_is_left_as_written() -> None:
    """An endpoint written as LLMeter's are (a plain `invoke`) keeps its own behaviour."""

    @attrs.define(kw_only=True)
    class Plain(Endpoint):
        def invoke(self, payload: dict[str, Any]) -> InvocationResponse:  # type: ignore[override]
            return InvocationResponse(response_text="plain")

    assert Plain.__dict__["invoke"].__name__ == "invoke"
    assert Plain().invoke({}).response_text == "plain"
    assert Plain().invoke({}).id is None  # not wrapped: nothing added


class TestUnderTrio:
    async def test_the_adapters_coroutine(self) -> None:
        """Inside trio (and so inside every run) the call is the adapter's, as written."""
        call = Recording().invoke({"prompt": "hi"})
        assert inspect.iscoroutine(call)
        record = await call
        assert record.response_text == "session=False"  # not prepared, no session: the runner's
        assert record.id is None


class TestUnderAsyncio:
    def test_awaited_and_the_loop_keeps_running(self) -> None:
        """An awaitable: meanwhile other asyncio tasks run (here, the one that releases it)."""
        endpoint = Held()

        async def release() -> None:
            await asyncio.sleep(0)
            endpoint.released = True

        async def main() -> InvocationResponse:
            pending = endpoint.invoke({"prompt": "hi"})
            assert isinstance(pending, PendingInvocation)
            releasing = asyncio.create_task(release())
            record: InvocationResponse = await asyncio.wait_for(pending, 30)
            await releasing
            return record

        record = asyncio.run(main())
        assert record.response_text == "released" and record.id is not None

    def test_used_without_await_it_blocks_and_says_so(self) -> None:
        """LLMeter's notebooks print the response of a plain call: it is sent then, in a
        thread, blocking the loop as LLMeter's invoke does, with a warning saying so."""

        async def main() -> tuple[str, str]:
            pending: Any = Recording().invoke({"prompt": "hi"})
            with pytest.warns(RuntimeWarning, match=r"response = await endpoint\.invoke") as seen:
                text = pending.response_text
            assert seen[0].filename == __file__
            assert str(pending) == str(pending.result())  # sent once
            again = await pending  # awaiting it later gives the same response, no warning
            assert again is pending.result()
            return text, repr(pending)

        text, shown = asyncio.run(main())
        assert text == "session=True"
        assert shown.startswith("InvocationResponse(")

    def test_not_a_field_of_the_response(self) -> None:
        async def main() -> None:
            pending: Any = Recording().invoke({"prompt": "hi"})
            with pytest.raises(AttributeError, match="no attribute 'colour'"):
                pending.colour  # noqa: B018
            await pending

        asyncio.run(main())

    def test_neither_awaited_nor_used_says_nothing_was_sent(self) -> None:
        endpoint = Recording()

        async def main() -> None:
            endpoint.invoke({"prompt": "hi"})

        with pytest.warns(RuntimeWarning, match="no request was sent"):
            asyncio.run(main())
            gc.collect()


@pytest.mark.realtime  # the simulated server, on the real clock
def test_http_endpoint_against_the_simulated_server() -> None:
    """LLMeter's OpenAI class, invoked from plain code: one streamed request, blocking."""
    with served_in_thread(SimConfig(ttft_base=0.005, itl=0.001, output_tokens=5)) as origin:
        endpoint: Any = OpenAICompletionStreamEndpoint(
            "sim-model", api_key=KEY, base_url=origin + "/v1"
        )
        record = endpoint.invoke(endpoint.create_payload("one two three", max_tokens=5))
    assert record.error is None, record.error
    assert record.num_tokens_output == 5
    assert record.time_to_first_token is not None
    assert record.input_prompt is not None and "one two three" in record.input_prompt
