"""Run every benchmark: `python -m benchmarks [--quick] [--only engine|http|workers]`."""

from __future__ import annotations

import argparse

from . import engine_overhead, http_clients, live_display, workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke test")
    parser.add_argument(
        "--only", choices=("engine", "http", "workers", "live"), help="run just one benchmark"
    )
    args = parser.parse_args()
    if args.only in (None, "engine"):
        engine_overhead.main(quick=args.quick)
    if args.only in (None, "http"):
        http_clients.main(quick=args.quick)
    if args.only in (None, "workers"):
        workers.main(quick=args.quick)
    if args.only in (None, "live"):
        live_display.main(quick=args.quick)


main()
