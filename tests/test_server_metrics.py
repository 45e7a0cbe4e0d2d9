"""Server metrics during a run (a Prometheus page scraped every second) and the generator's
own time series: parsing real and simulated pages, what a run saves and loads back, and
scrapes that fail without failing the run. In virtual time against the in-process simulator."""

from __future__ import annotations

import gc
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from llmeter_trio import InvocationResponse, Result, Runner
from llmeter_trio.cli import main
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.engine._process import open_connections, resident_memory
from llmeter_trio.metrics import (
    SERVER_METRICS_FILE,
    parse_metrics,
    read_server_metrics,
    role_values,
    summarise_roles,
)
from llmeter_trio.metrics._known import server_of
from llmeter_trio.sim import SimConfig, simulated_server

from ._support.threaded_sim import served_in_thread

FIXTURES = Path(__file__).parent / "fixtures" / "server_metrics"
SIM = SimConfig(ttft_base=0.3, itl=0.1, output_tokens=7)  # about 0.9 s a request
TIME_LIMIT = 60


def page(name: str) -> str:
    return (FIXTURES / name).read_text()


class TestParsing:
    def test_llama_server_capture(self) -> None:
        """The captured llama.cpp page: every sample, llama.cpp recognised, its roles read."""
        samples = parse_metrics(page("llama-server-metrics.prom"))
        assert len(samples) == 15
        assert server_of({s.metric for s in samples}) == "llama.cpp"
        assert role_values(samples) == {
            "requests_running": 0.0,
            "requests_waiting": 0.0,
            "prompt_tokens": 34.0,
            "generation_tokens": 16.0,
        }
        by_name = {s.metric: s.value for s in samples}
        assert by_name["llamacpp:predicted_tokens_seconds"] == 209.284

    def test_handwritten_vllm_page(self) -> None:
        """vLLM's names (a hand-written page, see its README): labels kept, roles read."""
        samples = parse_metrics(page("vllm-metrics-handwritten.prom"))
        assert server_of({s.metric for s in samples}) == "vllm"
        running = next(s for s in samples if s.metric == "vllm:num_requests_running")
        assert running.labels == {"engine": "0", "model_name": "meta-llama/Llama-3.1-8B-Instruct"}
        assert role_values(samples) == {
            "requests_running": 12.0,
            "requests_waiting": 3.0,
            "kv_cache_usage": 0.8125,
            "prompt_tokens": 48213.0,
            "generation_tokens": 96120.0,
        }

    def test_label_sets_add_up_and_kv_cache_is_the_largest(self) -> None:
        """Two engines behind one page: requests add up, the KV-cache share is the fuller one."""
        text = (
            'vllm:num_requests_running{engine="0"} 3\nvllm:num_requests_running{engine="1"} 4\n'
            'vllm:kv_cache_usage_perc{engine="0"} 0.5\nvllm:kv_cache_usage_perc{engine="1"} 0.7\n'
        )
        assert role_values(parse_metrics(text)) == {
            "requests_running": 7.0,
            "kv_cache_usage": 0.7,
        }

    def test_not_a_metrics_page(self) -> None:
        """An HTML error page is a ValueError, not samples."""
        with pytest.raises(ValueError, match="not a Prometheus metrics page"):
            parse_metrics("<html><body>502 Bad Gateway {</body></html>\n")


class TestSummary:
    def test_gauges_and_counter_rates(self) -> None:
        """Gauges: mean and max over the scrapes; counters: tokens/s over the run and the
        largest between two scrapes; a counter reset (a restart) is skipped."""
        summary = summarise_roles(
            {
                "requests_running": [(0.0, 2.0), (1.0, 4.0), (2.0, 6.0)],
                "generation_tokens": [(0.0, 0.0), (1.0, 100.0), (2.0, 300.0)],
                "prompt_tokens": [(0.0, 50.0), (1.0, 10.0), (2.0, 30.0)],  # restarted
            }
        )
        assert summary == {
            "requests_running-mean": 4.0,
            "requests_running-max": 6.0,
            "generation_tokens_per_second-mean": 150.0,
            "generation_tokens_per_second-max": 200.0,
            "prompt_tokens_per_second-mean": 20.0,
            "prompt_tokens_per_second-max": 20.0,
        }


