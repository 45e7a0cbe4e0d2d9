"""Draws docs/images/coordinated-omission.png: latency from send vs from intended time.

A server that stalls for two seconds, measured on a 10 req/s schedule with one
request in flight at a time (as a closed-loop client would). Runs in virtual
time: `python docs/scripts/coordinated_omission.py`.
"""

from __future__ import annotations

from typing import Any

import attrs
import plotly.graph_objects as go
import trio
import trio.testing
from _chart_file import chart_path, write_chart

from llmeter_trio import FakeEndpoint, InvocationResponse, Result, Runner
from llmeter_trio.schedules import ConstantRate

STALL = (2.0, 4.0)


@attrs.define
class StallingEndpoint(FakeEndpoint):
    """Answers in 50 ms, except that nothing is answered between 2 s and 4 s."""

    started: float = 0.0

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        now = trio.current_time() - self.started
        if STALL[0] <= now < STALL[1]:
            payload = {**payload, "fake": {"time_to_first_token": STALL[1] - now + 0.05}}
        return await super().invoke(payload)


async def measure() -> Result:
    endpoint = StallingEndpoint(time_to_first_token=0.05, output_tokens=1)
    endpoint.started = trio.current_time()
    schedule = ConstantRate(rate=10, max_concurrency=1)
    return await Runner(endpoint, seed=0).run(
        payload={"prompt": "x"}, schedule=schedule, n_requests=60
    )


def main(output: str) -> None:
    result = trio.run(measure, clock=trio.testing.MockClock(autojump_threshold=0))
    records = sorted(result.responses, key=lambda r: r.intended_send_time or 0)
    due = [r.intended_send_time for r in records]
    from_send = [r.time_to_last_token for r in records]
    from_intended = [
        (r.time_to_last_token or 0) + (r.send_time or 0) - (r.intended_send_time or 0)
        for r in records
    ]
    stats = result.stats
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=due, y=from_intended, mode="markers", name="from the intended time")
    )
    figure.add_trace(go.Scatter(x=due, y=from_send, mode="markers", name="from the send time"))
    figure.add_vrect(x0=STALL[0], x1=STALL[1], fillcolor="grey", opacity=0.15, line_width=0,
                     annotation_text="server stalls", annotation_position="top left")  # fmt: skip
    figure.update_layout(
        title=(
            "One 2 s stall at 10 req/s: p90 latency "
            f"{stats['time_to_last_token-p90']:.2f} s from send, "
            f"{stats['time_to_last_token_from_intended-p90']:.2f} s from intended"
        ),
        xaxis_title="when the request was due (s)",
        yaxis_title="latency (s)",
        template="plotly_white",
        width=900,
        height=450,
    )
    write_chart(figure, output)


if __name__ == "__main__":
    main(chart_path("coordinated-omission.png"))
