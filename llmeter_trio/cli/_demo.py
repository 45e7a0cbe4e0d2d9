"""`llmeter-trio demo`: a short load test against the built-in simulated server.

The simulated server speaks every API the endpoints do; ``--api`` picks the one
the demo's endpoint uses. Each API's endpoint gets the server's address through
the option `--base-url` sets (`Endpoint.base_url_option`) and its model through
the one `--model` sets, as at the command line; credentials are made-up ones,
so the demo never sends the caller's real keys, even to 127.0.0.1.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

import attrs
import trio

from ..endpoints import Endpoint
from ..engine import Runner
from ..plugins import PLUGINS_ENV_VAR, endpoint_types
from ..sim import SimConfig, simulated_server
from ._run import run_and_report, split_output

__all__ = ["DEMO_APIS", "DemoApi", "add_demo_arguments", "demo_command"]

DEMO_PROMPTS = [
    "Explain what time to first token measures and why it matters for chat applications.",
    "Write a short poem about load testing at three in the morning.",
    "List three reasons an LLM endpoint might slow down under heavy concurrency.",
    "Summarise the difference between open-loop and closed-loop load generation.",
]
OUTPUT_TOKENS = 48
_AWS_PLUGIN = "pip install ./plugins/llmeter-trio-aws"
_MADE_UP_AWS_KEYS = {"aws_access_key_id": "AKIDDEMO", "aws_secret_access_key": "demo-not-a-secret"}


@attrs.frozen
class DemoApi:
    """How the demo reaches the simulated server through one API."""

    title: str  # what the server is, as the demo says it
    model: str  # the value of the endpoint's model option (SageMaker: its endpoint's name)
    path: str = ""  # added to the server's origin: "/v1" for the OpenAI APIs
    options: dict[str, Any] = attrs.field(factory=dict)  # the endpoint's other options
    plugin: str | None = None  # how to install the plugin providing it, if not built in


DEMO_APIS = {
    "openai-chat": DemoApi(
        "OpenAI-compatible", "sim-model", "/v1", {"api_key_env": "LLMETER_TRIO_DEMO_KEY"}
    ),
    "anthropic-messages": DemoApi(
        "Anthropic Messages", "claude-sim", options={"api_key": "demo-not-a-secret"}
    ),
    "bedrock-converse": DemoApi(
        "Amazon Bedrock (Converse)",
        "anthropic.claude-3-haiku-20240307-v1:0",
        options={"region": "us-east-1", **_MADE_UP_AWS_KEYS},
        plugin=_AWS_PLUGIN,
    ),
    "sagemaker": DemoApi(
        "SageMaker (a TGI container)",
        "demo-tgi-endpoint",
        options={"region": "us-east-1", **_MADE_UP_AWS_KEYS},
        plugin=_AWS_PLUGIN,
    ),
}


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio demo`."""
    parser.add_argument(
        "--api",
        choices=list(DEMO_APIS),
        default="openai-chat",
        help="the API the simulated server is measured through (default openai-chat; "
        "bedrock-converse and sagemaker need the AWS plugin)",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--n-requests", type=int, default=10, help="requests per client (default 10)"
    )
    parser.add_argument("--output", help="run folder (default outputs/demo-DATE-TIME)")


def _endpoint_type(name: str) -> type[Endpoint]:
    """The endpoint class of the API `name`, or a ValueError saying how to install it."""
    cls = endpoint_types().get(name)
    if cls is None:  # a plugin's endpoint: not installed, or not allowed
        raise ValueError(
            f"--api {name} needs its plugin: {DEMO_APIS[name].plugin} "
            f"(and, if {PLUGINS_ENV_VAR} is set, name it there)"
        )
    return cls


async def _demo_run(args: argparse.Namespace, cls: type[Endpoint], output: str) -> int:
    api = DEMO_APIS[args.api]
    sim = SimConfig(
        ttft_base=0.15, ttft_per_input_token=0.002, itl=0.02, tokens_per_chunk=2,
        output_tokens=OUTPUT_TOKENS,
    )  # fmt: skip
    async with simulated_server(sim) as base_url:
        url = base_url.removesuffix("/v1") + api.path
        print(f"simulated {api.title} server at {url}")
        print("  its truth: TTFT 150 ms + 2 ms per input token, 20 ms per output token")
        endpoint = cls.from_config(
            {cls.base_url_option: url, cls.model_option: api.model, **api.options}
        )
        payloads = [endpoint.create_payload(p, max_tokens=OUTPUT_TOKENS) for p in DEMO_PROMPTS]
        parent, run_name = split_output(output)
        runner = Runner(endpoint, output_path=parent)
        options = {"payload": payloads, "clients": args.clients, "n_requests": args.n_requests,
                   "timeout": 30.0, "run_name": run_name}  # fmt: skip
        return await run_and_report(runner, options)


def demo_command(args: argparse.Namespace) -> int:
    """`llmeter-trio demo`."""
    cls = _endpoint_type(args.api)
    output = args.output or f"outputs/demo-{datetime.now():%Y%m%d-%H%M%S}"
    return trio.run(_demo_run, args, cls, output)
