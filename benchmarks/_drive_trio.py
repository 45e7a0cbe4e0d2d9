"""Child process of `http_clients`: llmeter-trio's Runner streaming from the openai-chat endpoint.

``python -m benchmarks._drive_trio URL --clients N (--duration S | --requests N)
[--transport lean|httpx] [--skip N]`` runs one warm-up pass, then the measured
run, and prints one JSON line: requests, failures, wall and CPU seconds, time
to last token percentiles (successful requests, leaving out the first `--skip`
sent), and the client's lag: how late a task sleeping 10 ms at a time wakes up,
which is how late the client notices anything (a chunk arriving, say) while it
is busy. Nothing else runs in this process, so its CPU time is the client's.
"""

from __future__ import annotations

import argparse
import json
import time

import trio

from llmeter_trio import Runner
from llmeter_trio.endpoints.openai import OpenAIChatEndpoint

from ._stats import LAG_INTERVAL, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the server's base URL, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--clients", type=int, required=True)
    bound = parser.add_mutually_exclusive_group(required=True)
    bound.add_argument("--duration", type=float, help="seconds each client sends for")
    bound.add_argument("--requests", type=int, help="requests per client")
    parser.add_argument("--transport", choices=("lean", "httpx"), default="lean")
    parser.add_argument("--max-tokens", type=int, default=10)
    parser.add_argument("--skip", type=int, default=0, help="first requests left out of TTLT")
    args = parser.parse_args()
    endpoint = OpenAIChatEndpoint(
        base_url=args.url, model_id="sim-model", api_key="sim", http_transport=args.transport
    )
    payload = OpenAIChatEndpoint.create_payload("Say ten words.", max_tokens=args.max_tokens)

    async def sample_lag(lags: list[float]) -> None:
        while True:
            before = time.perf_counter()
            await trio.sleep(LAG_INTERVAL)
            lags.append(max(0.0, time.perf_counter() - before - LAG_INTERVAL))

    async def measure() -> dict[str, object]:
        runner = Runner(endpoint, seed=0, timeout=120)
        await runner.run(payload=payload, clients=args.clients, n_requests=2)  # warm-up
        lags: list[float] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sample_lag, lags)
            wall, cpu = time.perf_counter(), time.process_time()
            result = await runner.run(
                payload=payload, clients=args.clients, n_requests=args.requests,
                run_duration=args.duration,
            )  # fmt: skip
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            nursery.cancel_scope.cancel()
        records = sorted(result.responses, key=lambda r: r.send_time or 0.0)
        errors = [r.error for r in records if r.failed]
        ttlt = [
            r.time_to_last_token
            for r in records[args.skip :]
            if not r.failed and r.time_to_last_token is not None
        ]
        return report(len(records), errors, ttlt, wall, cpu, lags)

    print(json.dumps(trio.run(measure)), flush=True)


if __name__ == "__main__":
    main()
