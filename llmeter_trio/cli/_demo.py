"""`llmeter-trio demo`: a short load test against the built-in simulated server."""

from __future__ import annotations

import argparse
from datetime import datetime

import trio

from ..engine import Runner
from ..plugins import get_endpoint_type
from ..sim import SimConfig, simulated_server
from ._run import run_and_report, split_output

__all__ = ["add_demo_arguments", "demo_command"]

DEMO_PROMPTS = [
    "Explain what time to first token measures and why it matters for chat applications.",
    "Write a short poem about load testing at three in the morning.",
    "List three reasons an LLM endpoint might slow down under heavy concurrency.",
    "Summarise the difference between open-loop and closed-loop load generation.",
]


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio demo`."""
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--n-requests", type=int, default=10, help="requests per client (default 10)"
    )
    parser.add_argument("--output", help="run folder (default outputs/demo-DATE-TIME)")


async def _demo_run(args: argparse.Namespace, output: str) -> int:
    sim = SimConfig(
        ttft_base=0.15, ttft_per_input_token=0.002, itl=0.02, tokens_per_chunk=2, output_tokens=48
    )
    async with simulated_server(sim) as base_url:
        print(f"simulated OpenAI-compatible server at {base_url}")
        print("  its truth: TTFT 150 ms + 2 ms per input token, 20 ms per output token")
        endpoint = get_endpoint_type("openai-chat").from_config(
            {"base_url": base_url, "model_id": sim.model, "api_key_env": "LLMETER_TRIO_DEMO_KEY"}
        )
        payloads = [endpoint.create_payload(p, max_tokens=48) for p in DEMO_PROMPTS]
        parent, run_name = split_output(output)
        runner = Runner(endpoint, output_path=parent)
        options = {"payload": payloads, "clients": args.clients, "n_requests": args.n_requests,
                   "timeout": 30.0, "run_name": run_name}  # fmt: skip
        return await run_and_report(runner, options)


def demo_command(args: argparse.Namespace) -> int:
    """`llmeter-trio demo`."""
    output = args.output or f"outputs/demo-{datetime.now():%Y%m%d-%H%M%S}"
    return trio.run(_demo_run, args, output)
