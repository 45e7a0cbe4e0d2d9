"""`LiteLLMEndpoint`: any model LiteLLM reaches, timed chunk by chunk from a worker thread.

LiteLLM's SDK blocks, so this is the one endpoint in llmeter-trio that runs
an SDK in threads (every other adapter speaks HTTP on trio itself). One
request, as `invoke` runs it::

    the call's keyword arguments, merged           not timed
    StreamRecorder()                               send_time: handed to LiteLLM now
    trio.to_thread.run_sync(...)                   a worker thread of its own:
        litellm.completion(**kwargs)                 LiteLLM builds and sends the request
        for chunk in stream: recorder.chunk(...)     stamped as each chunk comes out
        recorder.finish(...)                         at the chunk that ends the answer
    the record comes back to the trio task

Why LiteLLM's sync ``completion`` in one worker thread per request in flight,
rather than its asyncio API on an event loop in a thread: a thread blocked in
its socket read wakes when its own bytes arrive and stamps its chunk at once;
on one shared asyncio loop, a chunk waits its turn behind every other
request's parsing, so its stamp would grow late with the concurrency.

The worker thread reads the run's clock directly: `StreamRecorder` holds
``trio.lowlevel.current_clock()``, taken in the trio task, and calls its
``current_time()`` from the thread. For trio's default clock that is
``time.perf_counter()`` plus the run's offset, so the chunk times are on the
run's clock exactly, with no trip back to the event loop; under
``trio.testing.MockClock`` they are virtual times, which is how the tests pin
them down.

A request cut short (its deadline, the end of the run, Ctrl-C) does not wait
for its thread: the thread is abandoned (``abandon_on_cancel``), records
nothing more, and closes its stream at its next chunk. A thread blocked in a
stalled read lives on until the provider sends or LiteLLM's own ``timeout``
(600 s by default; set it with ``extra_kwargs={"timeout": ...}``) fires; it
holds no lock the run needs, and it does not keep the process from exiting.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import attrs
import trio

from llmeter_trio import Endpoint, InvocationResponse, StreamRecorder
from llmeter_trio.endpoints import (
    OpenAIChatEndpoint,
    headers_field,
    scrub_secrets,
    secret_field,
    url_field,
)

from ._errors import describe_sdk_error, sdk_error_class
from ._reading import Abandoned, AbandonFlag, read_answer, read_stream
from ._sdk import load_litellm

__all__ = ["DEFAULT_MAX_RESPONSE_CHARS", "LiteLLMEndpoint"]

DEFAULT_MAX_RESPONSE_CHARS = 1_000_000


def _check_model(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"model must be LiteLLM's 'provider/model' string, not {value!r}")


def _check_max_response_chars(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"max_response_chars must be a whole number, 0 or more, or None: {value}")


def _check_max_retries(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"max_retries must be a whole number, 0 or more: {value!r}")


def _check_extra_kwargs(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise TypeError("extra_kwargs must be a mapping of litellm.completion argument names")


def _prepare_sdk(model: str) -> Callable[..., Any]:
    """``litellm.completion``, LiteLLM imported and warmed up; refuse a model it cannot route."""
    litellm = load_litellm()
    try:
        litellm.get_llm_provider(model)
    except Exception as exc:
        raise ValueError(
            f"LiteLLM cannot route model {model!r} ({describe_sdk_error(exc)[:300]}); "
            "give it as 'provider/model', e.g. 'openai/gpt-4o-mini' or 'bedrock/...'"
        ) from None
    completion: Callable[..., Any] = litellm.completion
    return completion


@attrs.define(kw_only=True)
class LiteLLMEndpoint(Endpoint):
    """Any model LiteLLM reaches, through its SDK, timed chunk by chunk in a worker thread.

    - `model`: LiteLLM's model string, ``"provider/model"`` (``"openai/gpt-4o-mini"``,
      ``"bedrock/anthropic.claude-3-haiku-20240307-v1:0"``, ``"ollama/llama3"``).
      It is sent with every request, whatever model the payload names. When
      not given, `model_id` is taken (the command line's ``--model``).
    - `api_base`, `api_key`: passed to LiteLLM (the key is never saved nor
      shown; without one LiteLLM reads the provider's usual environment variable).
    - `extra_headers`: HTTP headers LiteLLM adds (values masked when saved,
      except headers that carry no credential).
    - `extra_kwargs`: any other ``litellm.completion`` arguments (JSON values:
      ``timeout``, ``aws_region_name``, ``custom_llm_provider``, ...); a
      payload's own fields win over them. Values under names that look like
      credentials (``aws_secret_access_key``, ...) are never saved.
    - `max_retries`: LiteLLM's retries of a failed call (default 0: a retry
      would hide the throttling and the errors a load test is there to see).
    - `stream`: True or False forces streaming; None (the default) lets the
      payload's ``stream`` flag choose (streaming when it has none).
    - `include_usage`: streamed requests ask for the usage chunk
      (``stream_options: {"include_usage": true}``), so token counts come
      from the provider.
    - `max_response_chars`: characters of each answer's text kept in its record.

    `model_id` and `provider` default to the two halves of `model`.
    """

    endpoint_type = "litellm"
    endpoint_name: str = "litellm"
    model: str = attrs.field(default="", validator=_check_model)
    api_base: str | None = url_field(default=None)
    api_key: str | None = secret_field()
    extra_headers: dict[str, str] = headers_field()
    extra_kwargs: dict[str, Any] = attrs.field(
        factory=dict,
        validator=_check_extra_kwargs,
        repr=lambda value: repr(scrub_secrets(value)),
    )
    max_retries: int = attrs.field(default=0, validator=_check_max_retries)
    stream: bool | None = None
    include_usage: bool = True
    max_response_chars: int | None = attrs.field(
        default=DEFAULT_MAX_RESPONSE_CHARS, validator=_check_max_response_chars
    )
    # Test hook: a function to call instead of ``litellm.completion`` (not configuration).
    _completion: Callable[..., Any] | None = attrs.field(
        default=None, repr=False, eq=False, alias="completion"
    )
    _sdk_completion: Callable[..., Any] | None = attrs.field(
        default=None, init=False, repr=False, eq=False
    )
    _limiter: trio.CapacityLimiter | None = attrs.field(
        default=None, init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        if not self.model:
            self.model = self.model_id
        if not self.model:
            raise ValueError(
                f"{type(self).__name__} needs model= (--model on the command line): "
                "LiteLLM's 'provider/model' string, e.g. 'openai/gpt-4o-mini'"
            )
        prefix, slash, name = self.model.partition("/")
        if not self.provider:
            self.provider = prefix if slash else "litellm"
        if not self.model_id:
            self.model_id = name if slash else self.model

    # -- configuration ----------------------------------------------------------

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with the endpoint's model and its ``stream`` flag (and usage asked for)."""
        prepared = dict(payload)
        prepared["model"] = self.model
        streaming = self.stream if self.stream is not None else prepared.get("stream", True)
        prepared["stream"] = bool(streaming)
        if streaming and self.include_usage:
            options = prepared.get("stream_options")
            if options is None:
                prepared["stream_options"] = {"include_usage": True}
            elif isinstance(options, Mapping) and "include_usage" not in options:
                prepared["stream_options"] = {**options, "include_usage": True}
        return prepared

    def _call_arguments(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """What ``litellm.completion`` is called with: options, then the payload's fields."""
        arguments: dict[str, Any] = {"max_retries": self.max_retries, **self.extra_kwargs}
        if self.api_base is not None:
            arguments["api_base"] = self.api_base
        if self.api_key is not None:
            arguments["api_key"] = self.api_key
        if self.extra_headers:
            arguments["extra_headers"] = {
                **arguments.get("extra_headers", {}),
                **self.extra_headers,
            }
        arguments.update(payload)
        return arguments

    @classmethod
    def create_payload(
        cls,
        user_message: str | Sequence[str],
        max_tokens: int | None = 256,
        *,
        system_message: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A chat payload (LiteLLM takes OpenAI's message format for every provider).

        `user_message` is one user message, or several in order; `system_message`
        comes first. For one message, `kwargs` also take the attachments of
        `OpenAIChatEndpoint.create_payload` (``images``, ``audio``, ``documents``);
        other `kwargs` are payload fields (``temperature``, ``stream``, ...).
        """
        if isinstance(user_message, str):
            return OpenAIChatEndpoint.create_payload(
                user_message, max_tokens, system_prompt=system_message, **kwargs
            )
        messages: list[dict[str, Any]] = []
        if system_message is not None:
            messages.append({"role": "system", "content": system_message})
        messages += [{"role": "user", "content": text} for text in user_message]
        payload: dict[str, Any] = {"messages": messages}
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        payload.update(kwargs)
        return payload

    @classmethod
    def continue_conversation(
        cls, payload: dict[str, Any], answer: str, user_message: str
    ) -> dict[str, Any]:
        """``messages`` with the ``assistant`` answer and the next ``user`` message appended
        (OpenAI's format, which LiteLLM takes for every provider)."""
        return OpenAIChatEndpoint.continue_conversation(payload, answer, user_message)

    # -- the run --------------------------------------------------------------------

    @asynccontextmanager
    async def open_session(self, concurrency: int) -> AsyncIterator[None]:
        """Import and warm up LiteLLM before the run's clock starts; no cap on the threads.

        trio's default limit of 40 worker threads would make the 41st request
        in flight wait for a thread, and its wait would count as latency: the
        run itself bounds how many requests are in flight.
        """
        await self._prepare()
        previous, self._limiter = self._limiter, trio.CapacityLimiter(math.inf)
        try:
            yield
        finally:
            self._limiter = previous

    async def _prepare(self) -> Callable[..., Any]:
        """The function each request calls: ``litellm.completion``, or the test's."""
        completion = self._completion or self._sdk_completion
        if completion is None:
            # (Ctrl-C while LiteLLM imports: the import thread is left to finish alone)
            completion = await trio.to_thread.run_sync(
                _prepare_sdk, self.model, abandon_on_cancel=True
            )
            self._sdk_completion = completion
        return completion

    # -- one request ------------------------------------------------------------------

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        """Send one request through LiteLLM in a worker thread and record its answer.

        A payload that did not go through `prepare_payload` is prepared here.
        """
        if payload.get("model") != self.model or "stream" not in payload:
            payload = self.prepare_payload(payload)
        completion = await self._prepare()
        limiter = self._limiter or trio.CapacityLimiter(1)
        exchange = partial(
            _exchange,
            completion,
            self._call_arguments(payload),
            bool(payload["stream"]),
            self.max_response_chars,
        )
        flag = AbandonFlag()
        recorder = StreamRecorder()
        try:
            record = await trio.to_thread.run_sync(
                exchange, recorder, flag, abandon_on_cancel=True, limiter=limiter
            )
        except BaseException:  # cancelled: the thread must not touch the record any more
            flag.abandon()
            raise
        record.input_payload = payload
        if not record.failed:
            record.input_prompt = OpenAIChatEndpoint.prompt_text(payload)
        return record


def _exchange(
    completion: Callable[..., Any],
    arguments: dict[str, Any],
    streaming: bool,
    max_chars: int | None,
    recorder: StreamRecorder,
    flag: AbandonFlag,
) -> InvocationResponse:
    """The worker thread's whole job: call LiteLLM, read its answer, stamp the chunks."""
    try:
        answer = completion(**arguments)
    except Exception as exc:
        error_class, status = sdk_error_class(exc)
        failed = InvocationResponse.error_output(
            describe_sdk_error(exc), error_class, status_code=status
        )
        return recorder.finish(failed)
    if flag.abandoned:
        close = getattr(answer, "close", None)
        if callable(close):
            close()
        raise Abandoned
    if streaming:
        return read_stream(answer, recorder, flag, max_chars)
    return read_answer(answer, recorder, max_chars)
