"""`compare` and `llmeter-trio compare`: ground truth from records of known distributions."""

from __future__ import annotations

import importlib.util
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio import InvocationResponse, Result
from llmeter_trio.cli import main
from llmeter_trio.compare import compare, comparison_figures, metric_named, parse_gate

from ._support.report_page import CHROMIUM, assert_renders_in_chromium, charts

N = 400
DURATION = 60.0


def records(
    seed: int,
    *,
    scale: float = 1.0,
    n: int = N,
    failures: float = 0.0,
    tokens: int = 100,
) -> list[InvocationResponse]:
    """`n` requests sent evenly over `DURATION`: time to first token exponential with mean
    0.1 s times `scale`, each failing with probability `failures`."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        send = DURATION * i / n
        if rng.random() < failures:
            out.append(InvocationResponse(id=str(i), error="boom", send_time=send))
            continue
        ttft = rng.expovariate(10 / scale)
        ttlt = ttft + 0.01 * tokens * scale
        out.append(
            InvocationResponse(
                id=str(i),
                time_to_first_token=ttft,
                time_to_last_token=ttlt,
                time_per_output_token=(ttlt - ttft) / (tokens - 1),
                num_tokens_output=tokens,
                send_time=send,
            )
        )
    return out


def run(name: str, responses: list[InvocationResponse]) -> Result:
    return Result(responses=responses, total_requests=len(responses),
                  total_test_time=DURATION, run_name=name)  # fmt: skip


def test_a_slower_run_is_worse_and_the_interval_holds_the_true_difference() -> None:
    (c,) = compare(run("a", records(1)), run("b", records(2, scale=1.5)), resamples=400)
    p50 = c.metrics["time_to_first_token-p50"]
    truth = 0.1 * math.log(2) * 0.5  # median of Exp(mean 0.15) minus that of Exp(mean 0.1)
    assert p50.verdict == "worse"
    assert p50.low is not None and p50.high is not None
    assert p50.low < truth < p50.high
    assert c.metrics["time_to_last_token-average"].verdict == "worse"
    assert c.metrics["failed_requests_rate"].verdict == "not measured" or (
        c.metrics["failed_requests_rate"].verdict == "no difference"
    )


def test_a_faster_run_is_better() -> None:
    (c,) = compare(run("a", records(1)), run("b", records(2, scale=0.5)), resamples=300)
    assert c.metrics["time_to_first_token-p90"].verdict == "better"
    assert c.metrics["time_per_output_token-p50"].verdict == "better"


def test_the_point_estimates_are_the_runs_own_statistics() -> None:
    a, b = run("a", records(1)), run("b", records(2, scale=1.5))
    (c,) = compare(a, b, resamples=10)
    for name in ("time_to_first_token-p99", "time_to_last_token-p50", "requests_per_minute"):
        assert c.metrics[name].baseline == pytest.approx(a.stats[name], rel=1e-12)
        assert c.metrics[name].candidate == pytest.approx(b.stats[name], rel=1e-12)


def test_failures_and_rates_have_their_directions() -> None:
    more_failures = compare(
        run("a", records(1)), run("b", records(2, failures=0.2)), resamples=300
    )[0]
    assert more_failures.metrics["failed_requests_rate"].verdict == "worse"
    twice_as_many = compare(run("a", records(1)), run("b", records(2, n=2 * N)), resamples=300)[0]
    assert twice_as_many.metrics["requests_per_minute"].verdict == "better"
    assert twice_as_many.metrics["requests_per_minute"].relative == pytest.approx(1.0)
    assert twice_as_many.metrics["average_output_tokens_per_minute"].verdict == "better"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0.001, 10.0), min_size=1, max_size=60),
    st.integers(0, 2**16),
)
def test_identical_inputs_are_never_significant(ttfts: list[float], seed: int) -> None:
    responses = [
        InvocationResponse(time_to_first_token=t, time_to_last_token=2 * t, send_time=float(i))
        for i, t in enumerate(ttfts)
    ]
    (c,) = compare(run("a", responses), run("b", list(responses)), resamples=50, seed=seed)
    assert all(not m.significant for m in c.metrics.values())


def test_the_same_seed_gives_the_same_intervals() -> None:
    a, b = run("a", records(1)), run("b", records(2))
    first = compare(a, b, resamples=50, seed=7)[0].metrics["time_to_first_token-p99"]
    again = compare(a, b, resamples=50, seed=7)[0].metrics["time_to_first_token-p99"]
    other = compare(a, b, resamples=50, seed=8)[0].metrics["time_to_first_token-p99"]
    assert (first.low, first.high) == (again.low, again.high)
    assert (first.low, first.high) != (other.low, other.high)


def test_metric_names_take_the_slo_short_forms() -> None:
    assert metric_named("ttft_p99").name == "time_to_first_token-p99"
    assert metric_named("e2e_average").name == "time_to_last_token-average"
    assert metric_named("rpm").name == "requests_per_minute"
    with pytest.raises(ValueError, match="unknown metric 'ttft_p42'"):
        metric_named("ttft_p42")


@pytest.mark.parametrize(
    ("text", "metric", "above", "threshold", "relative"),
    [
        ("ttft_p99>+10%", "time_to_first_token-p99", True, 10.0, True),
        ("e2e_p50 > 200ms", "time_to_last_token-p50", True, 0.2, False),
        ("rpm<-5%", "requests_per_minute", False, -5.0, True),
        ("failed_requests_rate>0.01", "failed_requests_rate", True, 0.01, False),
    ],
)
def test_gates_parse(text: str, metric: str, above: bool, threshold: float, relative: bool) -> None:
    gate = parse_gate(text)
    assert (gate.metric, gate.above, gate.relative) == (metric, above, relative)
    assert gate.threshold == pytest.approx(threshold)


@pytest.mark.parametrize("text", ["ttft_p99", "ttft_p99>=10%", "ttft_p99>ten", "rpm>5ms", "x>1"])
def test_bad_gates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"fail-if|unknown metric"):
        parse_gate(text)


def test_a_gate_trips_on_a_significant_change_past_its_threshold() -> None:
    (c,) = compare(run("a", records(1)), run("b", records(2, scale=1.5)), resamples=300)
    assert parse_gate("ttft_p50>+10%").tripped(c)
    assert not parse_gate("ttft_p50>+200%").tripped(c)  # past the change the truth makes
    assert not parse_gate("ttft_p50<-10%").tripped(c)
    (same,) = compare(run("a", records(1)), run("b", records(1)), resamples=100)
    assert not parse_gate("ttft_p50>-100%").tripped(same)  # no difference: never trips


def save(tmp_path: Path, name: str, responses: list[InvocationResponse]) -> str:
    folder = tmp_path / name
    run(name, responses).save(folder)
    return str(folder)


def test_cli_gate_exits_1_on_a_regression_and_0_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = save(tmp_path, "a", records(1))
    b = save(tmp_path, "b", records(2, scale=1.5))
    assert main(["compare", a, b, "--fail-if", "ttft_p99>+10%", "--resamples", "200"]) == 1
    out, err = capsys.readouterr()
    assert "time_to_first_token-p99" in out and "worse" in out
    assert "FAIL ttft_p99>+10%" in err
    assert main(["compare", a, a, "--fail-if", "ttft_p99>+10%", "--resamples", "50"]) == 0
    assert main(["compare", a, b, "--resamples", "50"]) == 0  # no gate: a report only


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fail-if", "ttft_p99>>1"], "expected METRIC>THRESHOLD"),
        (["--fail-if", "speed>1%"], "unknown metric 'speed'"),
        (["--resamples", "0"], "resamples must be at least 1"),
        (["--confidence", "95"], "confidence must be between 0 and 1"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    a = save(tmp_path, "a", records(1, n=20))
    assert main(["compare", a, a, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("llmeter-trio compare: error:")
    assert message in err


def test_cli_missing_folder_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save(tmp_path, "a", records(1, n=20))
    assert main(["compare", a, str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_load_tests_are_compared_level_by_level(tmp_path: Path) -> None:
    for name, scale in (("base", 1.0), ("new", 2.0)):
        for clients in (1, 4):
            result = run(f"{clients:05d}-clients", records(clients, scale=scale, n=200))
            result.clients = clients
            result.save(tmp_path / name / f"{clients:05d}-clients")
    comparisons = compare(tmp_path / "base", tmp_path / "new", resamples=200)
    assert [c.clients for c in comparisons] == [1, 4]
    assert all(c.metrics["time_to_first_token-p50"].verdict == "worse" for c in comparisons)
    with pytest.raises(ValueError, match="a run with a run"):
        compare(tmp_path / "base", tmp_path / "new" / "00001-clients")
    if importlib.util.find_spec("plotly") is not None:
        figure = comparison_figures(tmp_path / "base", tmp_path / "new")[
            "by-clients-time_to_first_token"
        ]
        assert [t.name for t in figure.data] == ["base p50", "base p99", "new p50", "new p99"]
        assert list(figure.data[0].x) == [1, 4]


def test_the_charts_overlay_every_run() -> None:
    pytest.importorskip("plotly")
    a, b = run("a", records(1)), run("b", records(2, scale=1.5))
    comparisons = compare(a, b, resamples=50)
    figures = comparison_figures(a, b, comparisons=comparisons)
    cdf = figures["cdf-time_to_first_token"]
    assert [trace.name for trace in cdf.data] == ["a", "b"]
    assert all(len(trace.x) == N for trace in cdf.data)
    assert list(figures["differences"].data[0].y)[:1] == ["time_to_first_token-p50"]


def test_llmeter_folders_compare_with_ours(tmp_path: Path) -> None:
    ours = save(tmp_path, "ours", records(1))
    theirs = tmp_path / "theirs"
    run("theirs", records(2, scale=1.5)).save(theirs, format="llmeter")
    (c,) = compare(ours, theirs, resamples=200)
    assert c.candidate == "theirs"
    assert c.metrics["time_to_first_token-p50"].verdict == "worse"


def test_warm_up_requests_are_left_out(tmp_path: Path) -> None:
    slow_warm_up = [
        attrs.evolve(r, time_to_first_token=100.0, excluded="warmup") for r in records(3, n=50)
    ]
    (c,) = compare(run("a", records(1)), run("b", [*slow_warm_up, *records(1)]), resamples=100)
    assert c.metrics["time_to_first_token-p99"].difference == 0
    assert c.metrics["time_to_first_token-p99"].verdict == "no difference"


def test_runs_loaded_without_records_stream_them(tmp_path: Path) -> None:
    a = Result.load(save(tmp_path, "a", records(1)), load_responses=False)
    b = Result.load(save(tmp_path, "b", records(2, scale=1.5)), load_responses=False)
    assert not a.responses
    (c,) = compare(a, b, resamples=100)
    assert c.metrics["time_to_first_token-p50"].verdict == "worse"


def test_a_run_without_records_is_refused() -> None:
    empty = Result(run_name="empty")
    with pytest.raises(ValueError, match="empty holds no records"):
        compare(empty, run("b", records(1)))


def test_rates_need_send_times_or_llmeter_request_times() -> None:
    untimed = [attrs.evolve(r, send_time=None) for r in records(1)]
    (c,) = compare(run("a", untimed), run("b", untimed[: N // 2]), resamples=50)
    rpm = c.metrics["requests_per_minute"]
    assert rpm.baseline and rpm.candidate and rpm.verdict == "not measured"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    llmeter_timed = [
        attrs.evolve(r, send_time=None, request_time=start + timedelta(seconds=r.send_time or 0))
        for r in records(1)
    ]
    (c,) = compare(run("a", llmeter_timed), run("b", llmeter_timed), resamples=50)
    assert c.metrics["requests_per_minute"].verdict == "no difference"
    assert c.metrics["requests_per_minute"].low is not None


def test_cli_metric_picks_the_metrics_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = save(tmp_path, "a", records(1, n=50))
    assert main(["compare", a, a, "--metric", "ttft_p99", "--metric", "rpm"]) == 0
    out = capsys.readouterr().out
    assert "time_to_first_token-p99" in out and "requests_per_minute" in out
    assert "time_to_last_token" not in out


def test_folders_at_fsspec_urls_compare() -> None:
    run("a", records(1, n=50)).save("memory://compare-test/a")
    run("b", records(2, n=50)).save("memory://compare-test/b")
    (c,) = compare("memory://compare-test/a", "memory://compare-test/b", resamples=20)
    assert (c.baseline, c.candidate) == ("a", "b")


def test_cli_report_holds_the_table_verdicts_and_overlaid_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("plotly")
    a = save(tmp_path, "a", records(1))
    b = save(tmp_path, "b", records(2, scale=1.5))
    out = tmp_path / "cmp.html"
    args = [
        "compare",
        a,
        b,
        "--resamples",
        "100",
        "--report",
        str(out),
        "--fail-if",
        "ttft_p99>+10%",
    ]
    assert main(args) == 1
    assert capsys.readouterr().out.strip().endswith(f"report: {out}")
    page = out.read_text(encoding="utf-8")
    assert "A comparison, reported by llmeter-trio" in page
    assert page.count("Plotly.newPlot(element") == 1
    assert "<td>time_to_first_token-p99</td>" in page and "<td>worse</td>" in page
    assert '<li class="fail">FAIL ttft_p99&gt;+10%: b</li>' in page
    figures = charts(page)
    names = [[trace.get("name") for trace in f["data"]] for f in figures]
    assert ["a", "b"] in names  # a CDF overlaying both runs
    assert len(figures) == 4  # three latency CDFs and the differences


def test_a_comparison_report_from_python_without_runs_charts_the_differences(
    tmp_path: Path,
) -> None:
    pytest.importorskip("plotly")
    from llmeter_trio.report import comparison_content, write_comparison_report

    comparisons = compare(run("a", records(1)), run("b", records(1)), resamples=50)
    content = comparison_content(comparisons)
    assert list(content.figures) == ["differences"]
    assert content.verdicts == [(None, "No metric changed significantly.")]
    target = write_comparison_report(comparisons, tmp_path / "c.html")
    assert "Compared with a" in Path(target).read_text(encoding="utf-8")


@pytest.mark.realtime
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (.ci/run installs it with apt-get when it runs as root)",
)
def test_the_comparison_report_renders_in_chromium(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    from llmeter_trio.report import write_comparison_report

    a, b = run("a", records(1)), run("b", records(2, scale=1.5))
    page = tmp_path / "c.html"
    write_comparison_report(compare(a, b, resamples=50), page, runs=[a, b])
    assert_renders_in_chromium(page)


def test_cli_report_without_plotly_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmeter_trio.compare import _charts
    from llmeter_trio.plotting._plotly import MissingPlotly

    monkeypatch.setattr(_charts, "go", MissingPlotly(ImportError("no plotly")))
    a = save(tmp_path, "a", records(1, n=20))
    assert main(["compare", a, a, "--resamples", "10", "--report", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "llmeter-trio compare: error: charts need plotly: pip install 'llmeter-trio[plotting]'\n"
    )