@pytest.fixture
async def sim_origin() -> AsyncIterator[str]:
    async with simulated_server(SimConfig(ttft_base=0.5, itl=0.1, output_tokens=5,
                                          max_concurrency=2)) as base_url:  # fmt: skip
        yield base_url.removesuffix("/v1")


class TestSimulatorPage:
    async def test_queue_running_and_tokens(
        self, autojump_clock: trio.testing.MockClock, sim_origin: str
    ) -> None:
        """Three requests on two slots: the page shows two running and one waiting while they
        run, then every token taken and sent."""
        body = {"model": "sim-model", "messages": [{"role": "user", "content": "one two"}]}
        async with httpx.AsyncClient(base_url=sim_origin) as client:
            pages: list[dict[str, float]] = []

            async def scrape_at(at: float) -> None:
                await trio.sleep(at)
                response = await client.get("/metrics")
                assert response.headers["content-type"].startswith("text/plain")
                pages.append({s.metric: s.value for s in parse_metrics(response.text)})

            async def ask() -> None:
                await client.post("/v1/chat/completions", json=body)

            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(ask)
                nursery.start_soon(scrape_at, 0.2)
            await scrape_at(0)
        during, after = pages
        assert during["llmeter_sim:requests_running"] == 2
        assert during["llmeter_sim:requests_waiting"] == 1
        assert after["llmeter_sim:requests_running"] == 0
        assert after["llmeter_sim:requests_waiting"] == 0
        assert after["llmeter_sim:requests_total"] == 3
        assert after["llmeter_sim:prompt_tokens_total"] == 3 * 2
        assert after["llmeter_sim:generation_tokens_total"] == 3 * 5


@pytest.fixture
async def sim_base_url() -> AsyncIterator[str]:
    async with simulated_server(SIM) as base_url:
        yield base_url


async def timed_run(base_url: str, folder: Path | None, **options: Any) -> Result:
    endpoint = OpenAIChatEndpoint(base_url=base_url, model_id="sim-model", api_key="sim")
    payload = OpenAIChatEndpoint.create_payload("one two three", max_tokens=7)
    with trio.fail_after(TIME_LIMIT):
        return await Runner(endpoint, seed=3).run(
            payload=payload,
            run_duration=6,
            output_path=None if folder is None else str(folder),
            **options,
        )


class TestRunWithServerMetrics:
    async def test_running_gauge_matches_the_clients(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str, tmp_path: Path
    ) -> None:
        """Four closed-loop clients: every scrape inside the load sees four requests running;
        the samples are saved, summarised in the stats and loaded back."""
        folder = tmp_path / "run"
        url = sim_base_url.removesuffix("/v1") + "/metrics"
        result = await timed_run(sim_base_url, folder, clients=4, server_metrics=url)
        running = read_server_metrics(folder, "llmeter_sim:requests_running")
        inside = [row["value"] for row in running if 1 <= row["time"] <= 5]
        assert len(inside) == 5
        assert inside == [4.0] * 5
        assert all(row["value"] <= 4 for row in running)
        summary = result.server_metrics
        assert summary["server"] == "llmeter-trio-sim"
        assert summary["failed_scrapes"] == 0
        assert summary["scrapes"] == len(running) >= 6
        assert result.stats["server_requests_running-max"] == 4
        assert result.stats["server_requests_waiting-max"] == 0
        tokens = sum(r.num_tokens_output or 0 for r in result.responses)
        assert result.stats["server_generation_tokens_per_second-mean"] > 0
        assert tokens > 0
        loaded = Result.load(folder)
        assert loaded.server_metrics == summary
        assert loaded.stats["server_requests_running-max"] == 4
        assert Result.load(folder, load_responses=False).stats["server_requests_running-max"] == 4

    async def test_a_failing_page_never_fails_the_run(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str, tmp_path: Path
    ) -> None:
        """A page that answers 404, and one where nothing listens: every scrape is recorded
        as failed, with why, and the run's records are all there."""
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()  # nothing listens there now
        cases = {
            "missing": (sim_base_url.removesuffix("/v1") + "/no-metrics-here", "HTTP 404"),
            "closed": (f"http://127.0.0.1:{port}/metrics", "ConnectError"),
        }
        for name, (url, why) in cases.items():
            folder = tmp_path / name
            result = await timed_run(sim_base_url, folder, clients=2, server_metrics=url)
            assert result.stats["failed_requests"] == 0
            assert result.total_requests > 0
            summary = result.server_metrics
            assert summary["scrapes"] == summary["failed_scrapes"] >= 6
            assert why in summary["errors"][0]
            assert summary["gauges"] == {}
            rows = read_server_metrics(folder)
            assert len(rows) == summary["scrapes"]
            assert all(why in row["error"] for row in rows)

    async def test_credentials_in_the_url_are_never_saved(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str, tmp_path: Path
    ) -> None:
        """user:password and a token in the query are sent, but saved masked, nowhere in full."""
        origin = sim_base_url.removesuffix("/v1")
        host = origin.removeprefix("http://")
        url = f"http://scraper:pa55w0rd-xyz@{host}/metrics?api_key=tok-987654"
        folder = tmp_path / "run"
        result = await timed_run(sim_base_url, folder, clients=1, server_metrics=url)
        assert result.server_metrics["url"] == f"http://***:***@{host}/metrics?api_key=***"
        assert result.run_config is not None
        assert result.run_config.server_metrics == result.server_metrics["url"]
        for path in folder.iterdir():
            text = path.read_text()
            assert "pa55w0rd-xyz" not in text and "tok-987654" not in text, path.name
            assert "c2NyYXBlcjpwYTU1dzByZC14eXo" not in text  # Basic auth of scraper:pa55w0rd-xyz

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"server_metrics": "ftp://127.0.0.1/metrics"}, "must be an http"),
            ({"server_metrics": "http:///metrics"}, "must be an http"),
            ({"server_metrics": 8000}, "must be a URL string"),
            (
                {"server_metrics": "http://127.0.0.1:1/metrics", "server_metrics_interval": 0},
                "server_metrics_interval",
            ),
        ],
    )
    async def test_bad_settings_are_refused_before_any_request(
        self, options: dict[str, Any], message: str, tmp_path: Path
    ) -> None:
        """A URL no scrape could use, or an interval that is not positive: refused at once."""
        with pytest.raises((ValueError, TypeError), match=message):
            await timed_run("http://127.0.0.1:9/v1", tmp_path / "run", clients=1, **options)
        assert not (tmp_path / "run").exists()


