"""Child process of `http_clients`: LLMeter's Runner with its OpenAI chat streaming endpoint.

Run with the Python of a virtualenv that has ``llmeter[openai]`` (never the
project's): ``python benchmarks/_drive_llmeter.py URL --clients N (--duration S
| --requests N)``. It mirrors `_drive_trio`: one warm-up pass, the measured
run, and one JSON line with the same fields. LLMeter's clients are threads,
so its lag is sampled by a thread sleeping 10 ms at a time: how late it wakes
is how long a thread waits for the GIL while the others work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import threading
import time

os.environ["LLMETER_DISABLE_ALL_PROGRESS_BARS"] = "1"  # read when llmeter is imported

from _stats import LAG_INTERVAL, report  # this script's folder is on sys.path
from llmeter.endpoints.openai import OpenAICompletionStreamEndpoint
from llmeter.runner import Runner


def _sent(record: object) -> float:
    sent = getattr(record, "request_time", None)
    return sent.timestamp() if sent is not None else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, required=True)
    bound = parser.add_mutually_exclusive_group(required=True)
    bound.add_argument("--duration", type=float)
    bound.add_argument("--requests", type=int)
    parser.add_argument("--max-tokens", type=int, default=10)
    parser.add_argument("--skip", type=int, default=0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # per-request error logs would cost CPU
    endpoint = OpenAICompletionStreamEndpoint(
        model_id="sim-model", base_url=args.url, api_key="sim", max_retries=0
    )
    payload = OpenAICompletionStreamEndpoint.create_payload(
        "Say ten words.", max_tokens=args.max_tokens
    )

    async def measure() -> dict[str, object]:
        runner = Runner(endpoint, timeout=120)
        await runner.run(payload=payload, clients=args.clients, n_requests=2)  # warm-up
        lags: list[float] = []
        stop = threading.Event()

        def sample_lag() -> None:
            while not stop.is_set():
                before = time.perf_counter()
                time.sleep(LAG_INTERVAL)
                lags.append(max(0.0, time.perf_counter() - before - LAG_INTERVAL))

        sampler = threading.Thread(target=sample_lag, daemon=True)
        sampler.start()
        wall, cpu = time.perf_counter(), time.process_time()
        if args.duration is not None:
            result = await runner.run(
                payload=payload, clients=args.clients, run_duration=args.duration
            )
        else:
            result = await runner.run(
                payload=payload, clients=args.clients, n_requests=args.requests
            )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stop.set()
        sampler.join()
        records = sorted(result.responses, key=_sent)
        errors = [r.error for r in records if r.error]
        ttlt = [
            r.time_to_last_token
            for r in records[args.skip :]
            if not r.error and r.time_to_last_token is not None
        ]
        return report(len(records), errors, ttlt, wall, cpu, lags)

    print(json.dumps(asyncio.run(measure())), flush=True)


if __name__ == "__main__":
    main()
