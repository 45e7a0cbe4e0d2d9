"""LLMeter's Result and InvocationResponse as a migrating user meets them: constructors,
save and load (lazily too), paths of any kind, and folders LLMeter itself can read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import fsspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio import Result
from llmeter_trio.compat import is_llmeter_run, save_llmeter_result
from llmeter_trio.endpoints import ErrorClass, InvocationResponse
from llmeter_trio.experiments import LoadTestResult
from llmeter_trio.storage import location

from .strategies import invocation_responses

UTC = timezone.utc
SENT = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)

# LLMeter's fields, in LLMeter's order (its dataclasses' fields)
LLMETER_RECORD_FIELDS = [
    "response_text",
    "input_payload",
    "id",
    "input_prompt",
    "time_to_first_token",
    "time_to_last_token",
    "num_tokens_input",
    "num_tokens_output",
    "num_tokens_input_cached",
    "num_tokens_output_reasoning",
    "time_per_output_token",
    "error",
    "retries",
    "request_time",
]
LLMETER_SUMMARY_FIELDS = [
    "total_requests",
    "clients",
    "n_requests",
    "total_test_time",
    "model_id",
    "output_path",
    "endpoint_name",
    "provider",
    "run_name",
    "run_description",
    "start_time",
    "first_request_time",
    "last_request_time",
    "end_time",
]


def records(n: int = 5) -> list[InvocationResponse]:
    return [
        InvocationResponse(
            f"answer {i}",
            {"prompt": f"q{i}", "image": b"\xff\xd8"},
            id=f"r{i}",
            time_to_first_token=0.1 * i,
            time_to_last_token=0.2 * i,
            num_tokens_input=5 * i,
            num_tokens_output=10 * i,
            request_time=SENT,
        )
        for i in range(1, n + 1)
    ]


def result(**fields: Any) -> Result:
    responses = records()
    return Result(
        responses, len(responses), 1, len(responses), 1.0, run_name="r", start_time=SENT, **fields
    )


@pytest.fixture
def memory_folder() -> Iterator[str]:
    """A fresh folder on fsspec's in-memory filesystem, removed afterwards."""
    url = f"memory://llmeter-results-{uuid.uuid4().hex}"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


class UPathStandIn:
    """What llmeter-trio uses of a universal-pathlib ``UPath``: its URL, protocol and fs."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.protocol = url.split("://")[0]
        self.fs = fsspec.filesystem(self.protocol)

    def __str__(self) -> str:
        return self._url


class TestInvocationResponseConstructor:
    def test_llmeter_fields_are_positional_in_llmeter_order(self) -> None:
        """The fields LLMeter has come first, in its order, and may be passed positionally."""
        positional = [a.name for a in attrs.fields(InvocationResponse) if not a.kw_only]
        assert positional == LLMETER_RECORD_FIELDS, (
            "a field beyond LLMeter's must be keyword-only: attrs.field(..., kw_only=True)"
        )
        response = InvocationResponse("hi", {"prompt": "q"}, "id-1", "q", 0.1, 0.5)
        assert (response.response_text, response.input_payload, response.id) == (
            "hi",
            {"prompt": "q"},
            "id-1",
        )
        assert (response.input_prompt, response.time_to_first_token) == ("q", 0.1)
        assert response.time_to_last_token == 0.5

    def test_fields_beyond_llmeter_are_keyword_only(self) -> None:
        """A 15th positional argument is refused: what LLMeter lacks is passed by name."""
        with pytest.raises(TypeError):
            InvocationResponse(*([None] * 15))  # type: ignore[misc]
        assert InvocationResponse(error_class=ErrorClass.TIMEOUT).error_class is ErrorClass.TIMEOUT


class TestErrorOutput:
    def test_llmeter_keywords(self) -> None:
        """LLMeter's error_output(input_payload=, error=, id=, request_time=) works as there."""
        failed = InvocationResponse.error_output(
            input_payload={"prompt": "q"}, error="Connection timeout", id="e1", request_time=SENT
        )
        assert failed.response_text is None
        assert (failed.error, failed.id, failed.request_time) == ("Connection timeout", "e1", SENT)
        assert failed.input_payload == {"prompt": "q"}
        assert failed.failed

    def test_llmeter_defaults(self) -> None:
        """No error text: "invocation failed"; no id: a new hex id; no class: OTHER."""
        first, second = InvocationResponse.error_output(), InvocationResponse.error_output()
        assert first.error == "invocation failed"
        assert first.error_class is ErrorClass.OTHER
        assert first.id is not None and len(first.id) == 32 and int(first.id, 16) >= 0
        assert first.id != second.id

    def test_an_exception_is_kept_as_its_text(self) -> None:
        """`error` may be any object, as in LLMeter: its str() is kept."""
        assert InvocationResponse.error_output(error=ValueError("bad")).error == "bad"

    def test_own_positional_form_still_works(self) -> None:
        """llmeter-trio's error_output(error, error_class, status_code=) is unchanged."""
        throttled = InvocationResponse.error_output("429", ErrorClass.THROTTLED, status_code=429)
        assert (throttled.error, throttled.error_class, throttled.status_code) == (
            "429",
            ErrorClass.THROTTLED,
            429,
        )

    def test_round_trips_through_json(self) -> None:
        """An error record made with LLMeter's keywords survives to_json/from_json."""
        failed = InvocationResponse.error_output(error="boom", request_time=SENT)
        assert InvocationResponse.from_json(failed.to_json()).error == "boom"


