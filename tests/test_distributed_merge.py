"""Merging the shards' statistics: the same as counting their records one after the other."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio.endpoints import InvocationResponse
from llmeter_trio.slo import parse_slos
from llmeter_trio.stats import RunStats

from ._support.same_stats import same
from .strategies import invocation_responses

SLOS = parse_slos(["ttft_p90<=500ms", "ttlt<=2s"])


@settings(max_examples=60, deadline=None)
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
