"""The metrics of known LLM servers that explain a knee, by what they mean.

Each server names the same few things its own way. A *role* is what a metric
means, in the user's words:

- ``requests_running``: requests being decoded now (a gauge),
- ``requests_waiting``: requests queued for a slot (a gauge),
- ``kv_cache_usage``: the share of the KV cache in use, 0 to 1 (a gauge),
- ``generation_tokens`` and ``prompt_tokens``: tokens produced and read so far
  (counters: their rate is tokens per second),
- ``prefix_cache_queries`` and ``prefix_cache_hits``: prompt tokens looked up in
  the prefix cache and found there so far (counters: their ratio over the run is
  the server's prefix-cache hit rate).

Names as published by vLLM (V0 and V1), Hugging Face TGI, SGLang, llama.cpp's
``llama-server --metrics`` and llmeter-trio's simulated server.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CACHE_ROLES", "COUNTER_ROLES", "GAUGE_ROLES", "KNOWN_METRICS", "Role", "server_of"]

Role = Literal[
    "requests_running",
    "requests_waiting",
    "kv_cache_usage",
    "generation_tokens",
    "prompt_tokens",
    "prefix_cache_queries",
    "prefix_cache_hits",
]
GAUGE_ROLES: tuple[Role, ...] = ("requests_running", "requests_waiting", "kv_cache_usage")
COUNTER_ROLES: tuple[Role, ...] = ("generation_tokens", "prompt_tokens")
CACHE_ROLES: tuple[Role, ...] = ("prefix_cache_queries", "prefix_cache_hits")  # counters

# sample name -> (server, role)
KNOWN_METRICS: dict[str, tuple[str, Role]] = {
    # vLLM
    "vllm:num_requests_running": ("vllm", "requests_running"),
    "vllm:num_requests_waiting": ("vllm", "requests_waiting"),
    "vllm:gpu_cache_usage_perc": ("vllm", "kv_cache_usage"),  # V0 (a share, despite the name)
    "vllm:kv_cache_usage_perc": ("vllm", "kv_cache_usage"),  # V1
    "vllm:generation_tokens_total": ("vllm", "generation_tokens"),
    "vllm:prompt_tokens_total": ("vllm", "prompt_tokens"),
    "vllm:prefix_cache_queries_total": ("vllm", "prefix_cache_queries"),  # V1, in tokens
    "vllm:prefix_cache_hits_total": ("vllm", "prefix_cache_hits"),
    "vllm:gpu_prefix_cache_queries_total": ("vllm", "prefix_cache_queries"),  # older V1 names
    "vllm:gpu_prefix_cache_hits_total": ("vllm", "prefix_cache_hits"),
    # Hugging Face text-generation-inference
    "tgi_batch_current_size": ("tgi", "requests_running"),
    "tgi_queue_size": ("tgi", "requests_waiting"),
    "tgi_request_generated_tokens_sum": ("tgi", "generation_tokens"),
    "tgi_request_input_length_sum": ("tgi", "prompt_tokens"),
    # SGLang
    "sglang:num_running_reqs": ("sglang", "requests_running"),
    "sglang:num_queue_reqs": ("sglang", "requests_waiting"),
    "sglang:token_usage": ("sglang", "kv_cache_usage"),
    "sglang:generation_tokens_total": ("sglang", "generation_tokens"),
    "sglang:prompt_tokens_total": ("sglang", "prompt_tokens"),
    # llama.cpp's llama-server
    "llamacpp:requests_processing": ("llama.cpp", "requests_running"),
    "llamacpp:requests_deferred": ("llama.cpp", "requests_waiting"),
    "llamacpp:kv_cache_usage_ratio": ("llama.cpp", "kv_cache_usage"),  # older releases
    "llamacpp:tokens_predicted_total": ("llama.cpp", "generation_tokens"),
    "llamacpp:prompt_tokens_total": ("llama.cpp", "prompt_tokens"),
    # llmeter-trio's simulated server (`llmeter_trio.sim`)
    "llmeter_sim:requests_running": ("llmeter-trio-sim", "requests_running"),
    "llmeter_sim:requests_waiting": ("llmeter-trio-sim", "requests_waiting"),
    "llmeter_sim:generation_tokens_total": ("llmeter-trio-sim", "generation_tokens"),
    "llmeter_sim:prompt_tokens_total": ("llmeter-trio-sim", "prompt_tokens"),
}


def server_of(metric_names: set[str]) -> str | None:
    """Which known server a page's metric names come from (None: none known)."""
    for name in metric_names:
        known = KNOWN_METRICS.get(name)
        if known is not None:
            return known[0]
    return None
