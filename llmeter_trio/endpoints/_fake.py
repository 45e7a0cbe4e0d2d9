"""`FakeEndpoint`: an in-process endpoint whose latencies are known exactly.

It sleeps on trio's clock instead of calling a server, so under a MockClock a
run against it is fast and every timing is ground truth. Useful for trying the
engine, for tests, and for measuring the engine's own overhead.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from .._checks import numeric
from ._base import Endpoint
from ._conversation import check_text
from ._errors import EndpointError
from ._response import ChunkKind, ErrorClass, InvocationResponse, TokenCountSource
from ._timing import StreamRecorder

__all__ = ["FakeEndpoint"]

_TIMING_KEYS = frozenset(
    {"time_to_first_token", "inter_token_latency", "output_tokens", "tokens_per_chunk",
     "reasoning_tokens", "error", "status_code"}
)  # fmt: skip


@attrs.define(kw_only=True)
class FakeEndpoint(Endpoint):
    """Streams `output_tokens` tokens after `time_to_first_token`, one chunk per
    `tokens_per_chunk` tokens every `inter_token_latency * tokens_per_chunk` seconds.

    A payload may override any of these per request under a ``"fake"`` key, and
    ask for a failure: ``{"fake": {"error": "throttled", "status_code": 429}}``.
    ``max_tokens`` in the payload caps the output length. The first
    `reasoning_tokens` tokens stream as reasoning before the content. With
    `max_concurrency`, it serves that many requests at a time, like a server
    of fixed capacity: the others queue, and their wait counts in their TTFT.
    """

    endpoint_type = "fake"
    endpoint_name: str = "fake"
    model_id: str = "fake-model"
    provider: str = "llmeter-trio"
    time_to_first_token: float = attrs.field(default=0.05, validator=numeric(at_least=0))
    inter_token_latency: float = attrs.field(default=0.01, validator=numeric(at_least=0))
    output_tokens: int = attrs.field(default=16, validator=numeric(whole=True, at_least=0))
    tokens_per_chunk: int = attrs.field(default=1, validator=numeric(whole=True))
    reasoning_tokens: int = attrs.field(default=0, validator=numeric(whole=True, at_least=0))
    max_concurrency: int | None = attrs.field(default=None, validator=numeric(whole=True))
    _slots: trio.Semaphore | None = attrs.field(default=None, init=False, repr=False, eq=False)

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        """Pretend to call a model, taking exactly the configured time."""
        recorder = StreamRecorder()
        if self.max_concurrency is None:
            return await self._answer(payload, recorder)
        if self._slots is None:
            self._slots = trio.Semaphore(self.max_concurrency)
        async with self._slots:  # queued requests wait here, and it shows in their TTFT
            return await self._answer(payload, recorder)

    async def _answer(
        self, payload: dict[str, Any], recorder: StreamRecorder
    ) -> InvocationResponse:
        spec = self._spec(payload)
        prompt = str(payload.get("prompt", ""))
        await trio.sleep(spec["time_to_first_token"])
        if spec["error"] is not None:
            raise EndpointError(
                f"fake {spec['error']} error", ErrorClass(spec["error"]), spec["status_code"]
            )
        total = int(spec["output_tokens"])
        if "max_tokens" in payload:
            total = min(total, int(payload["max_tokens"]))
        per_chunk = max(1, int(spec["tokens_per_chunk"]))
        reasoning = min(int(spec["reasoning_tokens"]), total)
        sent = 0
        while sent < total:
            if sent:
                await trio.sleep(spec["inter_token_latency"] * min(per_chunk, total - sent))
            tokens = min(per_chunk, total - sent)
            kind = ChunkKind.REASONING if sent < reasoning else ChunkKind.CONTENT
            recorder.chunk(chars=4 * tokens, kind=kind, tokens=tokens)
            sent += tokens
        response = InvocationResponse(
            response_text="tok " * (total - reasoning),
            input_payload=payload,
            input_prompt=prompt,
            num_tokens_input=len(prompt.split()),
            num_tokens_output=total,
            num_tokens_output_reasoning=reasoning or None,
            num_tokens_input_source=TokenCountSource.SERVER,
            num_tokens_output_source=TokenCountSource.SERVER,
        )
        return recorder.finish(response)

    @classmethod
    def continue_conversation(
        cls, payload: dict[str, Any], answer: str, user_message: str
    ) -> dict[str, Any]:
        """The ``prompt`` with the answer and the next message appended, one per line."""
        prompt = check_text("prompt", payload.get("prompt", ""))
        text = "\n".join(
            (prompt, check_text("answer", answer), check_text("user_message", user_message))
        )
        return {**payload, "prompt": text}

    def _spec(self, payload: dict[str, Any]) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "time_to_first_token": self.time_to_first_token,
            "inter_token_latency": self.inter_token_latency,
            "output_tokens": self.output_tokens,
            "tokens_per_chunk": self.tokens_per_chunk,
            "reasoning_tokens": self.reasoning_tokens,
            "error": None,
            "status_code": None,
        }
        overrides = payload.get("fake") or {}
        unknown = set(overrides) - _TIMING_KEYS
        if unknown:
            raise ValueError(f"unknown 'fake' payload keys {sorted(unknown)}")
        spec.update(overrides)
        return spec
