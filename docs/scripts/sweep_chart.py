"""Draws docs/images/sweep.png: a rate sweep against an endpoint of fixed capacity.

The endpoint serves 2 requests at a time, 0.25 s each: 8 requests/s. Runs in
virtual time: `python docs/scripts/sweep_chart.py`.
"""

from __future__ import annotations

import trio
import trio.testing
from _chart_file import chart_path, write_chart

from llmeter_trio import FakeEndpoint
from llmeter_trio.experiments import Sweep


def main(output: str) -> None:
    sweep = Sweep(
        FakeEndpoint(
            time_to_first_token=0.125, inter_token_latency=0.125, output_tokens=2, max_concurrency=2
        ),
        {"prompt": "x"}, slos=["ttft_p99<=200ms"], start=1, max_load=32,
        requests_per_step=80, schedule="constant", test_name="capacity 8 req/s",
    )  # fmt: skip
    result = trio.run(sweep.run, clock=trio.testing.MockClock(autojump_threshold=0))
    print(result.summary())
    figure = result.plot()["latency_vs_load"]
    figure.update_layout(width=900, height=450)
    write_chart(figure, output)


if __name__ == "__main__":
    main(chart_path("sweep.png"))