class TestGeneratorSeries:
    async def test_sampled_each_second_saved_and_loaded(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str, tmp_path: Path
    ) -> None:
        """One sample a second: CPU, memory, the clients' open connections and loop lag,
        saved as generator.jsonl and loaded back by Result.load, with or without records."""
        folder = tmp_path / "run"
        gc.collect()  # connections other tests left unreferenced are closed now, not mid-run
        held = open_connections()  # by this process before the run (none, unless a test leaks)
        assert held is not None
        result = await timed_run(sim_base_url, folder, clients=3)
        series = result.generator_series
        assert [round(row["time"]) for row in series][:5] == [1, 2, 3, 4, 5]
        for row in series:
            assert set(row) == {
                "time", "cpu", "rss_bytes", "open_connections", "event_loop_lag_max",
            }  # fmt: skip
            assert row["rss_bytes"] > 0
        inside = [row["open_connections"] for row in series if row["time"] <= 5]
        # one per client (the simulated server's side, in this process too, is not counted)
        assert inside == [held + 3] * len(inside)
        lines = (folder / "generator.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in lines] == series
        assert Result.load(folder).generator_series == series
        assert Result.load(folder, load_responses=False).generator_series == series

    async def test_in_memory_run_keeps_its_series(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str
    ) -> None:
        """Without an output path the series is still on the result."""
        result = await timed_run(sim_base_url, None, clients=1)
        assert len(result.generator_series) >= 6


class TestProcess:
    def test_open_connections_counts_this_process_client_side(self) -> None:
        """A connection this process opens counts once; the side a server in the same
        process accepted does not."""
        gc.collect()  # (sockets other tests left unreferenced are closed now)
        before = open_connections()
        assert before is not None
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            with socket.create_connection(server.getsockname()) as client:
                accepted, _ = server.accept()
                with accepted:
                    assert client.fileno() >= 0
                    assert open_connections() == before + 1
        assert open_connections() == before

    def test_resident_memory(self) -> None:
        """The process holds some memory, and it grows with a large allocation."""
        before = resident_memory()
        assert before is not None and before > 1_000_000
        block = bytearray(64 * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
        after = resident_memory()
        assert after is not None and after > before + 32 * 1024 * 1024
        del block


@pytest.mark.realtime
class TestCommandLine:
    def test_server_metrics_option(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--server-metrics URL: the run saves the samples and prints the server's line."""
        folder = tmp_path / "cli-run"
        with served_in_thread(SimConfig(ttft_base=0.05, itl=0.01, output_tokens=4)) as origin:
            code = main(
                ["run", "--endpoint", "openai-chat", "--base-url", f"{origin}/v1",
                 "--model", "sim-model", "--prompt", "hi", "--clients", "2",
                 "--duration", "1.5", "--output", str(folder),
                 "--server-metrics", f"{origin}/metrics", "--server-metrics-interval", "0.25"]
            )  # fmt: skip
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "server (llmeter-trio-sim): running mean" in captured.out
        assert read_server_metrics(folder, "llmeter_sim:requests_running")
        assert Result.load(folder).server_metrics["interval"] == 0.25

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--server-metrics", "localhost:8000/metrics"], "server_metrics must be an http"),
            (["--server-metrics-interval", "2"], "--server-metrics-interval needs"),
            (
                [
                    "--server-metrics",
                    "http://127.0.0.1:1/metrics",
                    "--server-metrics-interval",
                    "0",
                ],
                "server_metrics_interval must be",
            ),
        ],
    )
    def test_bad_options_are_one_line_exit_2(
        self, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad --server-metrics is one line on stderr and exit status 2."""
        code = main(["run", "--endpoint", "fake", "--prompt", "hi", *extra])
        err = capsys.readouterr().err
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and message in err, err


def level(clients: int, running: float, waiting: float, kv: float, cpu: float) -> Result:
    """A load-test level as saved, with its server-metrics summary and generator health."""
    gauges = {
        "requests_running-max": running,
        "requests_waiting-max": waiting,
        "kv_cache_usage-max": kv,
    }
    record = InvocationResponse(time_to_first_token=0.1, time_to_last_token=0.2)
    return Result(
        responses=[record],
        total_requests=1,
        clients=clients,
        run_name=f"{clients}-clients",
        total_test_time=10.0,
        generator={"cpu_utilization": cpu},
        server_metrics={"server": "vllm", "scrapes": 10, "failed_scrapes": 0, "gauges": gauges},
    )


class TestCharts:
    def test_load_test_gets_the_server_and_generator_chart(self) -> None:
        """With server metrics, the load-test charts add running and waiting requests, KV-cache
        use and the generator's CPU against the clients; without, the six charts stay."""
        from llmeter_trio.experiments import LoadTestResult
        from llmeter_trio.plotting import plot_load_test_results

        test = LoadTestResult(
            results={8: level(8, 8, 4, 0.95, 0.3), 2: level(2, 2, 0, 0.4, 0.1)}, test_name="lt"
        )
        figure = plot_load_test_results(test)["server_and_generator"]
        traces = {trace.name: (list(trace.x), list(trace.y)) for trace in figure.data}
        assert traces == {
            "Server: requests running (max)": ([2, 8], [2, 8]),
            "Server: requests waiting (max)": ([2, 8], [0, 4]),
            "Server: KV cache in use (max)": ([2, 8], [0.4, 0.95]),
            "Generator: CPU (share of a core)": ([2, 8], [0.1, 0.3]),
        }
        plain = LoadTestResult(results={1: level(1, 1, 0, 0.1, 0.1)}, test_name="plain")
        plain.results[1].server_metrics = {}
        assert "server_and_generator" not in plot_load_test_results(plain)

    async def test_run_timeline(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str, tmp_path: Path
    ) -> None:
        """One run second by second: the generator's samples and the server's running and
        waiting requests, from the saved folder."""
        from llmeter_trio.plotting.monitoring import run_timeline_fig

        folder = tmp_path / "run"
        url = sim_base_url.removesuffix("/v1") + "/metrics"
        await timed_run(sim_base_url, folder, clients=2, server_metrics=url)
        figure = run_timeline_fig(Result.load(folder))
        traces = {trace.name: trace for trace in figure.data}
        assert set(traces) == {
            "Generator CPU", "Event-loop lag", "Generator: open connections", "Generator memory",
            "Server: requests running", "Server: requests waiting",
        }  # fmt: skip
        running = traces["Server: requests running"]
        assert [y for x, y in zip(running.x, running.y, strict=True) if 1 <= x <= 5] == [2] * 5
        with pytest.raises(ValueError, match="no time series"):
            run_timeline_fig(Result(total_requests=0))


class TestLoadTest:
    async def test_every_level_scrapes_and_charts_the_knee(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str, tmp_path: Path
    ) -> None:
        """A LoadTest with server_metrics: each level's running gauge peaks at its clients,
        the levels load back with it, and the charts have the server and generator one."""
        from llmeter_trio.experiments import LoadTest, LoadTestResult

        endpoint = OpenAIChatEndpoint(base_url=sim_base_url, model_id="sim-model", api_key="sim")
        test = LoadTest(
            endpoint=endpoint,
            payload=OpenAIChatEndpoint.create_payload("one two", max_tokens=7),
            sequence_of_clients=[1, 3],
            run_duration=3,
            test_name="knee",
            progress_bar_stats={},
            server_metrics=sim_base_url.removesuffix("/v1") + "/metrics",
        )
        with trio.fail_after(TIME_LIMIT):
            result = await test.run(output_path=tmp_path)
        peaks = {c: r.stats["server_requests_running-max"] for c, r in result.results.items()}
        assert peaks == {1: 1, 3: 3}
        loaded = LoadTestResult.load(tmp_path / "knee")
        assert loaded.stats_by_clients()[3]["server_requests_running-max"] == 3
        figures = loaded.plot_results(show=False)
        assert "server_and_generator" in figures
        assert (tmp_path / "knee" / "server_and_generator.html").exists()


class TestObjectStores:
    async def test_memory_filesystem_gets_whole_files(
        self, autojump_clock: trio.testing.MockClock, sim_base_url: str
    ) -> None:
        """A folder that cannot be appended to (memory://, object stores) gets both series
        written whole at the end, and they load back."""
        folder = "memory://server-metrics-test/run"
        url = sim_base_url.removesuffix("/v1") + "/metrics"
        endpoint = OpenAIChatEndpoint(base_url=sim_base_url, model_id="sim-model", api_key="sim")
        with trio.fail_after(TIME_LIMIT):
            result = await Runner(endpoint, seed=3).run(
                payload=OpenAIChatEndpoint.create_payload("one", max_tokens=7),
                clients=2,
                run_duration=3,
                output_path=folder,
                server_metrics=url,
            )
        rows = read_server_metrics(folder, "llmeter_sim:requests_running")
        assert len(rows) == result.server_metrics["scrapes"]
        assert Result.load(folder).generator_series == result.generator_series


class TestSavedSettings:
    def test_runner_save_masks_the_url(self, tmp_path: Path) -> None:
        """Runner.save keeps the metrics URL without its credentials; Runner.load reads it
        back without the masks (they are no values to send)."""
        endpoint = OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1", model_id="m", api_key="sim")
        runner = Runner(
            endpoint,
            server_metrics="http://scraper:pa55w0rd-xyz@127.0.0.1:9/metrics",
            server_metrics_interval=2.0,
        )
        path = runner.save(tmp_path)
        assert "pa55w0rd-xyz" not in Path(path).read_text()
        loaded = Runner.load(tmp_path)
        assert loaded.server_metrics == "http://127.0.0.1:9/metrics"
        assert loaded.server_metrics_interval == 2.0


class TestDescribe:
    def test_summary_lines(self) -> None:
        """The command line's lines: the gauges read, then failed scrapes and why."""
        from llmeter_trio.metrics import describe_server_metrics

        summary = {
            "server": "vllm",
            "scrapes": 10,
            "failed_scrapes": 2,
            "errors": ["HTTP 503 Service Unavailable"],
            "gauges": {
                "requests_running-mean": 31.2,
                "requests_running-max": 32.0,
                "requests_waiting-mean": 10.4,
                "requests_waiting-max": 18.0,
                "kv_cache_usage-mean": 0.9,
                "kv_cache_usage-max": 0.97,
                "generation_tokens_per_second-mean": 2310.4,
            },
        }
        assert describe_server_metrics(summary) == [
            "server (vllm): running mean 31.2 max 32, waiting mean 10.4 max 18, "
            "KV cache max 97%, 2,310 output tok/s",
            "server metrics: 2 of 10 scrapes failed (HTTP 503 Service Unavailable)",
        ]
        assert describe_server_metrics({}) == []


class TestLargePages:
    async def test_a_large_page_is_parsed_off_the_event_loop(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A page of thousands of samples (as vLLM's histograms make) is parsed in a worker
        thread, and every sample is saved."""
        import threading

        import llmeter_trio.metrics._scraper as scraper_module
        from llmeter_trio.metrics import ServerMetricsScraper
        from llmeter_trio.metrics._series import SeriesFile

        lines = ["# TYPE vllm:num_requests_running gauge", "vllm:num_requests_running 7"]
        lines += ["# TYPE big_bucket gauge"]
        lines += [f'big_bucket{{le="{i}"}} {i}' for i in range(3000)]
        text = "\n".join(lines) + "\n"
        assert len(text) > scraper_module.LARGE_PAGE
        threads: list[threading.Thread] = []

        def watched_parse(page: str) -> Any:
            threads.append(threading.current_thread())
            return parse_metrics(page)

        monkeypatch.setattr(scraper_module, "parse_metrics", watched_parse)
        series = SeriesFile(str(tmp_path), SERVER_METRICS_FILE)
        scraper = ServerMetricsScraper("http://server/metrics", 1.0, lambda: 0.0, series)
        transport = httpx.MockTransport(lambda request: httpx.Response(200, text=text))
        async with httpx.AsyncClient(transport=transport) as client:
            await scraper.scrape(client)
        series.close()
        assert threads and threads[0] is not threading.main_thread()
        assert len(read_server_metrics(tmp_path)) == 3001
        assert scraper.roles == {"requests_running": [(0.0, 7.0)]}


@pytest.mark.parametrize(
    ("summary", "has"),
    [({}, False), (None, False), ({"gauges": {}}, False), ({"gauges": "x"}, False),
     ({"gauges": {"requests_running": {"max": 4}}}, True)],
)  # fmt: skip
def test_only_a_summary_with_gauges_gets_the_server_chart(summary: object, has: bool) -> None:
    from llmeter_trio.plotting.monitoring import _gauges

    assert _gauges(summary) is has


class TestPrefixCacheCounters:
    def test_hit_rate_over_the_run(self) -> None:
        """vLLM's prefix-cache counters (tokens looked up, tokens found): their ratio between
        the first and last scrape; none when nothing was looked up or a counter went back."""
        series: Any = {
            "prefix_cache_queries": [(0.0, 1000.0), (1.0, 1400.0), (2.0, 2000.0)],
            "prefix_cache_hits": [(0.0, 100.0), (1.0, 300.0), (2.0, 850.0)],
        }
        assert summarise_roles(series)["prefix_cache_hit_rate"] == pytest.approx(0.75)
        series["prefix_cache_hits"][-1] = (2.0, 50.0)  # restarted
        assert "prefix_cache_hit_rate" not in summarise_roles(series)
        series["prefix_cache_queries"] = [(0.0, 5.0), (2.0, 5.0)]  # nothing looked up
        assert "prefix_cache_hit_rate" not in summarise_roles(series)

    async def test_the_server_s_hit_rate_is_the_records_cached_share(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """Against the simulator's prefix cache, the hit rate its /metrics counters give over
        the run equals the share of input tokens the answers said were cached."""
        config = SimConfig(ttft_base=0.05, itl=0.01, output_tokens=3, prefix_cache=True,
                           prefix_cache_block=4)  # fmt: skip
        shared = " ".join(f"w{i}" for i in range(40))
        payloads = [
            OpenAIChatEndpoint.create_payload(f"{shared} question {n}", max_tokens=3)
            for n in range(6)
        ]
        async with simulated_server(config) as base_url:
            endpoint = OpenAIChatEndpoint(base_url=base_url, model_id="sim-model", api_key="k")
            with trio.fail_after(TIME_LIMIT):
                result = await Runner(endpoint, seed=1).run(
                    payload=payloads,
                    payload_order="once",
                    server_metrics=base_url.removesuffix("/v1") + "/metrics",
                    output_path=str(tmp_path / "run"),
                )
        stats = result.stats
        assert stats["cache_hit_requests"] == 5 and stats["cache_miss_requests"] == 1
        assert stats["server_prefix_cache_hit_rate"] == pytest.approx(
            stats["input_tokens_cached_share"]
        )
        assert 0 < stats["server_prefix_cache_hit_rate"] < 1
        assert (
            Result.load(tmp_path / "run").stats["server_prefix_cache_hit_rate"]
            == (stats["server_prefix_cache_hit_rate"])
        )
