"""`llmeter-trio run`: one run from the command line, with a live progress line."""

from __future__ import annotations

import argparse
import os
import posixpath
import sys
from functools import partial
from typing import Any, Literal

import trio

from .._checks import check_number
from ..callbacks.cost import CostModel, load_prices
from ..distributed._split import worker_count
from ..endpoints import Endpoint
from ..engine import EndpointUnreachable, LiveProgress, Retry, RunInterrupted, Runner
from ..engine._payloads import normalize_payloads
from ..live import run_with_progress
from ..metrics import check_server_metrics
from ..plugins import callback_from_config, schedule_from_config
from ..results import Result
from ..run_config import RunConfig
from ..schedules import Schedule
from ..slo import parse_slos
from ..storage import display_url, os_error_reason
from ..tokenizers import Tokenizer
from ._dataset import (
    add_dataset_arguments,
    add_dataset_timestamp_arguments,
    dataset_payloads,
    use_dataset_timestamps,
)
from ._display_options import (
    add_display_arguments,
    add_ray_resource_argument,
    display_stats_from_args,
    ray_resources_from_args,
)
from ._endpoints import (
    OPTION_FLAGS,
    build_endpoint,
    flag_options,
    parse_callback,
    parse_headers,
    parse_options,
)
from ._sessions import add_session_arguments, sessions_from_args
from ._summary import format_summary
from ._workload import (
    add_tokenizer_argument,
    add_workload_arguments,
    synthetic_payloads,
    tokenizer_from_args,
)

__all__ = [
    "EXIT_BOTTLENECK",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "add_endpoint_arguments",
    "add_run_arguments",
    "cost_model_from_args",
    "endpoint_and_payloads",
    "endpoint_from_args",
    "exit_code",
    "run_and_report",
    "run_command",
]

EXIT_FAILED = 1  # every request failed, more than --max-error-rate, or storage failed
EXIT_BOTTLENECK = 3  # the load generator itself fell behind: the numbers are suspect
EXIT_INTERRUPTED = 130


