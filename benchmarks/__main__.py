"""Run every benchmark: `python -m benchmarks [--quick]`."""

from __future__ import annotations

import argparse

from . import engine_overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke test")
    args = parser.parse_args()
    engine_overhead.main(quick=args.quick)


main()
