"""Draws docs/images/prefix-cache-ttft.png: time to first token of prefix cache hits and misses.

The simulated server with a prefix cache (blocks of 16 words, a cached token costing 10% of
an uncached one's prefill, a little TTFT jitter) answers 16 documents of 200 to 800 words,
each shared by 8 questions, sent by 4 clients (32 requests each). Runs in virtual time:
`python docs/scripts/prefix_cache_chart.py`.
"""

from __future__ import annotations

import random

import trio
import trio.testing
from _chart_file import chart_path, write_chart

from llmeter_trio import Result, Runner
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.plotting.cache import cache_ttft_fig
from llmeter_trio.sim import Jitter, SimConfig, simulated_server

CONFIG = SimConfig(
    ttft_base=0.05,
    ttft_per_input_token=0.0005,
    ttft_jitter=Jitter(kind="normal", scale=0.01),
    itl=0.01,
    output_tokens=16,
    prefix_cache=True,
    prefix_cache_block=16,
    cached_prefill_share=0.1,
)


async def measure() -> Result:
    rng = random.Random(7)
    payloads = []
    for d in range(16):
        document = " ".join(f"d{d}w{i}" for i in range(rng.randrange(200, 800)))
        for q in range(8):
            question = f"Question {q} about document {d}: what does it say?"
            payloads.append(
                OpenAIChatEndpoint.create_payload(question, None, system_prompt=document)
            )
    rng.shuffle(payloads)
    async with simulated_server(CONFIG) as base_url:
        endpoint = OpenAIChatEndpoint(base_url=base_url, model_id=CONFIG.model)
        return await Runner(endpoint).run(payload=payloads, clients=4, n_requests=32, seed=1)


def main(output: str) -> None:
    result = trio.run(measure, clock=trio.testing.MockClock(autojump_threshold=0))
    stats = result.stats
    print(
        f"hit rate {stats['cache_hit_rate']:.1%}, TTFT p50 hits "
        f"{stats['time_to_first_token_cache_hit-p50'] * 1000:.0f} ms, misses "
        f"{stats['time_to_first_token_cache_miss-p50'] * 1000:.0f} ms"
    )
    figure = cache_ttft_fig(result)
    figure.update_layout(width=900, height=480)
    write_chart(figure, output)


if __name__ == "__main__":
    main(chart_path("prefix-cache-ttft.png"))