def add_endpoint_arguments(parser: argparse.ArgumentParser, payloads: bool = True) -> None:
    """The endpoint and payload options, shared by `llmeter-trio run` and the experiments
    (`heatmap` makes its own payloads: ``payloads=False``)."""
    add = parser.add_argument
    add("--endpoint", required=True, help="registered endpoint type (`llmeter-trio endpoints`)")
    add(
        "--base-url",
        help="the API root, e.g. http://127.0.0.1:8000/v1 (AWS endpoints: their endpoint_url)",
    )
    add("--model", help="model id sent with each request (SageMaker: the endpoint's name)")
    add("--region", help="AWS region, for endpoints that have one (Bedrock, SageMaker)")
    add("--profile", help="AWS profile of the shared config and credentials files")
    add(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra HTTP header (repeatable; never saved when it carries credentials)",
    )
    add(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other endpoint option (JSON values allowed; repeatable)",
    )
    add_tokenizer_argument(parser)
    if not payloads:
        return
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--payload", help="JSON or JSONL file of payloads (any fsspec URL)")
    source.add_argument("--prompt", help="one prompt, made into a payload by the endpoint")
    source.add_argument(
        "--dataset",
        metavar="PATH",
        help="a dataset's rows as the payloads: ShareGPT, JSONL, CSV, Parquet or a saved "
        "Hugging Face dataset (any fsspec URL)",
    )
    add(
        "--max-tokens",
        type=int,
        default=256,
        help="output tokens asked for with --prompt, and for --dataset rows of unknown length",
    )
    add_dataset_arguments(parser)
    add_workload_arguments(parser, source)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio run`."""
    add_endpoint_arguments(parser)
    add_dataset_timestamp_arguments(parser)
    add = parser.add_argument
    add(
        "--replay",
        metavar="PATH",
        help="run again as the saved run PATH did (its run_config.json, llmeter-trio's or "
        "LLMeter's; secrets from the environment); other options change it",
    )
    parser.set_defaults(replayed=None)
    add("--clients", type=int, default=1, help="closed-loop clients (default 1)")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument(
        "--n-requests", type=int, help="requests per client (closed loop) or in all (open loop)"
    )
    bound.add_argument("--duration", type=float, help="seconds to keep sending")
    add("--timeout", type=float, default=60.0, help="deadline per request in seconds")
    add(
        "--no-preconnect",
        action="store_true",
        help="open no connections before the clock starts (measure cold starts)",
    )
    add("--output", help="run folder to write (local path or fsspec URL)")
    add(
        "--workers",
        metavar="N|auto",
        help="send the load from N worker processes on this host (auto: one per core)",
    )
    add(
        "--ray",
        metavar="ADDRESS",
        help="run the --workers as actors on the Ray cluster at ADDRESS (the `ray` extra)",
    )
    add_ray_resource_argument(parser)
    add("--seed", type=int, help="seed for payload orders and random schedules")
    add(
        "--payload-order",
        choices=("shuffle", "once"),
        help="shuffle: each client sends the payloads in its own seeded order, pass after pass "
        "(the default); once: the clients share one pass, each payload sent exactly once, in "
        "order (closed loop; no --n-requests)",
    )
    add(
        "--max-error-rate",
        type=float,
        default=None,
        help="exit 1 when a larger share of requests failed (default: only if all failed)",
    )
    schedule = parser.add_argument_group("open-loop schedule (default: closed loop)")
    schedule.add_argument(
        "--schedule", help="constant, poisson, gamma, ramp, trace, tokenrate, or a plugin's"
    )
    schedule.add_argument("--rate", type=float, help="requests per second")
    schedule.add_argument("--burstiness", type=float, help="gamma shape: 1 Poisson, <1 burstier")
    schedule.add_argument("--start-rate", type=float, help="ramp: rate at the start")
    schedule.add_argument("--end-rate", type=float, help="ramp: rate at the end")
    schedule.add_argument(
        "--ramp-duration", type=float, help="ramp: seconds to go from start to end"
    )
    schedule.add_argument("--trace", help="trace: file of arrival times")
    schedule.add_argument("--time-scale", type=float, help="trace: multiply recorded times by this")
    schedule.add_argument(
        "--requests-per-minute", type=float, help="tokenrate: the requests per minute quota"
    )
    schedule.add_argument(
        "--tokens-per-minute", type=float, help="tokenrate: the tokens per minute quota"
    )
    schedule.add_argument("--max-concurrency", type=int, help="cap on requests in flight")
    schedule.add_argument(
        "--schedule-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other schedule option",
    )
    add_session_arguments(parser)
    throttling = parser.add_argument_group("throttling and retries (docs/throttling.md)")
    throttling.add_argument(
        "--retry",
        type=int,
        metavar="N",
        help="send a throttled (429), server-error (5xx) or unconnected request again, "
        "up to N times (default: never)",
    )
    throttling.add_argument(
        "--retry-max-wait",
        type=float,
        metavar="S",
        help="longest wait before a retry, in seconds (default 60; Retry-After included)",
    )
    throttling.add_argument(
        "--ignore-retry-after",
        action="store_true",
        help="closed-loop clients do not wait as Retry-After asks (nor do retries)",
    )
    window = parser.add_argument_group("measurement window and SLOs")
    window.add_argument("--warmup-requests", type=int, help="leave the first N out of the stats")
    window.add_argument("--warmup-seconds", type=float, help="leave requests due before S out")
    window.add_argument("--cooldown-requests", type=int, help="leave the last N out (count-bound)")
    window.add_argument("--cooldown-seconds", type=float, help="leave the last S out (time-bound)")
    window.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="SLO",
        help="e.g. 'ttft_p99<=500ms' (repeatable): adds goodput and attainment",
    )
    window.add_argument("--lag-tolerance", type=float, help="seconds of lag (p99) before a warning")
    add(
        "--server-metrics",
        metavar="URL",
        help="a Prometheus page to scrape during the run, e.g. http://127.0.0.1:8000/metrics "
        "(saved as server_metrics.jsonl; its gauges summarised)",
    )
    add(
        "--server-metrics-interval",
        type=float,
        metavar="SECONDS",
        help="seconds between two scrapes of --server-metrics (default 1)",
    )
    add_display_arguments(parser)
    add(
        "--callback",
        action="append",
        default=[],
        metavar="NAME[:JSON]",
        help="a registered callback, with its options as a JSON object (repeatable)",
    )
    cost = parser.add_argument_group("cost (docs/cost.md)")
    cost.add_argument("--price-input", type=float, help="price per million input tokens")
    cost.add_argument("--price-output", type=float, help="price per million output tokens")
    cost.add_argument(
        "--prices",
        metavar="FILE|PRESET",
        help="price table (.json or .toml) or preset, e.g. openai/gpt-4o-mini; "
        "--price-input/--price-output override its prices",
    )
    cost.add_argument(
        "--max-cost", type=float, help="stop sending once the requests cost this much"
    )


_SCHEDULE_FLAGS = {
    "rate": "rate",
    "burstiness": "burstiness",
    "start_rate": "start_rate",
    "end_rate": "end_rate",
    "ramp_duration": "duration",
    "trace": "path",
    "time_scale": "time_scale",
    "requests_per_minute": "requests_per_minute",
    "tokens_per_minute": "tokens_per_minute",
    "max_concurrency": "max_concurrency",
}


def schedule_from_args(args: argparse.Namespace) -> Schedule | None:
    """The open-loop schedule the options describe, or None for a closed loop."""
    options = {
        option: getattr(args, flag)
        for flag, option in _SCHEDULE_FLAGS.items()
        if getattr(args, flag) is not None
    }
    options.update(parse_options(args.schedule_option, "--schedule-option"))
    if args.schedule is None:
        if options:
            raise ValueError(f"options {sorted(options)} need --schedule")
        return None
    return schedule_from_config({"schedule": args.schedule, **options})


def cost_model_from_args(args: argparse.Namespace) -> CostModel | None:
    """The cost model the cost options describe, or None when they give no price."""
    prices: dict[str, Any] = {} if args.prices is None else load_prices(args.prices)
    if prices.get("_type") == "CostModel" and (args.price_input or args.price_output):
        raise ValueError("--price-input/--price-output cannot change a saved CostModel (--prices)")
    for flag, key in (("--price-input", "input"), ("--price-output", "output")):
        value = getattr(args, flag[2:].replace("-", "_"))
        check_number(flag, value, at_least=0)
        if value is not None:
            prices[key] = value
    check_number("--max-cost", args.max_cost)
    if not prices:
        if args.max_cost is not None:
            raise ValueError("--max-cost needs prices: --price-input/--price-output or --prices")
        return None
    return CostModel.from_prices(prices, max_cost=args.max_cost)


def retry_from_args(args: argparse.Namespace) -> Retry | None:
    """The retry policy of ``--retry N`` (N retries: N + 1 attempts) and its options."""
    check_number("--retry", args.retry, whole=True, at_least=0)
    check_number("--retry-max-wait", args.retry_max_wait, at_least=0)
    if not args.retry:
        if args.retry_max_wait is not None:
            raise ValueError("--retry-max-wait needs --retry N")
        return None
    options: dict[str, Any] = {"max_attempts": args.retry + 1}
    if args.retry_max_wait is not None:
        options["max_wait"] = args.retry_max_wait
    if args.ignore_retry_after:
        options["respect_retry_after"] = False
    return Retry(**options)


def exit_code(result: Result, max_error_rate: float | None) -> int:
    """0 for a sound run; otherwise why not, explained on stderr."""
    rate = result.stats["failed_requests_rate"]
    if result.total_requests and rate == 1.0:
        print("every request failed", file=sys.stderr)
        return EXIT_FAILED
    if max_error_rate is not None and rate > max_error_rate:
        print(
            f"error rate {rate:.1%} is above --max-error-rate {max_error_rate:.1%}", file=sys.stderr
        )
        return EXIT_FAILED
    if result.generator.get("bottleneck"):
        print("the load generator was a bottleneck: see the warnings above", file=sys.stderr)
        return EXIT_BOTTLENECK
    return 0


async def run_and_report(
    runner: Runner,
    run_options: dict[str, Any],
    *,
    max_error_rate: float | None = None,
    show_progress: bool = True,
) -> int:
    """Run with a live display on stderr (unless not `show_progress`), print the summary;
    return the exit code."""
    progress = LiveProgress()
    run = partial(runner.run, **run_options, progress=progress, show_progress=False)
    try:
        result = await (run_with_progress(run, progress) if show_progress else run())
    except RunInterrupted as stopped:
        _report(stopped.result)
        return EXIT_INTERRUPTED
    except EndpointUnreachable as unreachable:
        saved = unreachable.result.output_path
        where = (
            f"; {display_url(str(saved))} keeps its {progress.finished} records" if saved else ""
        )
        print(f"llmeter-trio run: error: {unreachable}{where}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # storage failed during the run: it stopped, and says so in one line
        if progress.started == 0:
            raise  # refused before any request (a folder in use, no trace file): a usage error
        folder = "the run folder"
        if runner.output_path is not None and run_options.get("run_name") is not None:
            folder = display_url(
                posixpath.join(os.fspath(runner.output_path), run_options["run_name"])
            )
        print(
            f"llmeter-trio run: error: storage failed ({os_error_reason(exc)}) after "
            f"{progress.finished} requests; {folder} keeps what was saved so far "
            "(it loads as interrupted)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    _report(result)
    return exit_code(result, max_error_rate)


def _report(result: Result) -> None:
    print(format_summary(result))
    if result.output_path:
        print(f"\nresults: {result.output_path}  (load with Result.load({result.output_path!r}))")


def split_output(output: str | None) -> tuple[str | None, str | None]:
    """A run folder path as (parent, run name)."""
    if output is None:
        return None, None
    parent, name = posixpath.split(output.rstrip("/"))
    return parent or ".", name


def endpoint_and_payloads(
    args: argparse.Namespace, tokenizer: Tokenizer | None = None
) -> tuple[Endpoint, list[dict[str, Any]]]:
    """The endpoint and payloads that `add_endpoint_arguments`' options describe
    (synthetic prompts are sized under `tokenizer`, the run's)."""
    endpoint = endpoint_from_args(args)
    replayed: RunConfig | None = getattr(args, "replayed", None)
    synthetic = synthetic_payloads(args, endpoint, tokenizer)
    if synthetic is not None:
        return endpoint, synthetic
    if args.payload:
        return endpoint, normalize_payloads(args.payload)
    if args.prompt is not None:
        return endpoint, [endpoint.create_payload(args.prompt, max_tokens=args.max_tokens)]
    if args.dataset is not None:
        return endpoint, dataset_payloads(args, endpoint, tokenizer)
    if replayed is not None and replayed.payload:
        return endpoint, list(replayed.payload)
    raise ValueError("--payload, --prompt, --dataset or --input-length is required")


def endpoint_from_args(args: argparse.Namespace) -> Endpoint:
    """The endpoint that `add_endpoint_arguments`' options describe (or --replay saved)."""
    options = parse_options(args.option)
    if args.header:
        options["extra_headers"] = parse_headers(args.header)
    if hasattr(args, "max_tokens"):
        check_number("--max-tokens", args.max_tokens, whole=True)
    # an empty --base-url is refused by the endpoint, never taken for the default
    flags = {flag: getattr(args, flag[2:].replace("-", "_")) for flag in OPTION_FLAGS}
    replayed: RunConfig | None = getattr(args, "replayed", None)
    endpoint: Endpoint
    if args.endpoint is not None:
        endpoint = build_endpoint(args.endpoint, options, flags)
    elif replayed is not None:  # the saved endpoint, with the line's --option and flags
        endpoint = Endpoint.load(replayed.endpoint_config)
        changed = {**options, **flag_options(type(endpoint), flags)}
        if changed:
            endpoint = Endpoint.load({**endpoint.to_dict(), **changed})
    else:
        raise ValueError("--endpoint is required (or --replay PATH)")
    return endpoint


def workers_from_arg(text: str | None) -> int | Literal["auto"] | None:
    """``--workers``: a number of processes, or "auto"."""
    if text is None:
        return None
    if text == "auto":
        return "auto"
    try:
        return worker_count(int(text))
    except ValueError:
        raise ValueError(f"--workers must be a whole number >= 1 or 'auto', not {text!r}") from None


def run_command(args: argparse.Namespace) -> int:
    """`llmeter-trio run`."""
    check_number("--max-error-rate", args.max_error_rate, at_least=0, at_most=1)
    tokenizer = tokenizer_from_args(args)
    endpoint, payloads = endpoint_and_payloads(args, tokenizer)
    use_dataset_timestamps(args)
    schedule = schedule_from_args(args)
    parse_slos(args.slo)  # a bad SLO is a usage error, before anything runs
    if args.server_metrics is not None or args.server_metrics_interval is not None:
        if args.server_metrics is None:
            raise ValueError("--server-metrics-interval needs --server-metrics URL")
        check_server_metrics(args.server_metrics, args.server_metrics_interval)
    callbacks = [callback_from_config(parse_callback(text)) for text in args.callback]
    cost_model = cost_model_from_args(args)
    if cost_model is not None:
        callbacks.append(cost_model)
    retry = retry_from_args(args)
    sessions = sessions_from_args(args)
    parent, run_name = split_output(args.output)
    runner = Runner(
        endpoint, output_path=parent, seed=args.seed, callbacks=callbacks, tokenizer=tokenizer
    )
    run_options: dict[str, Any] = {
        "payload": payloads,
        "clients": args.clients,
        "n_requests": args.n_requests,
        "run_duration": args.duration,
        "timeout": args.timeout,
        "run_name": run_name,
        "schedule": schedule,
        "warmup_requests": args.warmup_requests,
        "warmup_seconds": args.warmup_seconds,
        "cooldown_requests": args.cooldown_requests,
        "cooldown_seconds": args.cooldown_seconds,
        "slos": args.slo or None,
        "lag_tolerance": args.lag_tolerance,
        "preconnect": False if args.no_preconnect else None,
        "server_metrics": args.server_metrics,
        "server_metrics_interval": args.server_metrics_interval,
        "workers": workers_from_arg(args.workers),
        "ray_address": args.ray,
        "ray_resources": ray_resources_from_args(args),
        "progress_bar_stats": display_stats_from_args(args.stat),
        "retry": retry,
        "respect_retry_after": False if args.ignore_retry_after else None,
        "payload_order": args.payload_order,
        "sessions": sessions,
    }
    if args.replayed is not None:  # what the replayed run set that has no flag
        saved: RunConfig = args.replayed
        if args.payload_order is None:
            run_options["payload_order"] = saved.payload_order
        run_options.update(
            percentile_method=saved.percentile_method,
            rate_tolerance=saved.rate_tolerance,
            drain_timeout=saved.drain_timeout,
        )
    return trio.run(
        partial(
            run_and_report,
            runner,
            run_options,
            max_error_rate=args.max_error_rate,
            show_progress=not args.no_progress,
        )
    )