class TestResultConstructor:
    def test_llmeter_fields_are_positional_in_llmeter_order(self) -> None:
        """Result(responses, total_requests, clients, ...) as LLMeter's dataclass takes them."""
        positional = [a.name for a in attrs.fields(Result) if a.init and not a.kw_only]
        assert positional == ["responses", *LLMETER_SUMMARY_FIELDS], (
            "a field beyond LLMeter's must be keyword-only: attrs.field(..., kw_only=True)"
        )
        built = Result(records(2), 2, 3, 4, 5.0, "model")
        assert (built.total_requests, built.clients, built.n_requests) == (2, 3, 4)
        assert (built.total_test_time, built.model_id) == (5.0, "model")

    def test_own_fields_are_keyword_only(self) -> None:
        """interrupted, generator, run_config... are passed by name."""
        with pytest.raises(TypeError):
            Result(*([None] * 16))  # type: ignore[misc]
        assert Result(interrupted=True).interrupted


class TestSave:
    def test_no_output_path_says_so_as_llmeter(self) -> None:
        """Saving with no path anywhere is LLMeter's ValueError("No output path provided...")."""
        with pytest.raises(ValueError, match="No output path provided"):
            result().save()

    def test_saving_again_where_it_was_saved_keeps_the_records(self, tmp_path: Path) -> None:
        """A result saved twice into one folder rewrites its summary, not its records."""
        first = result()
        first.save(tmp_path / "run")
        with (tmp_path / "run" / "responses.jsonl").open("a") as f:
            f.write(json.dumps({"id": "extra"}) + "\n")
        first.save(tmp_path / "run")
        lines = (tmp_path / "run" / "responses.jsonl").read_text().splitlines()
        assert len(lines) == 6 and json.loads(lines[-1])["id"] == "extra"

    def test_another_result_is_still_refused(self, tmp_path: Path) -> None:
        """A different run is not written over a saved one, unless overwrite=True."""
        result().save(tmp_path / "run")
        other = result()
        other.run_name = "another"
        with pytest.raises(FileExistsError, match="already holds another run"):
            other.save(tmp_path / "run")
        other.save(tmp_path / "run", overwrite=True)
        assert Result.load(tmp_path / "run").run_name == "another"

    def test_unknown_format_is_refused(self, tmp_path: Path) -> None:
        """format is "llmeter-trio" or "llmeter"."""
        with pytest.raises(ValueError, match="format must be"):
            result().save(tmp_path / "run", format="csv")  # type: ignore[arg-type]


class TestLoad:
    def test_missing_records_fall_back_to_saved_stats(self, tmp_path: Path) -> None:
        """No responses.jsonl beside the summary: no records, the saved statistics, as LLMeter."""
        saved = result()
        saved.save(tmp_path / "run")
        (tmp_path / "run" / "responses.jsonl").unlink()
        loaded = Result.load(tmp_path / "run")
        assert loaded.responses == []
        assert loaded.total_requests == 5
        p50 = "time_to_first_token-p50"
        assert loaded.stats[p50] == pytest.approx(saved.stats[p50])
        with pytest.raises(FileNotFoundError, match=r"responses\.jsonl"):
            loaded.load_responses()

    def test_load_responses_without_a_folder_says_so_as_llmeter(self) -> None:
        """load_responses() with no output_path: LLMeter's ValueError("No output_path set...")."""
        with pytest.raises(ValueError, match="No output_path set"):
            Result(records()).load_responses()

    def test_lazy_load_then_load_responses(self, tmp_path: Path) -> None:
        """load_responses=False keeps no records and the same statistics; they load on demand."""
        saved = result()
        saved.save(tmp_path / "run")
        lazy = Result.load(tmp_path / "run", load_responses=False)
        assert lazy.responses == [] and lazy.output_path is not None
        assert lazy.stats["time_to_last_token-average"] == pytest.approx(0.6)
        assert [r.id for r in lazy.load_responses()] == [r.id for r in saved.responses]
        assert lazy.responses[0].request_time == SENT


