"""Draws docs/images/latency-heatmap.png: time to last token by input and output length.

A FakeEndpoint that behaves like a served model: the first token waits for
prefill (longer for longer prompts), then tokens stream at a pace that slows a
little as the context grows. Runs in virtual time:
`python docs/scripts/latency_heatmap.py`.
"""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from _chart_file import chart_path, write_chart

from llmeter_trio import FakeEndpoint
from llmeter_trio.experiments import LatencyHeatmap
from llmeter_trio.prompts import SAMPLE_TEXT_FILE


def served_model_payload(prompt: str, max_tokens: int) -> dict[str, Any]:
    """30 ms + 0.4 ms a prompt token of prefill; 12 ms a token, plus 10 us per prompt token."""
    words = len(prompt.split())
    timing = {
        "time_to_first_token": 0.03 + 0.0004 * words,
        "inter_token_latency": 0.012 + 1e-5 * words,
    }
    return {"prompt": prompt, "max_tokens": max_tokens, "fake": timing}


def main(output: str) -> None:
    heatmap = LatencyHeatmap(
        FakeEndpoint(output_tokens=100_000, tokens_per_chunk=4), SAMPLE_TEXT_FILE,
        clients=4, requests_per_combination=3, create_payload_fn=served_model_payload, seed=1,
    )  # fmt: skip
    result = trio.run(heatmap.run, clock=trio.testing.MockClock(autojump_threshold=0))
    _, time_to_last_token = result.plot_heatmaps()  # the designed cells
    time_to_last_token.update_layout(width=900, height=520)
    write_chart(time_to_last_token, output)


if __name__ == "__main__":
    main(chart_path("latency-heatmap.png"))
