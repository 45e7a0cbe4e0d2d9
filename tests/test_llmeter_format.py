"""Reading LLMeter's own run and load-test folders (fixtures written in its documented format)."""

from __future__ import annotations

import base64
import json
import math
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import fsspec
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.compat import is_llmeter_run, load_llmeter_result
from llmeter_trio.compat._llmeter import read_llmeter_run
from llmeter_trio.experiments import LoadTest, LoadTestResult
from llmeter_trio.results import SavedRun

from ._support.storage import forbid_whole_jsonl_reads
from .strategies import utc_datetimes

FIXTURES = Path(__file__).parent / "fixtures" / "llmeter"
UTC = timezone.utc


def at(second: int) -> datetime:
    return datetime(2025, 1, 15, 10, 0, second, tzinfo=UTC)


def llmeter_json(document: Any) -> str:
    """JSON as LLMeter writes it: the stdlib encoder (NaN allowed), bytes as a marker."""

    def default(value: Any) -> Any:
        if isinstance(value, bytes):
            return {"__llmeter_bytes__": base64.b64encode(value).decode()}
        raise TypeError(type(value))

    return json.dumps(document, default=default)


def to_memory(folder: Path) -> str:
    """A copy of a fixture folder on memory://."""
    url = f"memory://llmeter-fixtures/{uuid.uuid4().hex}"
    fsspec.filesystem("memory").put(str(folder), url.removeprefix("memory://"), recursive=True)
    return url


class TestOneRun:
    """fixtures/llmeter/run: 2 clients x 3 requests, one throttled, one with reasoning."""

    def test_totals_and_stats(self) -> None:
        result = Result.load(FIXTURES / "run")
        stats = result.stats
        assert (result.total_requests, result.clients, result.n_requests) == (6, 2, 3)
        assert (result.model_id, result.endpoint_name, result.provider) == (
            "anthropic.claude-3-haiku",
            "amazon bedrock",
            "bedrock",
        )
        assert result.run_name == "run"
        assert result.total_test_time == 4.0
        assert (result.start_time, result.first_request_time) == (at(0), at(0))
        assert (result.last_request_time, result.end_time) == (at(2), at(4))
        assert not result.interrupted
        assert result.output_path == str(FIXTURES / "run")

        assert stats["failed_requests"] == 1
        assert stats["failed_requests_rate"] == pytest.approx(1 / 6)
        assert stats["errors_by_class"] == {"other": 1}
        assert stats["requests_per_minute"] == 6 / 4 * 60
        assert (stats["total_input_tokens"], stats["total_output_tokens"]) == (54, 94)
        assert stats["total_reasoning_output_tokens"] == 10
        assert stats["average_output_tokens_per_minute"] == 94 / 4 * 60
        # successful requests' TTFT: 0.25, 0.5, 0.25, 1.0, 0.75 (llmeter-trio's percentile rule)
        assert stats["time_to_first_token-p50"] == 0.5
        assert stats["time_to_first_token-p90"] == pytest.approx(0.9)
        assert stats["time_to_first_token-average"] == pytest.approx(0.55)
        assert (stats["time_to_first_token-min"], stats["time_to_first_token-max"]) == (0.25, 1.0)
        assert stats["time_to_first_content_token-p50"] == 0.75
        assert stats["time_to_last_token-p50"] == 1.75
        assert stats["time_to_last_token-max"] == 2.5
        assert stats["time_per_output_token-max"] == 0.1  # the NaN one is left out
        assert "output_tps" not in stats  # LLMeter's live-only key: stats are recomputed

    def test_records(self) -> None:
        responses = Result.load(FIXTURES / "run").responses
        assert len(responses) == 6
        assert [r.request_time for r in responses] == [at(0), at(0), at(1), at(1), at(2), at(2)]
        throttled = responses[2]
        assert throttled.failed and throttled.error == "ThrottlingException: Rate exceeded"
        assert throttled.error_class is None and throttled.time_to_first_token is None
        reasoning = responses[3]
        assert reasoning.annotations == {"judge": "ok", "reasoning_type": "summary"}
        assert json.loads(reasoning.input_prompt or "") == {"text": "Describe this", "images": 1}
        assert reasoning.input_payload is not None
        image = reasoning.input_payload["messages"][0]["content"][1]["image"]
        assert image["source"]["bytes"] == b"hello"
        assert (reasoning.time_to_first_token, reasoning.time_to_first_content_token) == (
            0.25,
            0.75,
        )
        assert reasoning.num_tokens_output_reasoning == 10
        assert responses[4].annotations == {"cost_input": 0.001}  # an unknown (legacy) key
        assert responses[5].time_per_output_token is None  # NaN in the file
        assert all(r.chunks == [] for r in responses)

    def test_run_config(self) -> None:
        config = Result.load(FIXTURES / "run").run_config
        assert config is not None
        assert config.endpoint_config == {
            "endpoint_type": "llmeter:llmeter.endpoints.bedrock.BedrockConverseStream",
            "model_id": "anthropic.claude-3-haiku",
            "endpoint_name": "amazon bedrock",
            "provider": "bedrock",
            "region": "us-east-1",
            "api_key": "***",
        }  # the saved api_key is masked
        assert config.tokenizer_config == {"tokenizer_type": "dummy"}
        assert (config.clients, config.n_requests, config.run_duration, config.timeout) == (
            2,
            3,
            None,
            60.0,
        )
        assert len(config.payload) == 2
        assert config.payload[1]["messages"][0]["content"][1]["image"]["source"]["bytes"] == (
            b"hello"
        )

    @pytest.mark.plugins  # run again by .ci/run once plugins/ are installed
    def test_run_config_rebuilds_llmeters_endpoint(self) -> None:
        pytest.importorskip("llmeter_trio_aws")
        config = Result.load(FIXTURES / "run").run_config
        assert config is not None
        rebuilt = config.endpoint()  # LLMeter's class by its name (the AWS plugin's)
        assert type(rebuilt).__name__ == "BedrockConverseStream"
        assert (rebuilt.model_id, rebuilt.region) == ("anthropic.claude-3-haiku", "us-east-1")

    def test_without_records_in_memory_same_stats(self) -> None:
        full = Result.load(FIXTURES / "run")
        summary = Result.load(FIXTURES / "run", load_responses=False)
        assert summary.responses == []
        assert summary.stats == full.stats

    def test_slos_on_an_old_run(self) -> None:
        """SLOs apply to LLMeter's records as to ours: 4 of 6 requests had TTFT <= 0.8 s."""
        result = Result.load(FIXTURES / "run", slos=["ttft_p90<=800ms"])
        assert result.stats["slo_attainment"] == pytest.approx(4 / 6)
        assert result.stats["slos_met"] is False  # p90 of TTFT is 0.9 s
        assert result.run_config is not None and result.run_config.slos == ["ttft_p90<=800ms"]
        with pytest.raises(ValueError, match="SLOs are computed from the records"):
            Result.load(FIXTURES / "stats_only", slos=["ttft_p90<=800ms"])

    def test_explicit_loader_and_any_url(self) -> None:
        url = to_memory(FIXTURES / "run")
        assert is_llmeter_run(url)
        from_memory = load_llmeter_result(url)
        local = load_llmeter_result(FIXTURES / "run")
        assert from_memory.output_path == url
        assert {**from_memory.stats, "output_path": None} == {**local.stats, "output_path": None}


