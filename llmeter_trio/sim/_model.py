"""The simulated server's ground truth: latency model, output length, and faults.

Everything here is plain data and arithmetic, free of HTTP and of trio, so the
numbers a test expects can be computed from the same `SimConfig` the server
runs with. A request's whole timeline is decided when it arrives (`plan`);
the server then only sleeps until each planned instant and sends.
"""

from __future__ import annotations

import enum
import math
import random
from typing import Literal, NamedTuple

import attrs
from attrs import validators as v

__all__ = [
    "Fault",
    "Faults",
    "Jitter",
    "Plan",
    "PlannedChunk",
    "SimConfig",
    "output_length",
    "plan",
]

JitterKind = Literal["none", "uniform", "normal", "lognormal"]
ReasoningStyle = Literal["summary", "text"]

_non_negative = v.ge(0.0)
_rate = [v.ge(0.0), v.le(1.0)]


@attrs.frozen(kw_only=True)
class Jitter:
    """Random variation of a duration around its mean, drawn from a seeded generator.

    ``none`` always gives the mean; ``uniform`` is mean +/- `scale`; ``normal`` has
    standard deviation `scale`; ``lognormal`` keeps the mean and uses `scale` as the
    sigma of the log, for a long right tail. Draws below zero count as zero.
    """

    kind: JitterKind = attrs.field(
        default="none", validator=v.in_(("none", "uniform", "normal", "lognormal"))
    )
    scale: float = attrs.field(default=0.0, validator=_non_negative)

    def sample(self, rng: random.Random, mean: float) -> float:
        """One duration around `mean`."""
        if self.kind == "none" or self.scale == 0.0:
            return mean
        if self.kind == "uniform":
            value = mean + rng.uniform(-self.scale, self.scale)
        elif self.kind == "normal":
            value = rng.gauss(mean, self.scale)
        else:
            if mean <= 0.0:
                return 0.0
            value = rng.lognormvariate(math.log(mean) - self.scale**2 / 2, self.scale)
        return max(0.0, value)


class Fault(str, enum.Enum):
    """A failure the server injects into one request."""

    NONE = "none"
    THROTTLED = "429"  # HTTP 429 with Retry-After, before any work
    SERVER_ERROR = "5xx"  # HTTP 500/503, before any work
    DROP = "drop"  # the TCP connection closes mid-response
    STALL = "stall"  # a pause mid-stream
    STREAM_ERROR = "stream-error"  # the API's error event mid-stream (an error status if whole)

    @classmethod
    def parse(cls, text: str) -> tuple[Fault, int | None]:
        """A fault named in the ``x-sim-fault`` header: ``429``, ``500``, ``503`` (any
        5xx), ``drop``, ``stall``, ``stream-429`` or ``stream-5xx`` (an error mid-stream)
        or ``none``; with the status code for errors."""
        name = text.strip().lower()
        fault, status = cls.THROTTLED, name
        if name.startswith("stream-"):
            fault, status = cls.STREAM_ERROR, name[len("stream-") :]
        if _is_error_status(status):
            if fault is cls.THROTTLED and status != "429":
                fault = cls.SERVER_ERROR
            return fault, int(status)
        if name in ("drop", "stall", "none"):
            return cls(name), None
        raise ValueError(
            f"unknown fault {text!r}; use 429, 500, 503, drop, stall, stream-429, stream-500 "
            "or none"
        )


def _is_error_status(text: str) -> bool:
    """429 or a 5xx status, as text."""
    return text == "429" or (len(text) == 3 and text.startswith("5") and text.isdigit())


def _check_total_rate(instance: Faults, attribute: attrs.Attribute[float], value: float) -> None:
    total = (
        instance.throttle_rate
        + instance.server_error_rate
        + instance.drop_rate
        + instance.stall_rate
        + value
    )
    if total > 1.0 + 1e-9:
        raise ValueError(f"fault rates add up to {total}, more than 1")


