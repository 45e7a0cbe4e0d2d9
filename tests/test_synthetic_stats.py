"""Asked vs served token lengths: in the statistics (added, merged, reloaded), the CLI
summary, and the report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import trio.testing

from llmeter_trio import Runner
from llmeter_trio.cli._summary import format_summary
from llmeter_trio.endpoints import InvocationResponse
from llmeter_trio.endpoints._fake import FakeEndpoint
from llmeter_trio.report._content import read_content, run_verdicts
from llmeter_trio.results import Result
from llmeter_trio.stats import RunStats
from llmeter_trio.workloads import SyntheticWorkload


def record(
    asked: tuple[int | None, int | None],
    served: tuple[int | None, int | None],
    **fields: object,
) -> InvocationResponse:
    return InvocationResponse(
        response_text="x",
        time_to_first_token=0.1,
        time_to_last_token=0.2,
        num_tokens_input=served[0],
        num_tokens_output=served[1],
        requested_input_tokens=asked[0],
        requested_output_tokens=asked[1],
        **fields,  # type: ignore[arg-type]
    )


RECORDS = [
    record((100, 50), (100, 50)),
    record((200, 50), (204, 30)),
    record((300, 10), (290, 10)),
    record((400, 80), (400, 79)),
]


class TestRunStats:
    def test_asked_beside_served(self) -> None:
        stats = RunStats.of(RECORDS).to_dict(1.0)
        assert stats["input_tokens_compared_requests"] == 4
        assert stats["input_tokens_asked_mean"] == 250
        assert stats["input_tokens_served_mean"] == 248.5
        assert stats["input_tokens_served_minus_asked_mean"] == -1.5
        assert stats["input_tokens_served_minus_asked_max_abs"] == 10
        assert stats["output_tokens_asked_mean"] == 47.5
        assert stats["output_tokens_served_mean"] == 42.25
        assert stats["output_tokens_served_minus_asked_max_abs"] == 20
        assert stats["output_length_mismatches"] == 2

    def test_absent_when_nothing_asked(self) -> None:
        stats = RunStats.of([record((None, None), (10, 10))]).to_dict(1.0)
        assert not [key for key in stats if "asked" in key or "mismatch" in key]

    def test_failed_excluded_and_unmeasured_requests_are_left_out(self) -> None:
        others = [
            record((999, 999), (1, 1), error="boom"),
            record((999, 999), (1, 1), excluded="warmup"),
            record((999, 999), (None, None)),
        ]
        assert RunStats.of(RECORDS + others).to_dict(1.0)["input_tokens_asked_mean"] == 250
        assert RunStats.of(RECORDS + others).to_dict(1.0)["input_tokens_compared_requests"] == 4

    def test_merged_across_workers_as_if_counted_at_once(self) -> None:
        first, second = RunStats.of(RECORDS[:1]), RunStats.of(RECORDS[1:])
        first.merge(second)
        merged, whole = first.to_dict(1.0), RunStats.of(RECORDS).to_dict(1.0)
        keys = [k for k in whole if "_tokens_" in k and ("asked" in k or "compared" in k)]
        assert keys
        assert {k: merged[k] for k in keys} == {k: whole[k] for k in keys}
        assert merged["output_length_mismatches"] == whole["output_length_mismatches"]


async def test_a_run_reports_them_and_reloads_the_same(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A synthetic workload against an endpoint that serves at most 20 tokens: the summary
    shows asked and served lengths, the saved run reloads the same numbers, and the report
    notes them."""
    workload = SyntheticWorkload("uniform:20,80", "uniform:10,30", requests=12, seed=4)
    endpoint = FakeEndpoint(output_tokens=20)
    result = await Runner(endpoint, output_path=str(tmp_path)).run(
        payload=workload.payloads(endpoint), n_requests=12, run_name="asked", show_progress=False
    )
    asked_outputs = [r.requested_output_tokens or 0 for r in result.responses]
    stats = result.stats
    assert stats["input_tokens_served_minus_asked_max_abs"] == 0
    assert stats["output_length_mismatches"] == sum(a > 20 for a in asked_outputs)
    assert stats["output_tokens_served_minus_asked_mean"] == pytest.approx(
        sum(min(a, 20) - a for a in asked_outputs) / len(asked_outputs)
    )
    reloaded = Result.load(str(tmp_path / "asked")).stats
    keys = [k for k in stats if "asked" in k or "mismatch" in k or "compared" in k]
    assert {k: reloaded[k] for k in keys} == {k: stats[k] for k in keys}
    summary = format_summary(result)
    assert "input tokens asked" in summary
    assert f"{stats['output_length_mismatches']} served another output length" in summary
    notes = [text for passed, text in run_verdicts(result) if passed is None]
    assert any(text.startswith("output tokens asked") for text in notes)
    if importlib.util.find_spec("plotly") is not None:  # the report charts them
        assert "Asked vs served token lengths" in read_content(tmp_path / "asked").figures


def test_the_chart_sets_served_against_asked() -> None:
    pytest.importorskip("plotly")
    from llmeter_trio.plotting._lengths import lengths_fig

    figure = lengths_fig(RECORDS)
    points = [trace for trace in figure.data if trace.mode == "markers"]
    assert [sorted(zip(t.x, t.y, strict=True)) for t in points] == [
        [(100, 100), (200, 204), (300, 290), (400, 400)],
        [(10, 10), (50, 30), (50, 50), (80, 79)],
    ]
    assert lengths_fig([record((None, None), (1, 1))]) is None
