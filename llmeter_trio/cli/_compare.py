"""`llmeter-trio compare`: runs or load tests beside a baseline, with a CI gate."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_compare_arguments", "compare_command"]


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio compare`."""
    parser.add_argument("baseline", help="the baseline: a run or load-test folder (or fsspec URL)")
    parser.add_argument("candidates", nargs="+", metavar="candidate",
                        help="runs or load tests to compare with the baseline")  # fmt: skip
    parser.add_argument(
        "--fail-if",
        action="append",
        default=[],
        metavar="EXPR",
        help="exit 1 when a significant change crosses it, e.g. 'ttft_p99>+10%%', "
        "'e2e_p50>+200ms', 'rpm<-5%%' (repeatable)",
    )
    parser.add_argument("--metric", action="append", default=[], metavar="NAME",
                        help="compare only these metrics (repeatable), e.g. ttft_p99")  # fmt: skip
    parser.add_argument("--resamples", type=int, default=1000,
                        help="bootstrap resamples of each run (default 1000)")  # fmt: skip
    parser.add_argument("--confidence", type=float, default=0.95,
                        help="confidence of the intervals (default 0.95)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    parser.add_argument("--report", metavar="FILE.html",
                        help="also write the comparison as one HTML page with overlaid charts "
                        "(needs the plotting extra)")  # fmt: skip


def compare_command(args: argparse.Namespace) -> int:
    """Print each comparison; 1 when a ``--fail-if`` gate tripped, else 0."""
    from ..compare import compare, format_comparison, parse_gate

    gates = [parse_gate(text) for text in args.fail_if]  # bad expressions fail before loading
    metrics = list(dict.fromkeys([*args.metric, *(g.metric for g in gates)])) or None
    comparisons = compare(
        args.baseline,
        *args.candidates,
        resamples=args.resamples,
        confidence=args.confidence,
        seed=args.seed,
        metrics=metrics,
    )
    print("\n\n".join(format_comparison(c) for c in comparisons))
    if args.report:
        from ..report import write_comparison_report

        runs = [args.baseline, *args.candidates]
        try:
            target = write_comparison_report(comparisons, args.report, runs, gates)
        except ImportError as exc:  # no plotly: bad input, one line saying what to install
            raise ValueError(str(exc)) from None
        print(f"report: {target}")
    tripped = [(gate, c) for gate in gates for c in comparisons if gate.tripped(c)]
    for gate, c in tripped:
        level = f" at {c.clients} clients" if c.clients is not None else ""
        print(f"FAIL {gate.text}: {c.candidate}{level} against {c.baseline}", file=sys.stderr)
    return 1 if tripped else 0