@attrs.frozen(kw_only=True)
class Faults:
    """How often each fault happens, and its shape. Rates are probabilities per
    request; a request gets at most one fault, so the rates may add up to at most 1.

    `requests_per_minute` and `tokens_per_minute` set a quota as a managed API
    enforces it: a token bucket per budget (see `llmeter_trio.sim._bucket`),
    answering 429 with ``Retry-After`` when a request does not fit, and OpenAI's
    ``x-ratelimit-*`` headers on every answer.
    """

    throttle_rate: float = attrs.field(default=0.0, validator=_rate)
    retry_after: float = attrs.field(default=1.0, validator=_non_negative)  # seconds
    server_error_rate: float = attrs.field(default=0.0, validator=_rate)
    server_error_codes: tuple[int, ...] = attrs.field(
        default=(500, 503),
        converter=tuple,
        validator=[v.min_len(1), v.deep_iterable(v.and_(v.ge(500), v.le(599)))],
    )
    drop_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_after_chunks: int = attrs.field(default=1, validator=v.ge(0))
    stall_rate: float = attrs.field(default=0.0, validator=_rate)
    stall_duration: float = attrs.field(default=1.0, validator=_non_negative)  # seconds
    stall_after_chunks: int = attrs.field(default=1, validator=v.ge(0))
    # An error reported inside the stream (Anthropic's ``event: error``, an AWS
    # event-stream exception, an OpenAI ``error`` chunk) when chunk N is due.
    stream_error_rate: float = attrs.field(default=0.0, validator=[*_rate, _check_total_rate])
    stream_error_codes: tuple[int, ...] = attrs.field(
        default=(500,),
        converter=tuple,
        validator=[
            v.min_len(1),
            v.deep_iterable(v.or_(v.in_((429,)), v.and_(v.ge(500), v.le(599)))),
        ],
    )
    stream_error_after_chunks: int = attrs.field(default=1, validator=v.ge(0))
    requests_per_minute: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    tokens_per_minute: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))

    @property
    def active(self) -> bool:
        """Whether any fault happens at random."""
        rates = self.throttle_rate + self.server_error_rate + self.drop_rate + self.stall_rate
        return rates + self.stream_error_rate > 0

    def draw(self, rng: random.Random) -> tuple[Fault, int | None]:
        """The fault for the next request (one uniform draw, or none when all rates are 0)."""
        if not self.active:
            return Fault.NONE, None
        u = rng.random()
        for fault, rate in (
            (Fault.THROTTLED, self.throttle_rate),
            (Fault.SERVER_ERROR, self.server_error_rate),
            (Fault.DROP, self.drop_rate),
            (Fault.STALL, self.stall_rate),
            (Fault.STREAM_ERROR, self.stream_error_rate),
        ):
            if u < rate:
                if fault is Fault.THROTTLED:
                    return fault, 429
                if fault is Fault.SERVER_ERROR:
                    return fault, rng.choice(self.server_error_codes)
                if fault is Fault.STREAM_ERROR:
                    return fault, rng.choice(self.stream_error_codes)
                return fault, None
            u -= rate
        return Fault.NONE, None


@attrs.frozen(kw_only=True)
class SimConfig:
    """What the simulated server does, and so what a client should measure.

    Time to first token is ``ttft_base + ttft_per_input_token * input_tokens``
    (plus `ttft_jitter`), counted from the moment the request may run: a request
    beyond `max_concurrency` first waits its turn (FIFO), and that wait adds to
    the TTFT its client sees. After the first chunk, each chunk arrives
    ``itl * tokens_in_chunk`` later (each token's gap drawn with `itl_jitter`).
    Output length is the request's ``max_completion_tokens``, ``max_tokens`` or
    ``max_output_tokens`` when given, else `output_tokens` (on the Anthropic,
    Bedrock and SageMaker APIs the request's limit only caps `output_tokens`);
    its first `reasoning_tokens` tokens are reasoning (not on ``/v1/completions``;
    on Anthropic and Converse only when the request enables thinking).
    Input tokens are whitespace-separated words; every output token is one word
    (``"tok "`` for content, ``"think "`` for reasoning).

    With `prefix_cache`, the server remembers the prompts it has seen in blocks of
    `prefix_cache_block` words (at most `prefix_cache_blocks` blocks, least recently
    used evicted; see `llmeter_trio.sim._prefix_cache`): a prompt's leading blocks
    already seen are cached tokens, each costing `cached_prefill_share` of
    `ttft_per_input_token` (0: free), and every wire format reports them in its usage.
    """

    model: str = "sim-model"
    ttft_base: float = attrs.field(default=0.05, validator=_non_negative)
    ttft_per_input_token: float = attrs.field(default=0.0, validator=_non_negative)
    ttft_jitter: Jitter = Jitter()
    itl: float = attrs.field(default=0.01, validator=_non_negative)
    itl_jitter: Jitter = Jitter()
    tokens_per_chunk: int = attrs.field(default=1, validator=v.ge(1))
    output_tokens: int = attrs.field(default=16, validator=v.ge(1))
    reasoning_tokens: int = attrs.field(default=0, validator=v.ge(0))
    max_concurrency: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))
    faults: Faults = Faults()
    seed: int = 0
    # How /v1/responses streams reasoning: summary deltas (OpenAI's own models)
    # or raw reasoning text deltas (open-weight models behind the same API).
    responses_reasoning: ReasoningStyle = attrs.field(
        default="summary", validator=v.in_(("summary", "text"))
    )
    prefix_cache: bool = False
    prefix_cache_block: int = attrs.field(default=16, validator=v.ge(1))  # tokens per block
    prefix_cache_blocks: int = attrs.field(default=100_000, validator=v.ge(1))  # capacity
    cached_prefill_share: float = attrs.field(default=0.0, validator=_rate)

    def ttft(self, input_tokens: int, cached_tokens: int = 0) -> float:
        """The mean time to first token for a prompt of `input_tokens` tokens, of which
        `cached_tokens` were found in the prefix cache (and cost `cached_prefill_share`
        of the per-token prefill)."""
        uncached = input_tokens - cached_tokens
        cached_cost = self.ttft_per_input_token * self.cached_prefill_share * cached_tokens
        return self.ttft_base + self.ttft_per_input_token * uncached + cached_cost


