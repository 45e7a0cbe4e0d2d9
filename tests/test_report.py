"""The HTML report of a saved run, load test, heatmap, sweep and quota search: one
self-contained page (plotly's script once, every chart's data inside, no secret), its
command line, and the page rendered in a real headless browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmeter_trio import FakeEndpoint, Runner
from llmeter_trio.cli import main
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.experiments import LatencyHeatmap, LoadTest, Quota, Sweep
from llmeter_trio.prompts import SAMPLE_TEXT_FILE
from llmeter_trio.report import report_html, write_report
from llmeter_trio.schedules import ConstantRate
from llmeter_trio.sim import Faults, SimApp, SimConfig

from ._support.report_page import CHROMIUM, assert_renders_in_chromium, charts
from ._support.sim_app import serving
from ._support.virtual import run_virtual

SECRET = "sk-report-secret-4242"
URL_PASSWORD = "hunter2pw"


def fake() -> FakeEndpoint:
    return FakeEndpoint(time_to_first_token=0.25, inter_token_latency=1 / 16, output_tokens=5)


def save_run(folder: Path) -> Path:
    """A run with an SLO it meets and one it misses, saved in `folder`/run."""

    async def go() -> None:
        runner = Runner(fake(), output_path=str(folder), seed=1)
        await runner.run(
            payload={"prompt": "x"}, schedule=ConstantRate(rate=4), n_requests=20,
            run_name="run", slos=["ttft_p50<=500ms", "e2e_p99<=100ms"], progress_bar_stats={},
        )  # fmt: skip

    run_virtual(go)
    return folder / "run"


def save_load_test(folder: Path) -> Path:
    load_test = LoadTest(
        fake(), {"prompt": "x"}, [1, 2], 3, output_path=str(folder), test_name="lt",
        progress_bar_stats={}, seed=3,
    )  # fmt: skip
    run_virtual(load_test.run)
    return folder / "lt"


def save_heatmap(folder: Path) -> Path:
    heatmap = LatencyHeatmap(
        FakeEndpoint(output_tokens=100, inter_token_latency=1 / 1024), SAMPLE_TEXT_FILE,
        clients=2, input_lengths=[8, 16], output_lengths=[4, 8], requests_per_combination=2,
        output_path=str(folder / "hm"), seed=5,
    )  # fmt: skip
    result = run_virtual(heatmap.run)
    assert result.output_path is not None
    return Path(result.output_path)  # a folder named by the time, under hm


def save_sweep(folder: Path) -> Path:
    endpoint = FakeEndpoint(
        time_to_first_token=0.125, inter_token_latency=0.125, output_tokens=2, max_concurrency=2
    )
    sweep = Sweep(
        endpoint, {"prompt": "x"}, slos=["ttft_p99<=200ms"], start=4, growth=2, max_load=16,
        refine_steps=0, requests_per_step=16, schedule="constant", output_path=str(folder),
        test_name="sw",
    )  # fmt: skip
    run_virtual(sweep.run)
    return folder / "sw"


def save_quota(folder: Path) -> Path:
    async def go() -> None:
        config = SimConfig(ttft_base=0.05, itl=0.005, faults=Faults(requests_per_minute=120))
        async with serving(SimApp(config)) as origin:
            endpoint = OpenAIChatEndpoint(
                base_url=origin + "/v1", model_id="sim-model", api_key=SECRET
            )
            quota = Quota(
                endpoint, OpenAIChatEndpoint.create_payload("one two three", max_tokens=10),
                start_requests_per_minute=60, growth=2, step_duration=30, test_name="q",
            )  # fmt: skip
            await quota.run(output_path=folder)

    run_virtual(go)
    return folder / "q"


SAVERS = {
    "run": save_run,
    "load test": save_load_test,
    "heatmap": save_heatmap,
    "sweep": save_sweep,
    "quota search": save_quota,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One saved folder of each kind."""
    root = tmp_path_factory.mktemp("saved")
    return {kind: save(root / kind.replace(" ", "-")) for kind, save in SAVERS.items()}


@pytest.mark.parametrize("kind", list(SAVERS))
def test_one_self_contained_page_per_kind(saved: dict[str, Path], kind: str) -> None:
    page = report_html(saved[kind])
    assert f"A {kind}, reported by llmeter-trio" in page
    # plotly's script once, nothing fetched from anywhere
    assert page.count("Plotly.newPlot(element") == 1
    assert len(re.findall(r"plotly\.js v\d", page)) == 1
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)
    figures = charts(page)
    assert figures and all(f["data"] for f in figures)
    assert "<h2>Summary</h2>" in page and "<h2>Verdicts</h2>" in page
    assert "<h2>Configuration</h2>" in page and '"clients"' in page


