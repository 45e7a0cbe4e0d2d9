"""Merging the shards' statistics: the same as counting their records one after the other;
the run's generator health and its clock offsets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio.cli._summary import format_summary
from llmeter_trio.distributed._merge import workers_health
from llmeter_trio.distributed._shard import ShardLost, ShardOutcome, ShardReport
from llmeter_trio.endpoints import InvocationResponse
from llmeter_trio.results import Result
from llmeter_trio.slo import parse_slos
from llmeter_trio.stats import RunStats

from ._support.same_stats import same
from .strategies import invocation_responses

SLOS = parse_slos(["ttft_p90<=500ms", "ttlt<=2s"])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(invocation_responses(), max_size=8), min_size=1, max_size=4))
def test_merging_shards_counts_their_records_in_order(
    shards: list[list[InvocationResponse]],
) -> None:
    merged = RunStats(SLOS)
    for records in shards:
        merged.merge(RunStats.of(records, SLOS))
    counted = RunStats.of([r for records in shards for r in records], SLOS)
    same(merged.to_dict(10.0), counted.to_dict(10.0))
    assert list(merged.columns["time_to_first_token"]) == list(
        counted.columns["time_to_first_token"]
    )


def test_the_largest_clock_offset_is_in_the_generator_health() -> None:
    """Either way (a clock behind counts as much as one ahead); a lost worker has none."""
    outcomes: list[ShardOutcome] = [
        ShardReport(index=0, folder="w0", clock_offset=0.004),
        ShardReport(index=1, folder="w1", clock_offset=-0.031),
        ShardLost(index=2, folder="w2", reason="worker 2 died"),
    ]
    health = workers_health(outcomes, 3)
    assert health["largest_clock_offset"] == 0.031
    assert [w.get("clock_offset") for w in health["workers"]] == [0.004, -0.031, None]
    assert workers_health([ShardReport(index=0, folder="w0")], 1)["largest_clock_offset"] == 0.0


def test_the_summary_prints_a_clock_offset_between_hosts_above_a_few_ms() -> None:
    """A run across hosts prints the largest offset measured between clocks, when it is
    large enough to matter (5 ms); one host (0 s) or a small one prints nothing."""
    result = Result(run_name="fleet", total_requests=0, total_test_time=1.0)
    for largest, shown in [(0.0, False), (0.004, False), (0.0123, True), (2.5, True)]:
        result.generator = {"workers": [], "warnings": [], "largest_clock_offset": largest}
        lines = [line for line in format_summary(result).splitlines() if "clock offset" in line]
        assert bool(lines) == shown, (largest, lines)
    assert lines[0].startswith("clock offset: up to 2.500 s between a worker's host and this one")
    result.generator = {"largest_clock_offset": 0.0123}
    assert "clock offset: up to 12.3 ms" in format_summary(result)
    assert "clock offset" not in format_summary(Result(run_name="alone"))  # one process
