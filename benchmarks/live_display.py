"""What the live display costs: its CPU against the run's, in one process.

The same time-bound run (an in-process `FakeEndpoint`, many clients) goes
without a display and with the rich display on a fake terminal showing
LLMeter's default statistics, alternately, a few times. Reported: the CPU
of each run (medians), the display's own CPU (the time spent drawing,
measured around each redraw) and its share of the run's CPU, which should
stay under 2%; and the extra CPU of the runs with a display, a ratio that
also holds what drawing costs outside the redraws (and the machine's noise).

    python -m benchmarks.live_display [--quick]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from typing import Any

import trio
from rich.console import Console

from llmeter_trio import FakeEndpoint, LiveProgress, Runner, live
from llmeter_trio.live import DEFAULT_DISPLAY_STATS, run_with_progress

ENDPOINT = FakeEndpoint(time_to_first_token=0.005, inter_token_latency=0.001, output_tokens=20)
PAYLOAD = {"prompt": "a short prompt of some words"}
LIMIT = 0.02  # the display's CPU, as a share of the run's


class DrawClock:
    """CPU seconds spent in the display's redraws (statistics lines and screen)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.redraws = 0

    def wrap(self, owner: Any, name: str, count: bool) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.thread_time() - began
                self.redraws += count

        setattr(owner, name, timed)


async def one_run(duration: float, clients: int, shown: bool) -> int:
    runner = Runner(ENDPOINT, seed=0, show_progress=False)
    progress = LiveProgress()

    async def run() -> int:
        result = await runner.run(
            payload=PAYLOAD,
            clients=clients,
            run_duration=duration,
            progress=progress,
            progress_bar_stats=DEFAULT_DISPLAY_STATS,
        )
        return result.total_requests

    if not shown:
        return await run()
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    return await run_with_progress(run, progress, console=console, label="level 1/1: 64 clients")


def measure(duration: float, clients: int, shown: bool) -> tuple[float, int]:
    """(CPU seconds, requests) of one run."""
    cpu = time.process_time()
    requests = trio.run(one_run, duration, clients, shown)
    return time.process_time() - cpu, requests


def main(quick: bool = False) -> float:
    """Print the figures; return the display's share of the run's CPU."""
    duration, rounds, clients = (2.0, 2, 64) if quick else (5.0, 3, 64)
    clock = DrawClock()
    clock.wrap(live._StatsLines, "get", count=False)
    clock.wrap(live._RichScreen, "draw", count=True)
    bare, shown, requests = [], [], []
    for _ in range(rounds):  # alternately, so the machine's load weighs on both alike
        cpu, _n = measure(duration, clients, shown=False)
        bare.append(cpu)
        cpu, n = measure(duration, clients, shown=True)
        shown.append(cpu)
        requests.append(n)
    bare_cpu, shown_cpu = statistics.median(bare), statistics.median(shown)
    draw_cpu = clock.seconds / rounds
    share = draw_cpu / shown_cpu
    print(f"live display: {rounds} x {duration:g} s runs, {clients} clients, "
          f"{statistics.median(requests):,.0f} requests each")  # fmt: skip
    print(f"  run CPU without display  {bare_cpu:8.3f} s (median)")
    print(f"  run CPU with display     {shown_cpu:8.3f} s (median)")
    print(f"  display's redraws        {clock.redraws / rounds:8.0f} per run, "
          f"{draw_cpu * 1000:8.1f} ms CPU per run")  # fmt: skip
    print(f"  display / run CPU        {share:8.2%}  (limit {LIMIT:.0%})")
    print(f"  with / without display   {shown_cpu / bare_cpu:8.3f}  (noise included)")
    return share


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    main(quick=parser.parse_args().quick)
