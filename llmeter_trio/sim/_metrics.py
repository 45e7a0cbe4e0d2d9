"""The simulated server's own ``GET /metrics``: its queue, running requests, tokens and
prefix cache.

Prometheus text format, as vLLM or llama.cpp's server write theirs, so a run's
`server_metrics` scraper reads the simulator as it reads a real server::

    llmeter_sim:requests_running 4.0
    llmeter_sim:requests_waiting 0.0
    llmeter_sim:prompt_tokens_total 120.0
    llmeter_sim:generation_tokens_total 480.0
    llmeter_sim:requests_total 12.0

With a prefix cache, vLLM's counters of tokens looked up in it and found there
are added: ``vllm:prefix_cache_queries_total`` and ``vllm:prefix_cache_hits_total``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._prefix_cache import PrefixCache

__all__ = ["SimMetrics"]

_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

_METRICS = (  # name, type, help, attribute
    ("llmeter_sim:requests_running", "gauge", "Requests being answered now", "running"),
    ("llmeter_sim:requests_waiting", "gauge", "Requests waiting for a slot", "waiting"),
    ("llmeter_sim:prompt_tokens", "counter", "Input tokens of requests taken up", "prompt_tokens"),
    ("llmeter_sim:generation_tokens", "counter", "Output tokens of answers sent", "output_tokens"),
    ("llmeter_sim:requests", "counter", "Requests taken up (faults before work excluded)", "taken"),
)
_CACHE_METRICS = (  # name, help, the cache's attribute
    ("vllm:prefix_cache_queries", "Prefix cache queries, in queried tokens", "queried_tokens"),
    ("vllm:prefix_cache_hits", "Prefix cache hits, in cached tokens", "hit_tokens"),
)


class SimMetrics:
    """Counts what a `SimApp` is doing (and reads its `prefix_cache`'s counts, if
    any); `page` renders them."""

    content_type = _CONTENT_TYPE

    def __init__(self, prefix_cache: PrefixCache | None = None) -> None:
        self.prefix_cache = prefix_cache
        self.running = 0
        self.waiting = 0
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.taken = 0

    @contextlib.contextmanager
    def waiting_for_slot(self) -> Iterator[None]:
        """A request queued for one of the `max_concurrency` slots."""
        self.waiting += 1
        try:
            yield
        finally:
            self.waiting -= 1

    @contextlib.contextmanager
    def answering(self, input_tokens: int, output_tokens: int) -> Iterator[None]:
        """A request being answered; its output tokens count once its answer is sent."""
        self.running += 1
        self.taken += 1
        self.prompt_tokens += input_tokens
        try:
            yield
            self.output_tokens += output_tokens
        finally:
            self.running -= 1

    def page(self) -> bytes:
        """The metrics page, in Prometheus' text format (version 0.0.4)."""
        lines = []
        for name, kind, text, attribute in _METRICS:
            sample = f"{name}_total" if kind == "counter" else name
            lines += [
                f"# HELP {name} {text}",
                f"# TYPE {name} {kind}",
                f"{sample} {float(getattr(self, attribute))}",
            ]
        if self.prefix_cache is not None:
            for name, text, attribute in _CACHE_METRICS:
                lines += [
                    f"# HELP {name} {text}",
                    f"# TYPE {name} counter",
                    f"{name}_total {float(getattr(self.prefix_cache, attribute))}",
                ]
        return ("\n".join(lines) + "\n").encode()