class PlannedChunk(NamedTuple):
    """One streamed chunk: when it is sent (seconds after the request may run)."""

    at: float
    tokens: int
    reasoning: bool


@attrs.frozen(kw_only=True)
class Plan:
    """The decided timeline of one request."""

    input_tokens: int
    output_tokens: int  # reasoning included
    reasoning_tokens: int
    length_limited: bool  # the request set the output length
    chunks: tuple[PlannedChunk, ...]
    # of the input tokens, found in the prefix cache (None: the server has no prefix cache)
    cached_tokens: int | None = None
    fault: Fault = Fault.NONE
    # Instead of sending this chunk: close the connection (DROP), or end the stream
    # with the API's error event (STREAM_ERROR).
    drop_after: int | None = None

    @property
    def uncached_tokens(self) -> int:
        """Input tokens not found in the prefix cache (Anthropic's and Bedrock's
        ``input_tokens``)."""
        return self.input_tokens - (self.cached_tokens or 0)

    @property
    def content_tokens(self) -> int:
        return self.output_tokens - self.reasoning_tokens

    @property
    def duration(self) -> float:
        """Seconds from the start of work to the last chunk (or the drop)."""
        if self.drop_after is not None:
            return self.chunks[self.drop_after].at
        return self.chunks[-1].at


def _split(tokens: int, per_chunk: int) -> list[int]:
    full, rest = divmod(tokens, per_chunk)
    return [per_chunk] * full + ([rest] if rest else [])


def output_length(
    config: SimConfig, max_tokens: int | None, token_cap: int | None
) -> tuple[int, bool]:
    """A request's output length (reasoning included), and whether its limit decided it."""
    if max_tokens is not None:
        return max_tokens, True
    if token_cap is not None and token_cap < config.output_tokens:
        return token_cap, True
    return config.output_tokens, False


def plan(
    config: SimConfig,
    rng: random.Random,
    *,
    input_tokens: int,
    cached_tokens: int | None = None,
    max_tokens: int | None = None,
    token_cap: int | None = None,
    reasoning: bool = True,
    fault: Fault = Fault.NONE,
) -> Plan:
    """Decide when each chunk of one request goes out; `rng` draws the jitter.

    The output is `max_tokens` long when given (OpenAI's APIs, as the sim has
    always read them), else `config.output_tokens` cut to `token_cap` (the
    limit of the Anthropic, Bedrock and SageMaker APIs, which a shorter answer
    does not reach); the plan is `length_limited` when the limit decided it.
    `cached_tokens` of the input were found in the prefix cache (`SimConfig.ttft`;
    None: the server has none, and its answers say nothing about caching).

    Reasoning and content never share a chunk. With ``fault=Fault.STALL`` every
    chunk after the first ``faults.stall_after_chunks`` comes `stall_duration`
    later; with ``Fault.DROP`` the connection closes when chunk
    ``faults.drop_after_chunks`` is due, and with ``Fault.STREAM_ERROR`` an error
    ends the stream when chunk ``faults.stream_error_after_chunks`` is due (all
    clamped to stay inside the stream).
    """
    output, length_limited = output_length(config, max_tokens, token_cap)
    n_reasoning = min(config.reasoning_tokens, output) if reasoning else 0
    sizes = [(n, True) for n in _split(n_reasoning, config.tokens_per_chunk)]
    sizes += [(n, False) for n in _split(output - n_reasoning, config.tokens_per_chunk)]

    ttft = config.ttft_jitter.sample(rng, config.ttft(input_tokens, cached_tokens or 0))
    itl, jitter = config.itl, config.itl_jitter
    stall_at = len(sizes)
    if fault is Fault.STALL:
        stall_at = min(config.faults.stall_after_chunks, len(sizes) - 1)
    chunks: list[PlannedChunk] = []
    after_first = 0  # tokens after the first chunk, for exact constant-ITL offsets
    elapsed = ttft
    for i, (n, is_reasoning) in enumerate(sizes):
        if i:
            if jitter.kind == "none":
                after_first += n
                elapsed = ttft + itl * after_first
            else:
                elapsed += sum(jitter.sample(rng, itl) for _ in range(n))
        at = elapsed + (config.faults.stall_duration if i >= stall_at else 0.0)
        chunks.append(PlannedChunk(at, n, is_reasoning))

    drop_after = None
    if fault is Fault.DROP:
        drop_after = min(config.faults.drop_after_chunks, len(chunks) - 1)
    elif fault is Fault.STREAM_ERROR:
        drop_after = min(config.faults.stream_error_after_chunks, len(chunks) - 1)
    return Plan(
        input_tokens=input_tokens,
        output_tokens=output,
        reasoning_tokens=n_reasoning,
        length_limited=length_limited,
        chunks=tuple(chunks),
        cached_tokens=cached_tokens,
        fault=fault,
        drop_after=drop_after,
    )