class TestLocations:
    def test_location_of_each_kind(self, tmp_path: Path) -> None:
        """A string, a path and a UPath-like object each give the URL or path storage takes."""
        assert location("memory://a/b") == "memory://a/b"
        assert location(tmp_path) == str(tmp_path)
        assert location(UPathStandIn("memory://a/b")) == "memory://a/b"
        with pytest.raises(TypeError, match="expected a path or URL, not int"):
            location(3)  # type: ignore[arg-type]

    def test_save_and_load_through_an_upath_like_location(self, memory_folder: str) -> None:
        """Result.save and Result.load take a UPath-like location; summary.json holds its URL."""
        where = UPathStandIn(memory_folder)
        saved = result(output_path=where)
        saved.save()
        assert saved.to_dict()["output_path"] is where  # native, as LLMeter's to_dict
        summary = json.loads(fsspec.filesystem("memory").cat_file(f"{memory_folder}/summary.json"))
        assert summary["output_path"] == memory_folder
        loaded = Result.load(where, load_responses=False)
        assert loaded.total_requests == 5
        assert len(loaded.load_responses()) == 5

    def test_real_upath(self, memory_folder: str, tmp_path: Path) -> None:
        """universal-pathlib's UPath, local and in memory, as LLMeter's users pass it."""
        upath = pytest.importorskip("upath")
        for where in (upath.UPath(memory_folder), upath.UPath(tmp_path) / "run"):
            result().save(where)
            assert len(Result.load(where).responses) == 5
            assert Result.load(str(where), load_responses=False).responses == []


class TestLLMeterFormat:
    def test_documents_hold_llmeter_fields_only(self, tmp_path: Path) -> None:
        """summary.json and each record have exactly LLMeter's fields, LLMeter's JSON forms."""
        saved = result()
        saved.save(tmp_path / "run", format="llmeter")
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert list(summary) == LLMETER_SUMMARY_FIELDS
        assert summary["start_time"] == "2026-01-01T12:00:00Z"
        lines = (tmp_path / "run" / "responses.jsonl").read_text().splitlines()
        assert len(lines) == 5
        first = json.loads(lines[0])
        assert list(first) == LLMETER_RECORD_FIELDS
        assert first["input_payload"]["image"] == {"__llmeter_bytes__": "/9g="}
        assert first["request_time"] == "2026-01-01T12:00:00Z"
        stats = json.loads((tmp_path / "run" / "stats.json").read_text())
        assert stats["time_to_first_token-p50"] == pytest.approx(0.3)
        assert "schema_version" not in summary and "schema_version" not in stats

    def test_reads_back_as_an_llmeter_folder(self, tmp_path: Path) -> None:
        """Result.load reads it as LLMeter's, with the same statistics and bytes."""
        saved = result()
        save_llmeter_result(saved, tmp_path / "run")
        assert is_llmeter_run(tmp_path / "run")
        loaded = Result.load(tmp_path / "run")
        assert loaded.llmeter_stats is not None
        assert loaded.stats["time_to_first_token-p90"] == pytest.approx(
            saved.stats["time_to_first_token-p90"]
        )
        assert loaded.responses[0].input_payload == {"prompt": "q1", "image": b"\xff\xd8"}
        assert loaded.responses[0].request_time == SENT.replace(microsecond=0)

    def test_saving_again_and_refusing_another_run(self, tmp_path: Path) -> None:
        """As Result.save: the same result may be saved again there, another is refused."""
        saved = result()
        saved.save(tmp_path / "run", format="llmeter")
        saved.save(tmp_path / "run", format="llmeter")
        other = result()
        other.run_name = "another"
        with pytest.raises(FileExistsError):
            other.save(tmp_path / "run", format="llmeter")


class TestLLMeterFormatRoundTrip:
    @settings(max_examples=30, deadline=None)
    @given(st.lists(invocation_responses(), min_size=1, max_size=6))
    def test_llmeter_fields_survive(self, responses: list[InvocationResponse]) -> None:
        """Any records saved in LLMeter's format load back with their LLMeter fields
        (times to the second, as LLMeter writes them)."""
        url = f"memory://llmeter-format-{uuid.uuid4().hex}"
        try:
            Result(responses, len(responses)).save(url, format="llmeter")
            loaded = Result.load(url).responses
        finally:
            fsspec.filesystem("memory").rm(url, recursive=True)
        assert len(loaded) == len(responses)
        for original, back in zip(responses, loaded, strict=True):
            for name in LLMETER_RECORD_FIELDS:
                expected = getattr(original, name)
                if name == "request_time" and expected is not None:
                    expected = expected.replace(microsecond=0)
                assert getattr(back, name) == expected, name


class TestLoadTestResultLoading:
    def test_every_subfolder_goes_through_result_load(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each subfolder is read by Result.load with load_responses passed on; those that
        hold no run are passed over."""
        for clients in (1, 4):
            level = result()
            level.clients = clients
            level.save(tmp_path / "test" / f"{clients:05d}-clients")
        (tmp_path / "test" / "charts").mkdir()
        asked: list[tuple[str, bool]] = []
        load = Result.load

        def recording_load(path: str, load_responses: bool = True) -> Result:
            asked.append((path.rsplit("/", 1)[-1], load_responses))
            return load(path, load_responses=load_responses)

        monkeypatch.setattr(Result, "load", recording_load)
        loaded = LoadTestResult.load(tmp_path / "test", load_responses=False)
        assert sorted(loaded.results) == [1, 4]
        assert all(level.responses == [] for level in loaded.results.values())
        assert sorted(asked) == [
            ("00001-clients", False),
            ("00004-clients", False),
            ("charts", False),
        ]
