"""A stand-in for ``litellm.completion`` that answers on the trio clock, from the worker thread.

`ScriptedCompletion` returns LiteLLM's own chunk and answer types (so the
endpoint reads what LiteLLM really hands over), each after a pause slept on
the trio clock from the worker thread (``trio.from_thread.run(trio.sleep,
...)``). Under ``MockClock(autojump_threshold=0)`` those pauses are virtual and
exact: a chunk the script sends at 0.3 s must be recorded at 0.3 s, which
holds only if the endpoint stamps it in the thread, as it arrives, on the run's
clock. Tests that use it set no virtual deadline of their own: autojump would
jump to it while the thread works between two pauses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import trio
from llmeter_trio_litellm._sdk import load_litellm

load_litellm()  # litellm imported the plugin's way (offline), before its types are

from litellm.types.utils import (  # noqa: E402
    ChatCompletionDeltaToolCall,
    Choices,
    Delta,
    Function,
    Message,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    Usage,
)

__all__ = [
    "Block",
    "Meet",
    "ScriptedCompletion",
    "Step",
    "content",
    "finish",
    "reasoning",
    "tool_call",
    "usage",
    "whole_answer",
]

RESPONSE_ID = "chatcmpl-scripted"


def _chunk(choices: list[StreamingChoices], **fields: Any) -> ModelResponseStream:
    return ModelResponseStream(id=RESPONSE_ID, choices=choices, **fields)


def content(text: str, index: int = 0) -> ModelResponseStream:
    return _chunk([StreamingChoices(index=index, delta=Delta(content=text))])


def reasoning(text: str) -> ModelResponseStream:
    return _chunk([StreamingChoices(index=0, delta=Delta(reasoning_content=text))])


def tool_call(name: str, arguments: str) -> ModelResponseStream:
    call = ChatCompletionDeltaToolCall(index=0, function=Function(name=name, arguments=arguments))
    return _chunk([StreamingChoices(index=0, delta=Delta(tool_calls=[call]))])


def finish(reason: str = "stop", index: int = 0) -> ModelResponseStream:
    return _chunk([StreamingChoices(index=index, delta=Delta(), finish_reason=reason)])


def usage(prompt: int, completion: int, reasoning_tokens: int | None = None) -> Any:
    details = {"reasoning_tokens": reasoning_tokens} if reasoning_tokens is not None else None
    report = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        completion_tokens_details=details,
    )
    return _chunk([], usage=report)


def whole_answer(text: str, prompt: int, completion: int) -> ModelResponse:
    return ModelResponse(
        id=RESPONSE_ID,
        choices=[Choices(index=0, message=Message(content=text, role="assistant"))],
        usage=Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        ),
    )


@attrs.define
class Step:
    """Sleep `after` seconds of trio time, then hand over `chunk` (or raise `error`)."""

    after: float
    chunk: Any = None
    error: BaseException | None = None


@attrs.define
class Block:
    """Tell the test (`reached`), then block the worker thread until `release` is set."""

    reached: trio.Event = attrs.field(factory=trio.Event)
    release: threading.Event = attrs.field(factory=threading.Event)


@attrs.define
class Meet:
    """Wait (real time) until `barrier` has every party: that many calls run at once."""

    barrier: threading.Barrier


@attrs.define
class ScriptedCompletion:
    """Called as ``completion(**kwargs)``: `opening` (pauses before it returns), then the
    stream's `steps`, or the `answer` when the call is not streamed."""

    steps: Sequence[Step | Block] = ()
    opening: Sequence[Step | Block | Meet] = ()
    answer: Any = None
    calls: list[dict[str, Any]] = attrs.field(factory=list)
    closed: threading.Event = attrs.field(factory=threading.Event)
    handed_over: list[Any] = attrs.field(factory=list)

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        for step in self.opening:
            self._play(step)
        if kwargs.get("stream"):
            return _Stream(self)
        return self.answer

    def _play(self, step: Step | Block | Meet) -> Any:
        if isinstance(step, Meet):
            step.barrier.wait()
            return None
        if isinstance(step, Block):
            trio.from_thread.run_sync(step.reached.set)
            step.release.wait()
            return None
        if step.after:
            trio.from_thread.run(trio.sleep, step.after)
        if step.error is not None:
            raise step.error
        return step.chunk


class _Stream:
    """What ``completion(stream=True)`` returns: an iterator with ``close()``."""

    def __init__(self, script: ScriptedCompletion) -> None:
        self.script = script
        self.steps: Iterator[Step | Block] = iter(script.steps)

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> Any:
        for step in self.steps:
            chunk = self.script._play(step)
            if chunk is not None:
                self.script.handed_over.append(chunk)
                return chunk
        raise StopIteration

    def close(self) -> None:
        self.script.closed.set()
