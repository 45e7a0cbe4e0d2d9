"""Draws the charts of docs/workloads.md: ``python docs/scripts/workload_charts.py``.

- docs/images/workload-lengths.png: input lengths drawn from a lognormal
  distribution beside what the distribution expects, and the time to first
  token the simulated server (a prefill cost per input token) gave each;
- docs/images/workload-prefixes.png: each request's input, its shared prefix
  (one colour a prefix) and its own suffix, in the order they are sent.

The run goes against the built-in simulated server on the real clock (a few seconds).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import plotly.graph_objects as go
import trio
from plotly.subplots import make_subplots

from llmeter_trio import Result, Runner
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.workloads import LogNormal, SharedPrefixes, SyntheticWorkload

IMAGES = Path(__file__).parent.parent / "images"
BIN = 25  # tokens per histogram bar


def lengths_chart(output: Path) -> None:
    distribution = LogNormal(300, 0.5)
    workload = SyntheticWorkload(distribution, 8, requests=300, seed=7)
    payloads = workload.payloads(OpenAIChatEndpoint)

    async def main(folder: str) -> Result:
        config = SimConfig(ttft_base=0.01, ttft_per_input_token=0.0002, itl=0.001)
        async with simulated_server(config) as base_url:
            endpoint = OpenAIChatEndpoint(base_url=base_url, model_id="sim-model", api_key="sim")
            runner = Runner(endpoint, output_path=folder)
            return await runner.run(payload=payloads, payload_order="once", clients=8)

    with tempfile.TemporaryDirectory() as folder:
        result = trio.run(main, folder)
    asked = [i for i, _ in workload.lengths()]
    top = max(asked) + BIN
    edges = list(range(0, top, BIN))
    counts = [sum(low <= a < low + BIN for a in asked) for low in edges]
    expected = [
        len(asked) * (distribution.cdf(low + BIN - 0.5) - distribution.cdf(low - 0.5))
        for low in edges
    ]
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "Input lengths drawn from lognormal:300,0.5",
            "Time to first token by input length (simulated server)",
        ),
    )
    centres = [low + BIN / 2 for low in edges]
    figure.add_trace(go.Bar(x=centres, y=counts, name="drawn", width=BIN * 0.9), row=1, col=1)
    figure.add_trace(go.Scatter(x=centres, y=expected, name="expected", mode="lines"), row=1, col=1)
    records = [r for r in result.responses if r.time_to_first_token is not None]
    figure.add_trace(
        go.Scatter(
            x=[r.num_tokens_input for r in records],
            y=[(r.time_to_first_token or 0) * 1000 for r in records],
            mode="markers",
            name="requests",
        ),
        row=1,
        col=2,
    )
    figure.update_xaxes(title_text="input tokens", row=1, col=1)
    figure.update_yaxes(title_text="requests", row=1, col=1)
    figure.update_xaxes(title_text="input tokens (served)", row=1, col=2)
    figure.update_yaxes(title_text="TTFT (ms)", row=1, col=2)
    figure.update_layout(template="plotly_white", width=1000, height=420)
    figure.write_image(str(output))
    print(f"wrote {output}")


def prefixes_chart(output: Path) -> None:
    workload = SyntheticWorkload(
        600, 8, seed=7, prefixes=SharedPrefixes(count=4, length="uniform:300,450", suffixes=5)
    )
    prompts = workload.prompts()
    figure = go.Figure()
    for group in range(4):
        shown = [(n, p) for n, p in enumerate(prompts) if p.prefix == group]
        figure.add_trace(
            go.Bar(
                x=[n + 1 for n, _ in shown],
                y=[len(str(p.prefix_text).split()) for _, p in shown],
                name=f"prefix {group}",
            )
        )
    figure.add_trace(
        go.Bar(
            x=[n + 1 for n in range(len(prompts))],
            y=[p.input_length - len(str(p.prefix_text).split()) for p in prompts],
            name="own suffix",
            marker_color="lightgrey",
        )
    )
    figure.update_layout(
        barmode="stack",
        template="plotly_white",
        title="4 prefixes x 5 suffixes: every prefix once a round, 600 input tokens each",
        xaxis_title="request, in the order sent",
        yaxis_title="input tokens",
        width=1000,
        height=420,
    )
    figure.write_image(str(output))
    print(f"wrote {output}")


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES
    lengths_chart(folder / "workload-lengths.png")
    prefixes_chart(folder / "workload-prefixes.png")
