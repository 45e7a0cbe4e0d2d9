"""What one request produced: `InvocationResponse` and its per-chunk timeline.

Every duration here is in seconds on one clock (`trio.current_time()`), measured
from the moment the request was handed to the transport (`send_time`). The
timeline keeps one `Chunk` per streamed piece of output: chunks are not tokens,
so each chunk says how many characters it carried and, when known, how many
tokens.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "Attempt",
    "Chunk",
    "ChunkKind",
    "ErrorClass",
    "InvocationResponse",
    "TokenCountSource",
]


class ChunkKind(str, enum.Enum):
    """What a streamed chunk carried."""

    CONTENT = "content"
    REASONING = "reasoning"
    TOOL = "tool"


class ErrorClass(str, enum.Enum):
    """Why a request failed, in the terms an operator acts on."""

    THROTTLED = "throttled"  # HTTP 429 or a provider's throttling error
    SERVER = "server"  # HTTP 5xx
    CLIENT = "client"  # other HTTP 4xx
    TIMEOUT = "timeout"  # the per-request deadline passed
    CONNECTION = "connection"  # could not connect, or the connection dropped
    PROTOCOL = "protocol"  # an answer that could not be parsed
    CANCELLED = "cancelled"  # the run stopped (deadline grace over, Ctrl-C) while in flight
    OTHER = "other"  # an exception no rule above explains (often an adapter bug)


class TokenCountSource(str, enum.Enum):
    """Where a token count came from."""

    SERVER = "server"  # the endpoint's own usage report
    TOKENIZER = "tokenizer"  # counted locally by the run's tokenizer


@attrs.frozen(slots=True)
class Chunk:
    """One streamed piece of output: when it arrived and what it held."""

    time: float  # seconds since the request was sent
    kind: ChunkKind = ChunkKind.CONTENT
    chars: int = 0
    tokens: int | None = None  # token delta, when the endpoint or tokenizer knows it


@attrs.frozen(slots=True, kw_only=True)
class Attempt:
    """One attempt at a request sent under a retry policy: when, how it ended, how long.

    `send_time` is on the run clock; the times are from this attempt's own send.
    `wait` is how long the client waited before sending it (0 for the first);
    `retry_after` is the wait the server asked for in its answer, if any.
    """

    send_time: float | None = None
    status_code: int | None = None
    error_class: ErrorClass | None = None
    time_to_first_token: float | None = None
    time_to_last_token: float | None = None
    wait: float = 0.0
    retry_after: float | None = None

    @property
    def failed(self) -> bool:
        """True when this attempt did not produce a complete answer."""
        return self.error_class is not None


@attrs.define(slots=True)
class InvocationResponse:
    """The outcome of one request, successful or not.

    The fields up to `request_time` are LLMeter's, in LLMeter's order (so
    ``InvocationResponse("text", payload)`` builds the same record there and
    here); the others, keyword-only, are what LLMeter lacks.
    """

    response_text: str | None = None
    input_payload: dict[str, Any] | None = None
    id: str | None = None
    input_prompt: str | None = None
    time_to_first_token: float | None = None  # first token of any kind (reasoning too)
    time_to_last_token: float | None = None  # end of the response
    num_tokens_input: int | None = None
    num_tokens_output: int | None = None
    num_tokens_input_cached: int | None = None
    num_tokens_output_reasoning: int | None = None
    time_per_output_token: float | None = None
    error: str | None = None
    retries: int | None = None
    request_time: datetime | None = None  # wall-clock time the request was sent (UTC)
    # -- beyond LLMeter: keyword-only (kw_only=True, as any field added here must be) --
    time_to_first_content_token: float | None = attrs.field(
        default=None, kw_only=True
    )  # first visible, non-reasoning token
    annotations: dict[str, Any] = attrs.field(factory=dict, kw_only=True)  # what callbacks add
    error_class: ErrorClass | None = attrs.field(default=None, kw_only=True)
    status_code: int | None = attrs.field(default=None, kw_only=True)
    chunks: list[Chunk] = attrs.field(factory=list, kw_only=True)
    num_tokens_input_source: TokenCountSource | None = attrs.field(default=None, kw_only=True)
    num_tokens_output_source: TokenCountSource | None = attrs.field(default=None, kw_only=True)
    # run clock: when the schedule wanted it sent, and when it was handed to the transport
    intended_send_time: float | None = attrs.field(default=None, kw_only=True)
    send_time: float | None = attrs.field(default=None, kw_only=True)
    # seconds spent opening a new connection; None if one was reused
    connect_time: float | None = attrs.field(default=None, kw_only=True)
    client: int | None = attrs.field(default=None, kw_only=True)  # which client sent it
    # "warmup" / "cooldown": left out of the statistics
    excluded: str | None = attrs.field(default=None, kw_only=True)
    # which of the run's payloads (run_config.payload) it sent
    payload_index: int | None = attrs.field(default=None, kw_only=True)
    # what the workload asked (`llmeter_trio.workloads.WORKLOAD_KEY`), beside what was served
    requested_input_tokens: int | None = attrs.field(default=None, kw_only=True)
    requested_output_tokens: int | None = attrs.field(default=None, kw_only=True)
    workload: dict[str, Any] | None = attrs.field(default=None, kw_only=True)
    # multi-turn sessions (`llmeter_trio.workloads.Sessions`): the session it belongs to (a
    # run-wide number), its turn (1-based), and on the session's last record how it ended:
    # "completed" (all its turns), "failed" (this turn failed) or "cut" (the run ended it)
    session: int | None = attrs.field(default=None, kw_only=True)
    turn: int | None = attrs.field(default=None, kw_only=True)
    session_end: str | None = attrs.field(default=None, kw_only=True)
    # characters of the answer left out of response_text
    truncated_chars: int | None = attrs.field(default=None, kw_only=True)
    # why the model stopped, in the API's word: end_turn, length
    stop_reason: str | None = attrs.field(default=None, kw_only=True)
    # input tokens written to the prompt cache
    num_tokens_input_cache_write: int | None = attrs.field(default=None, kw_only=True)
    # -- throttling and retries (see docs/throttling.md) --
    # each attempt under a retry policy, in order (None without one); `retries` counts the
    # attempts after the first, and the record's times run from the first attempt's send
    attempts: list[Attempt] | None = attrs.field(default=None, kw_only=True)
    # seconds waited between this request's attempts (backoff and the server's Retry-After)
    retry_wait: float | None = attrs.field(default=None, kw_only=True)
    # seconds its closed-loop client waited before sending it, as the server's Retry-After
    # on that client's previous answer asked
    throttle_wait: float | None = attrs.field(default=None, kw_only=True)
    # the wait the server asked for in this answer (Retry-After, retry-after-ms,
    # x-ratelimit-reset-*), in seconds
    retry_after: float | None = attrs.field(default=None, kw_only=True)
    # the answer's rate-limit headers: limit_requests, remaining_requests, reset_requests,
    # limit_tokens, remaining_tokens, reset_tokens (as the server wrote them)
    rate_limit: dict[str, str] | None = attrs.field(default=None, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """The record as a dict, as a run folder saves it, with native datetimes and bytes."""
        from ..storage import converter  # storage imports this module

        document: dict[str, Any] = converter.unstructure(self)
        return document

    def to_json(self, default: Callable[[Any], Any] | None = None, **kwargs: Any) -> str:
        """The record as JSON text, as LLMeter's ``to_json`` writes it.

        `default` is `json.dumps`' fallback, LLMeter's
        `~llmeter_trio.json_utils.llmeter_default_serializer` unless given (bytes
        as ``{"__llmeter_bytes__": ...}``, times to the second); `kwargs` go to
        `json.dumps` (``indent``, ``sort_keys``...). `from_json` reads it back.
        """
        from ..json_utils import llmeter_default_serializer

        return json.dumps(self.to_dict(), default=default or llmeter_default_serializer, **kwargs)

    def __str__(self) -> str:
        """The record as indented JSON, as LLMeter prints it (``print(response)``).

        The same fields as `to_json` (as saved: credentials never reach a record)
        but the per-chunk timeline, which a streamed answer makes long.
        """
        from ..json_utils import llmeter_default_serializer

        document = {k: v for k, v in self.to_dict().items() if k != "chunks"}
        return json.dumps(document, default=llmeter_default_serializer, indent=4)

    @classmethod
    def from_json(cls, json_str: str | bytes) -> InvocationResponse:
        """A record from `to_json` text, LLMeter's bytes markers restored."""
        from ..json_utils import llmeter_bytes_decoder
        from ..storage import converter

        return converter.structure(json.loads(json_str, object_hook=llmeter_bytes_decoder), cls)

    @property
    def failed(self) -> bool:
        """True when the request did not produce a complete answer."""
        return self.error is not None or self.error_class is not None

    @property
    def final_attempt_time_to_last_token(self) -> float | None:
        """Time to last token from the send of the attempt that ended the request (the
        record's own `time_to_last_token` runs from the first attempt's send)."""
        if not self.attempts:
            return self.time_to_last_token
        return self.attempts[-1].time_to_last_token

    @property
    def final_attempt_time_to_first_token(self) -> float | None:
        """Time to first token from the send of the attempt that ended the request."""
        if not self.attempts:
            return self.time_to_first_token
        return self.attempts[-1].time_to_first_token

    @classmethod
    def error_output(
        cls,
        error: object = None,
        error_class: ErrorClass | None = None,
        *,
        input_payload: dict[str, Any] | None = None,
        id: str | None = None,
        request_time: datetime | None = None,
        status_code: int | None = None,
        **fields: Any,
    ) -> InvocationResponse:
        """Build the record of a failed request.

        LLMeter's keywords work as in LLMeter: `error` (any object, kept as its
        text; ``"invocation failed"`` when None), `input_payload`, `id` (a new
        random hex id when None) and `request_time`. `error_class` says why it
        failed, `ErrorClass.OTHER` when not given.
        """
        return cls(
            error="invocation failed" if error is None else str(error),
            error_class=ErrorClass.OTHER if error_class is None else error_class,
            input_payload=input_payload,
            id=uuid.uuid4().hex if id is None else id,
            request_time=request_time,
            status_code=status_code,
            **fields,
        )

    def derive_timings(self) -> None:
        """Fill the first-token times and time per output token from the timeline.

        Values the endpoint set itself are kept. Time per output token is the
        time from the first content token to the end over the content tokens
        after the first (output tokens less reasoning tokens, less one); it
        stays None when that is not defined.
        """
        if self.chunks:
            if self.time_to_first_token is None:
                self.time_to_first_token = self.chunks[0].time
            if self.time_to_first_content_token is None:
                self.time_to_first_content_token = next(
                    (c.time for c in self.chunks if c.kind is ChunkKind.CONTENT), None
                )
        if (
            self.time_per_output_token is None
            and self.time_to_first_content_token is not None
            and self.time_to_last_token is not None
            and self.num_tokens_output is not None
        ):
            decode_tokens = self.num_tokens_output - (self.num_tokens_output_reasoning or 0) - 1
            if decode_tokens > 0:
                self.time_per_output_token = (
                    self.time_to_last_token - self.time_to_first_content_token
                ) / decode_tokens

    def chunk_tokens(self) -> list[int]:
        """How many tokens each chunk carried.

        Counts the endpoint recorded are kept. Chunks without one share the
        rest of the token total in proportion to their characters (largest
        remainders, so the shares add up exactly): most streaming APIs do not
        say how many tokens a chunk holds, and counting each chunk as one token
        would make every multi-token chunk look like one slow token. When the
        reasoning tokens are counted apart, reasoning chunks share those and
        the other chunks share the rest. Without a token total, an unknown
        chunk counts as one token.
        """
        shares = [c.tokens for c in self.chunks]
        if None not in shares:
            return shares  # type: ignore[return-value]
        total, reasoning = self.num_tokens_output, self.num_tokens_output_reasoning
        everything = range(len(self.chunks))
        if total is not None and reasoning is not None:
            is_reasoning = [c.kind is ChunkKind.REASONING for c in self.chunks]
            _share(self.chunks, shares, [i for i in everything if is_reasoning[i]], reasoning)
            _share(
                self.chunks,
                shares,
                [i for i in everything if not is_reasoning[i]],
                total - reasoning,
            )
        else:
            _share(self.chunks, shares, list(everything), total)
        return [1 if tokens is None else tokens for tokens in shares]

    def token_gaps(self) -> Iterator[tuple[float, int]]:
        """``(gap per token, tokens)`` for each chunk with tokens after the first.

        A chunk that carried k tokens (see `chunk_tokens`) after a gap g since
        the last chunk that carried any stands for k gaps of g/k: chunks are
        not tokens, and chunks without tokens neither start nor end a gap.
        """
        last: float | None = None
        for chunk, tokens in zip(self.chunks, self.chunk_tokens(), strict=True):
            if tokens <= 0:
                continue
            if last is not None:
                yield (chunk.time - last) / tokens, tokens
            last = chunk.time

    def inter_token_latencies(self) -> list[float]:
        """Every gap between tokens, from the chunk timeline (see `token_gaps`)."""
        return [gap for gap, tokens in self.token_gaps() for _ in range(tokens)]


def _share(
    chunks: list[Chunk], shares: list[int | None], group: list[int], total: int | None
) -> None:
    """Fill the unknown `shares` of the chunks in `group` from their `total`, by characters."""
    unknown = [i for i in group if shares[i] is None]
    if not unknown or total is None:
        return  # unknown chunks count as one token each
    known = 0
    for i in group:
        share = shares[i]
        if share:
            known += share
    left = max(0, total - known)
    sizes = [chunks[i].chars for i in unknown]
    chars = sum(sizes)
    if chars <= 0:
        return
    exact = [left * size / chars for size in sizes]
    whole = [int(value) for value in exact]
    extra = left - sum(whole)
    if extra:  # (none left over, the usual case: no order to find)
        by_remainder = sorted(range(len(unknown)), key=lambda k: whole[k] - exact[k])
        for k in by_remainder[:extra]:
            whole[k] += 1
    for i, share in zip(unknown, whole, strict=True):
        shares[i] = share