def test_a_run_shows_its_latency_charts_and_slo_verdicts(saved: dict[str, Path]) -> None:
    page = report_html(saved["run"])
    titles = [f["layout"]["title"]["text"] for f in charts(page)]
    for metric in ("Time to first token", "Time to last token", "Inter-token latency"):
        assert f"{metric} (histogram)" in titles and f"{metric} (CDF)" in titles
    assert "The run over time" in titles
    assert '<li class="pass">SLO ttft_p50&lt;=500ms: met' in page
    assert '<li class="fail">SLO e2e_p99&lt;=100ms: not met' in page


def test_the_sweep_says_where_its_knee_is(saved: dict[str, Path]) -> None:
    page = report_html(saved["sweep"])
    assert '<li class="pass">knee: 8 requests/s met every SLO' in page


def test_no_secret_reaches_the_page(saved: dict[str, Path]) -> None:
    page = report_html(saved["quota search"])
    assert SECRET not in page
    assert "sim-model" in page  # the configuration is there, only its credentials are not


def test_credentials_in_a_url_are_masked(tmp_path: Path) -> None:
    async def go() -> None:
        async with serving(SimApp(SimConfig(ttft_base=0.01, itl=0.001))) as origin:
            url = origin.replace("http://", f"http://user:{URL_PASSWORD}@") + "/v1"
            endpoint = OpenAIChatEndpoint(base_url=url, model_id="sim-model", api_key=SECRET)
            runner = Runner(endpoint, output_path=str(tmp_path), run_name="r")
            await runner.run(
                payload=OpenAIChatEndpoint.create_payload("hi", max_tokens=3), n_requests=2,
                progress_bar_stats={},
            )  # fmt: skip

    run_virtual(go)
    page = report_html(tmp_path / "r")
    assert URL_PASSWORD not in page and SECRET not in page
    assert "127.0.0.1" in page


def test_cli_writes_the_report(
    saved: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(saved["load test"]), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out}"
    assert "A load test, reported by" in out.read_text(encoding="utf-8")


def test_report_goes_in_the_folder_by_default(saved: dict[str, Path]) -> None:
    target = write_report(saved["heatmap"])
    assert Path(target) == saved["heatmap"] / "report.html" and Path(target).is_file()


@pytest.mark.parametrize(
    ("folder", "message"),
    [("missing", "does not exist"), ("empty", "holds no run folders"), ("file", "is a file")],
)
def test_cli_bad_path_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], folder: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    assert main(["report", str(tmp_path / folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("llmeter-trio report: error:")
    assert message in err


@pytest.mark.realtime
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (.ci/run installs it with apt-get when it runs as root)",
)
@pytest.mark.parametrize("kind", list(SAVERS))
def test_the_page_renders_in_chromium(saved: dict[str, Path], tmp_path: Path, kind: str) -> None:
    """Headless chromium draws every chart with its data, and logs no console message."""
    page = tmp_path / "report.html"
    write_report(saved[kind], page)
    assert_renders_in_chromium(page)


def test_many_payloads_show_the_first_three(tmp_path: Path) -> None:
    async def go() -> None:
        runner = Runner(fake(), output_path=str(tmp_path), run_name="p")
        payloads = [{"prompt": f"prompt number {i}"} for i in range(10)]
        await runner.run(payload=payloads, n_requests=2, progress_bar_stats={})

    run_virtual(go)
    page = report_html(tmp_path / "p")
    assert "prompt number 2" in page and "prompt number 3" not in page
    assert "... and 7 more payloads" in page


def test_verdicts_name_generator_warnings_failures_and_an_early_stop() -> None:
    from llmeter_trio import Result
    from llmeter_trio.endpoints import ErrorClass, InvocationResponse
    from llmeter_trio.report._content import run_verdicts

    failed = InvocationResponse(error="429", error_class=ErrorClass.THROTTLED)
    result = Result(
        responses=[InvocationResponse(time_to_last_token=1.0), failed, failed],
        total_requests=3,
        generator={"warnings": ["event-loop lag p99 40 ms"], "bottleneck": True},
        interrupted=True,
        stop_reason="max_cost reached",
    )
    assert run_verdicts(result, "4 clients") == [
        (False, "4 clients: load generator: event-loop lag p99 40 ms"),
        (False, "4 clients: the load generator was the bottleneck"),
        (False, "4 clients: 2 failed request(s): throttled"),
        (None, "4 clients: the run stopped early: max_cost reached"),
    ]
