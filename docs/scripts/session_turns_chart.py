"""Draws docs/images/sessions-ttft-by-turn.png: time to first token by turn of a conversation.

Eight clients hold 6-turn conversations with the simulated server, whose time to first
token grows by 1 ms per input token (``ttft_per_input_token``): each turn sends the history
with the real answers, so its first token comes later. Runs in virtual time:
`python docs/scripts/session_turns_chart.py`.
"""

from __future__ import annotations

import trio
import trio.testing
from _chart_file import chart_path, write_chart

from llmeter_trio import Result, Runner
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.plotting import ttft_by_turn_fig
from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.workloads import Sessions

SIM = SimConfig(ttft_base=0.05, ttft_per_input_token=0.001, itl=0.01, output_tokens=120)


async def measure() -> Result:
    async with simulated_server(SIM) as url:
        endpoint = OpenAIChatEndpoint(base_url=url, model_id="sim-model", api_key="sim")
        sessions = Sessions(turns=6, think_time="lognormal:3,0.5")
        return await Runner(endpoint, seed=0).run(
            payload=endpoint.create_payload("Summarize the plot of Hamlet. " * 10, None),
            clients=8,
            n_requests=4,
            sessions=sessions,
            show_progress=False,
        )


def main(output: str) -> None:
    result = trio.run(measure, clock=trio.testing.MockClock(autojump_threshold=0))
    figure = ttft_by_turn_fig(result)
    figure.update_layout(
        title="Time to first token by turn: 6-turn conversations, the sim's prefill 1 ms/token",
        width=900,
        height=450,
    )
    write_chart(figure, output)


if __name__ == "__main__":
    main(chart_path("sessions-ttft-by-turn.png"))