class TestOtherLLMeterFolders:
    def test_legacy_folder_without_summary(self) -> None:
        """LLMeter <= 0.1.12: legacy config dicts, no summary.json, records without new keys."""
        result = Result.load(FIXTURES / "legacy")
        assert (result.total_requests, result.clients, result.n_requests) == (3, 1, 3)
        assert (result.model_id, result.run_name) == ("anthropic.claude-v2", "old")
        assert (result.start_time, result.last_request_time) == (at(0), at(2))
        assert result.end_time == datetime(2025, 1, 15, 10, 0, 3, 250000, tzinfo=UTC)
        assert result.total_test_time == 3.25
        assert result.run_config is not None
        assert result.run_config.endpoint_config["endpoint_type"] == "llmeter:BedrockConverseStream"
        assert result.run_config.tokenizer_config == {"tokenizer_type": "dummy"}
        assert all(r.time_to_first_content_token is None for r in result.responses)
        assert result.stats["time_to_first_token-p50"] == 0.5
        assert result.stats["requests_per_minute"] == pytest.approx(3 / 3.25 * 60)

    def test_summary_and_stats_only(self) -> None:
        """Records deleted: LLMeter's saved stats are used as they are."""
        result = Result.load(FIXTURES / "stats_only")
        saved = json.loads((FIXTURES / "stats_only" / "stats.json").read_text())
        assert result.responses == []
        assert result.interrupted and result.total_test_time is None
        assert result.total_requests == 4
        for key in ("time_to_last_token-p50", "time_to_last_token-p90", "output_tps"):
            assert result.stats[key] == saved[key]
        assert result.run_config is not None
        assert (result.run_config.n_requests, result.run_config.run_duration) == (None, 30.0)

    def test_llmeter_load_test(self, tmp_path: Path) -> None:
        """LLMeter's NNNNN-clients layout loads as a LoadTestResult."""
        test = LoadTestResult.load(FIXTURES / "load_test" / "llmeter-test")
        assert test.test_name == "llmeter-test"
        assert list(test.results) == [1, 2]
        one, two = test.results[1], test.results[2]
        assert (one.total_requests, two.total_requests) == (4, 4)
        assert (one.stats["failed_requests_rate"], two.stats["failed_requests_rate"]) == (0, 0.25)
        assert one.stats["time_to_first_token-p50"] == 0.375
        assert two.stats["time_to_last_token-p50"] == 1.75
        assert one.output_path == str(FIXTURES / "load_test" / "llmeter-test" / "00001-clients")

        figures = LoadTestResult.load(
            FIXTURES / "load_test" / "llmeter-test", load_responses=False
        ).plot_results(show=False, output_path=tmp_path)  # records streamed from LLMeter's files
        (latencies,) = figures["time_to_first_token"].data
        assert list(zip(latencies.x, latencies.y, strict=True)) == [
            (1, 0.25), (1, 0.25), (1, 0.5), (1, 0.5), (2, 0.5), (2, 0.5), (2, 0.75)
        ]  # fmt: skip
        assert list(figures["error_rate"].data[0].y) == [0, 0.25]

    def test_llmeter_single_folder_load_test_is_refused(self) -> None:
        """LLMeter's current LoadTest writes every level into one folder: not loadable as one."""
        with pytest.raises(ValueError, match="holds a single run"):
            LoadTestResult.load(FIXTURES / "run")

    async def test_old_and_new_levels_side_by_side(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An LLMeter level next to llmeter-trio levels: one LoadTestResult compares them."""
        endpoint = FakeEndpoint(time_to_first_token=0.25, inter_token_latency=1 / 16)
        await LoadTest(
            endpoint, {"prompt": "x"}, [4], test_name="mixed", progress_bar_stats={}
        ).run(output_path=tmp_path)
        copy_level(FIXTURES / "load_test" / "llmeter-test" / "00001-clients", tmp_path / "mixed")
        mixed = LoadTestResult.load(tmp_path / "mixed")
        assert list(mixed.results) == [1, 4]
        assert mixed.results[1].model_id == "anthropic.claude-3-haiku"
        assert mixed.results[4].model_id == "fake-model"
        assert set(mixed.plot_results(show=False)) >= {"time_to_first_token", "requests_per_minute"}


def copy_level(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination / source.name)


class TestDetection:
    async def test_llmeter_trio_folders_are_not_llmeters(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        result = await Runner(FakeEndpoint(), output_path=str(tmp_path)).run(
            payload={"prompt": "x"}, n_requests=2, run_name="ours"
        )
        assert result.output_path is not None
        assert not is_llmeter_run(result.output_path)
        assert is_llmeter_run(FIXTURES / "run") and is_llmeter_run(FIXTURES / "legacy")
        with pytest.raises(ValueError, match="does not hold a run saved by LLMeter"):
            load_llmeter_result(result.output_path)

    def test_empty_and_incomplete_folders(self, tmp_path: Path) -> None:
        assert not is_llmeter_run(tmp_path)
        with pytest.raises(ValueError, match="does not hold a run saved by LLMeter"):
            load_llmeter_result(tmp_path)
        shutil.copy(FIXTURES / "run" / "run_config.json", tmp_path)
        assert is_llmeter_run(tmp_path)
        with pytest.raises(FileNotFoundError, match=r"neither responses\.jsonl nor stats\.json"):
            Result.load(tmp_path)

    def test_damaged_lines(self, tmp_path: Path) -> None:
        """A last line cut short is skipped (a crash); a damaged line elsewhere is an error."""
        lines = (FIXTURES / "run" / "responses.jsonl").read_text().splitlines()
        shutil.copy(FIXTURES / "run" / "run_config.json", tmp_path)
        (tmp_path / "responses.jsonl").write_text("\n".join([*lines[:3], lines[3][:40]]))
        assert Result.load(tmp_path).total_requests == 3
        (tmp_path / "responses.jsonl").write_text("\n".join([lines[0][:40], *lines[1:]]))
        with pytest.raises(ValueError, match=r"responses\.jsonl, line 1: not JSON"):
            Result.load(tmp_path)


class TestOneLoadingPath:
    def test_the_reader_returns_neutral_parts(self) -> None:
        """LLMeter's reader hands Result.from_saved_run parts; it alone builds the Result."""
        saved = read_llmeter_run(str(FIXTURES / "run"))
        assert isinstance(saved, SavedRun)
        assert saved.summary is not None and saved.summary["total_requests"] == 6
        assert saved.summary["start_time"] == "2025-01-15T10:00:00+00:00"
        assert saved.run_config is not None and saved.records is not None
        assert len(list(saved.records())) == 6
        assert saved.saved_stats is None  # records are there: statistics come from them
        assembled = Result.from_saved_run(saved)
        assert assembled.stats == Result.load(FIXTURES / "run").stats

    def test_records_are_read_line_by_line(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """LLMeter's JSONL files (records, payloads) are streamed, never read whole."""
        forbid_whole_jsonl_reads(monkeypatch)
        for folder in ("run", "legacy"):
            assert len(Result.load(FIXTURES / folder).responses) > 0
            assert Result.load(FIXTURES / folder, load_responses=False).total_requests > 0

    def test_a_damaged_summary_is_an_error_naming_it(self, tmp_path: Path) -> None:
        """A summary.json that is not JSON is not taken for anything else: its name is given."""
        shutil.copytree(FIXTURES / "run", tmp_path / "run")
        (tmp_path / "run" / "summary.json").write_text(
            '{"total_requests": 6, "start_time": "soon"}'
        )
        with pytest.raises(ValueError, match=r"summary\.json: not an ISO 8601 date-time"):
            Result.load(tmp_path / "run")


seconds = st.none() | st.floats(0, 600, allow_nan=False) | st.just(math.nan)
counts = st.none() | st.integers(0, 10**6)
names = st.text("abcdefgh", min_size=1, max_size=5)


@st.composite
def llmeter_records(draw: st.DrawFn) -> dict[str, Any]:
    """Any record LLMeter's InvocationResponse.to_json could write (new or legacy keys)."""
    failed = draw(st.booleans())
    sent = draw(st.none() | utc_datetimes.map(lambda d: d.replace(microsecond=0)))
    record: dict[str, Any] = {
        "response_text": None if failed else draw(st.text(max_size=20)),
        "input_payload": draw(
            st.none() | st.dictionaries(names, st.integers() | names | st.binary(max_size=8))
        ),
        "id": draw(st.text(max_size=10)),
        "input_prompt": draw(
            st.none() | st.text(max_size=20) | st.dictionaries(names, st.integers())
        ),
        "reasoning_type": draw(st.none() | st.sampled_from(["verbatim", "summary", "redacted"])),
        "error": draw(st.text(min_size=1, max_size=20)) if failed else None,
        "request_time": None if sent is None else sent.isoformat().replace("+00:00", "Z"),
        "annotations": draw(st.dictionaries(names, st.integers() | names, max_size=2)),
    }
    for key in (
        "time_to_first_token",
        "time_to_first_content_token",
        "time_to_last_token",
        "time_per_output_token",
    ):
        record[key] = draw(seconds)
    for key in ("num_tokens_input", "num_tokens_output", "num_tokens_input_cached", "retries"):
        record[key] = draw(counts)
    if draw(st.booleans()):
        record["cost_total"] = draw(st.floats(0, 1))  # a key LLMeter moves into annotations
    if draw(st.booleans()):
        del record["annotations"]  # older records have none
    return record


@given(records=st.lists(llmeter_records(), min_size=1, max_size=6))
def test_any_llmeter_record_reads_back(records: list[dict[str, Any]]) -> None:
    """Every value of an LLMeter record survives; NaN becomes None; extras go to annotations."""
    url = f"memory://llmeter-records/{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    config = json.loads((FIXTURES / "run" / "run_config.json").read_text())
    with fs.open(f"{url}/run_config.json", "w") as f:
        f.write(json.dumps(config))
    with fs.open(f"{url}/responses.jsonl", "w") as f:
        f.write("".join(llmeter_json(r) + "\n" for r in records))

    result = load_llmeter_result(url)
    assert result.total_requests == len(records) == len(result.responses)
    assert result.stats["failed_requests"] == sum(r["error"] is not None for r in records)
    for record, response in zip(records, result.responses, strict=True):
        for key in ("response_text", "input_payload", "id", "error", "retries"):
            assert getattr(response, key) == record[key]
        for key in ("time_to_first_token", "time_to_last_token", "time_per_output_token"):
            value = record[key]
            assert getattr(response, key) == (
                None if value is not None and math.isnan(value) else value
            )
        assert response.num_tokens_output == record["num_tokens_output"]
        prompt = record["input_prompt"]
        if isinstance(prompt, dict):
            assert json.loads(response.input_prompt or "") == prompt
        else:
            assert response.input_prompt == prompt
        expected_time = None
        if record["request_time"] is not None:
            expected_time = datetime.fromisoformat(record["request_time"].replace("Z", "+00:00"))
        assert response.request_time == expected_time
        annotations = dict(record.get("annotations", {}))
        if "cost_total" in record:
            annotations["cost_total"] = record["cost_total"]
        if record["reasoning_type"] is not None:
            annotations["reasoning_type"] = record["reasoning_type"]
        assert response.annotations == annotations
