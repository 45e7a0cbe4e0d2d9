"""`serve_sim`: run the simulated server from a shell until Ctrl-C or SIGTERM.

``--engine h11`` (the default) serves with the lean built-in HTTP/1.1 server,
``--engine hypercorn`` with hypercorn (the ``sim-hypercorn`` extra). With
``--workers N`` (N > 1) the parent binds the port once and N processes accept
on that one socket, each with its own event loop and its own `SimApp`; the
concurrency limit and the random draws are then per worker.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from functools import partial
from types import FrameType
from typing import Any

import trio

from ._app import SimApp
from ._model import Faults, Jitter, SimConfig
from ._server import DEFAULT_ENGINE, ENGINES, Engine, _bind, check_engine, serve_app

__all__ = ["build_parser", "config_from_args", "parse_args", "serve_sim"]

_JITTER_KINDS = ("none", "uniform", "normal", "lognormal")


def _jitter(text: str) -> Jitter:
    kind, _, scale = text.partition(":")
    if kind not in _JITTER_KINDS:
        raise argparse.ArgumentTypeError(f"jitter kind must be one of {', '.join(_JITTER_KINDS)}")
    try:
        return Jitter(kind=kind, scale=float(scale or 0.0))  # type: ignore[arg-type]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _codes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(code) for code in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected status codes like 500,503") from None


def build_parser(prog: str = "llmeter-trio serve-sim") -> argparse.ArgumentParser:
    """The command line options of `serve_sim`."""
    d = SimConfig()
    f = d.faults
    p = argparse.ArgumentParser(
        prog=prog,
        description="Serve a simulated OpenAI-compatible LLM API with known latencies.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = p.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on")
    add("--port", type=int, default=8000, help="port (0 picks a free one)")
    add("--workers", type=int, default=1, help="server processes sharing the port")
    add("--model", default=d.model, help="model name listed and used by default")
    add("--config", metavar="FILE.toml",
        help="options from a TOML file (keys: the long options, e.g. ttft = 0.2); "
        "flags on the line win")  # fmt: skip
    g = p.add_argument_group("latency model (seconds)")
    add = g.add_argument
    add("--ttft", type=float, default=d.ttft_base, help="time to first token, base")
    add("--ttft-per-input-token", type=float, default=d.ttft_per_input_token)
    add("--ttft-jitter", type=_jitter, default=d.ttft_jitter, metavar="KIND[:SCALE]",
        help=f"jitter of the TTFT: one of {', '.join(_JITTER_KINDS)}")  # fmt: skip
    add("--itl", type=float, default=d.itl, help="inter-token latency")
    add("--itl-jitter", type=_jitter, default=d.itl_jitter, metavar="KIND[:SCALE]",
        help="jitter of each inter-token gap, e.g. normal:0.002")  # fmt: skip
    add("--tokens-per-chunk", type=int, default=d.tokens_per_chunk)
    add("--output-tokens", type=int, default=d.output_tokens,
        help="output length when the request sets no max_tokens")  # fmt: skip
    add("--reasoning-tokens", type=int, default=d.reasoning_tokens)
    add("--max-concurrency", type=int, default=None,
        help="requests served at once (per worker); others queue FIFO")  # fmt: skip
    add("--responses-reasoning", choices=("summary", "text"), default=d.responses_reasoning)
    add("--seed", type=int, default=d.seed)
    g = p.add_argument_group("prefix cache (cached leading blocks make the TTFT shorter)")
    add = g.add_argument
    add("--prefix-cache", action="store_true",
        help="remember prompts' leading blocks; cached tokens in every API's usage")  # fmt: skip
    add("--prefix-cache-block", type=int, default=d.prefix_cache_block,
        help="tokens (words) per cached block")  # fmt: skip
    add("--prefix-cache-blocks", type=int, default=d.prefix_cache_blocks,
        help="blocks the cache holds (per worker); the least recently used go first")  # fmt: skip
    add("--cached-prefill-share", type=float, default=d.cached_prefill_share,
        help="share of --ttft-per-input-token a cached token still costs (0: free)")  # fmt: skip
    g = p.add_argument_group("faults (rates are probabilities per request)")
    add = g.add_argument
    add("--rate-429", type=float, default=f.throttle_rate)
    add("--retry-after", type=float, default=f.retry_after)
    add("--rate-5xx", type=float, default=f.server_error_rate)
    add("--server-error-codes", type=_codes, default=f.server_error_codes, metavar="CODES")
    add("--rate-drop", type=float, default=f.drop_rate)
    add("--drop-after-chunks", type=int, default=f.drop_after_chunks)
    add("--rate-stall", type=float, default=f.stall_rate)
    add("--stall-duration", type=float, default=f.stall_duration)
    add("--stall-after-chunks", type=int, default=f.stall_after_chunks)
    g = p.add_argument_group("quota (a token bucket per budget, as managed APIs throttle)")
    add = g.add_argument
    add("--rpm", "--requests-per-minute", dest="requests_per_minute", type=float, default=None,
        help="requests per minute; beyond it, 429 with Retry-After")  # fmt: skip
    add("--tpm", "--tokens-per-minute", dest="tokens_per_minute", type=float, default=None,
        help="tokens (input + output) per minute; beyond it, 429 with Retry-After")  # fmt: skip
    g = p.add_argument_group("server")
    g.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                   help="HTTP server: the lean built-in one (h11) or hypercorn")  # fmt: skip
    g.add_argument("--graceful-timeout", type=float, default=2.0,
                   help="seconds in-flight requests get to finish on shutdown")  # fmt: skip
    g.add_argument("--log-level", default="WARNING")
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse `argv`, filling what the line leaves out from ``--config FILE.toml`` (the keys and
    values of every other command's ``--config``); raises ValueError for a bad file."""
    parser = build_parser()
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--config")
    given, _ = first.parse_known_args(argv)
    if given.config:
        from ..cli._config import read_config

        try:
            parser.set_defaults(**read_config(given.config, parser))
        except argparse.ArgumentTypeError as exc:  # a --ttft-jitter or --server-error-codes
            raise ValueError(f"--config {given.config}: {exc}") from None
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The `SimConfig` that parsed options describe (raises ValueError when invalid)."""
    faults = Faults(
        throttle_rate=args.rate_429,
        retry_after=args.retry_after,
        server_error_rate=args.rate_5xx,
        server_error_codes=args.server_error_codes,
        drop_rate=args.rate_drop,
        drop_after_chunks=args.drop_after_chunks,
        stall_rate=args.rate_stall,
        stall_duration=args.stall_duration,
        stall_after_chunks=args.stall_after_chunks,
        requests_per_minute=args.requests_per_minute,
        tokens_per_minute=args.tokens_per_minute,
    )
    return SimConfig(
        model=args.model,
        ttft_base=args.ttft,
        ttft_per_input_token=args.ttft_per_input_token,
        ttft_jitter=args.ttft_jitter,
        itl=args.itl,
        itl_jitter=args.itl_jitter,
        tokens_per_chunk=args.tokens_per_chunk,
        output_tokens=args.output_tokens,
        reasoning_tokens=args.reasoning_tokens,
        max_concurrency=args.max_concurrency,
        faults=faults,
        seed=args.seed,
        responses_reasoning=args.responses_reasoning,
        prefix_cache=args.prefix_cache,
        prefix_cache_block=args.prefix_cache_block,
        prefix_cache_blocks=args.prefix_cache_blocks,
        cached_prefill_share=args.cached_prefill_share,
    )


def _announce(url: str, workers: int) -> None:
    suffix = f" ({workers} workers)" if workers > 1 else ""
    print(f"llmeter-trio simulated server on {url}/v1{suffix}", flush=True)


async def _serve_until_signal(
    config: SimConfig,
    bind: str,
    worker: int,
    graceful_timeout: float,
    announce: bool,
    engine: Engine = DEFAULT_ENGINE,
    parent_sentinel: int | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, or until the parent process (if any) is gone."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def stop() -> None:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_on_signal, signals, nursery.cancel_scope)
                if parent_sentinel is not None:
                    nursery.start_soon(_on_orphaned, parent_sentinel, nursery.cancel_scope)

        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                partial(
                    serve_app,
                    SimApp(config, worker=worker),
                    bind,
                    shutdown_trigger=stop,
                    graceful_timeout=graceful_timeout,
                    engine=engine,
                )
            )
            if announce:
                _announce(url, 1)


async def _on_signal(signals: AsyncIterator[int], cancel_scope: trio.CancelScope) -> None:
    async for _ in signals:
        break
    cancel_scope.cancel()


async def _on_orphaned(parent_sentinel: int, cancel_scope: trio.CancelScope) -> None:
    await trio.to_thread.run_sync(
        multiprocessing.connection.wait, [parent_sentinel], abandon_on_cancel=True
    )
    cancel_scope.cancel()


def _worker_main(
    config: SimConfig,
    sock: socket.socket,
    worker: int,
    graceful_timeout: float,
    log_level: str,
    engine: Engine = DEFAULT_ENGINE,
) -> None:
    logging.basicConfig(level=log_level.upper())
    bind = f"fd://{sock.detach()}"
    parent = multiprocessing.parent_process()
    sentinel = parent.sentinel if parent is not None else None
    trio.run(_serve_until_signal, config, bind, worker, graceful_timeout, False, engine, sentinel)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _serve_workers(config: SimConfig, args: argparse.Namespace) -> int:
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.create_server((args.host, args.port), family=family, backlog=4096)
    port = sock.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    procs: list[Any] = [
        context.Process(
            target=_worker_main,
            args=(config, sock, i, args.graceful_timeout, args.log_level, args.engine),
            name=f"llmeter-trio-sim-{i}",
            daemon=True,
        )
        for i in range(args.workers)
    ]
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    status = 0
    try:
        for proc in procs:
            proc.start()
        sock.close()
        _announce(f"http://{_bind(args.host, port)}", args.workers)
        multiprocessing.connection.wait([proc.sentinel for proc in procs])
        status = 1  # a worker ended on its own
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: the worker shuts down gracefully
        for proc in procs:
            if proc.pid is not None:
                proc.join(args.graceful_timeout + 5.0)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
    return status


def serve_sim(argv: Sequence[str] | None = None) -> int:
    """Serve the simulated OpenAI-compatible server until interrupted; the exit status.

    Prints ``llmeter-trio simulated server on http://HOST:PORT/v1`` once listening.
    """
    parser = build_parser()
    try:
        args = parse_args(argv)
    except (ValueError, FileNotFoundError) as exc:  # a bad --config file: one line
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        check_engine(args.engine)
    except ValueError as exc:  # an engine that is not installed: one line, no usage text
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper())
    if args.workers > 1:
        return _serve_workers(config, args)
    bind = _bind(args.host, args.port)
    try:
        trio.run(_serve_until_signal, config, bind, 0, args.graceful_timeout, True, args.engine)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
