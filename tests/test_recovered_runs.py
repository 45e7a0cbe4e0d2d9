"""Loading a run folder that holds no summary: a run cut short, ours or LLMeter's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from llmeter_trio import Result
from llmeter_trio.compat import is_llmeter_run
from llmeter_trio.endpoints import InvocationResponse

UTC = timezone.utc
SENT = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


def records() -> list[InvocationResponse]:
    """Three answers sent a second apart, the last the slowest, and a failure in the middle."""
    return [
        InvocationResponse("a", id="a", time_to_first_token=0.1, time_to_last_token=0.5,
                           request_time=SENT),
        InvocationResponse.error_output(error="timeout", id="b",
                                        request_time=SENT + timedelta(seconds=1)),
        InvocationResponse("c", id="c", time_to_first_token=0.2, time_to_last_token=2.0,
                           request_time=SENT + timedelta(seconds=2)),
    ]  # fmt: skip


def write_records(folder: Path, responses: list[InvocationResponse]) -> Path:
    """A folder holding only responses.jsonl, as a run killed before its summary leaves it."""
    folder.mkdir(parents=True)
    with open(folder / "responses.jsonl", "w") as f:
        for response in responses:
            f.write(response.to_json() + "\n")
    return folder


def llmeter_folder(folder: Path) -> Path:
    """A folder LLMeter wrote, cut short: its records only (no summary, no statistics)."""
    responses = records()
    Result(responses, len(responses), 1, run_name="cut").save(folder, format="llmeter")
    for name in ("summary.json", "stats.json"):
        (folder / name).unlink(missing_ok=True)
    return folder


class TestRecordsOnly:
    @pytest.mark.parametrize("writer", ["llmeter-trio", "llmeter"])
    def test_loads_from_the_records_alone(self, tmp_path: Path, writer: str) -> None:
        """No summary nor configuration: the records, defaults for the settings, interrupted."""
        folder = tmp_path / "run"
        if writer == "llmeter":
            llmeter_folder(folder)
        else:
            write_records(folder, records())
        loaded = Result.load(folder)
        assert [r.id for r in loaded.responses] == ["a", "b", "c"]
        assert loaded.total_requests == 3 and loaded.clients == 1 and loaded.model_id is None
        assert loaded.interrupted
        assert loaded.stats["failed_requests"] == 1
        assert loaded.output_path == str(folder)

    def test_times_come_from_the_records(self, tmp_path: Path) -> None:
        """Start at the first request sent; end when the last response ended (not was sent)."""
        loaded = Result.load(write_records(tmp_path / "run", records()))
        assert loaded.start_time == loaded.first_request_time == SENT
        assert loaded.last_request_time == SENT + timedelta(seconds=2)
        assert loaded.end_time == SENT + timedelta(seconds=4)  # sent at +2 s, took 2 s
        assert loaded.total_test_time == pytest.approx(4.0)

    def test_one_response_lasts_as_long_as_it(self, tmp_path: Path) -> None:
        loaded = Result.load(write_records(tmp_path / "run", records()[:1]))
        assert loaded.first_request_time == loaded.last_request_time == SENT
        assert loaded.end_time == SENT + timedelta(seconds=0.5)
        assert loaded.total_requests == 1

    def test_records_without_send_times_leave_the_times_unknown(self, tmp_path: Path) -> None:
        untimed = [InvocationResponse(f"t{i}", id=str(i), num_tokens_output=3) for i in range(3)]
        loaded = Result.load(write_records(tmp_path / "run", untimed))
        times = (loaded.start_time, loaded.first_request_time, loaded.last_request_time)
        assert times == (None, None, None) and loaded.end_time is None
        assert loaded.total_test_time is None and loaded.total_requests == 3


class TestNothingToLoad:
    def test_an_empty_folder_says_there_is_no_data_to_recover(self, tmp_path: Path) -> None:
        (tmp_path / "empty").mkdir()
        with pytest.raises(FileNotFoundError, match=r"empty: it holds no summary\.json.*no data"):
            Result.load(tmp_path / "empty")

    def test_a_missing_folder_says_so(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match=r"absent: no such folder"):
            Result.load(tmp_path / "absent")


class TestDamagedDocumentsOfACutRun:
    def test_a_damaged_configuration_is_left_out_with_a_warning(self, tmp_path: Path) -> None:
        """The records of a killed run are worth more than its broken run_config.json."""
        folder = write_records(tmp_path / "run", records())
        (folder / "run_config.json").write_text("{cut short")
        with pytest.warns(UserWarning, match=r"run_config\.json: not JSON.*left out"):
            loaded = Result.load(folder)
        assert len(loaded.responses) == 3 and loaded.clients == 1 and loaded.run_config is None

    def test_a_damaged_configuration_without_records_is_still_an_error(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "run_config.json").write_text("{cut short")
        with pytest.raises(ValueError, match=r"run_config\.json: not JSON"):
            Result.load(tmp_path / "run")

    def test_llmeter_damaged_statistics_are_recomputed_with_a_warning(self, tmp_path: Path) -> None:
        folder = llmeter_folder(tmp_path / "run")
        (folder / "stats.json").write_text("not valid json")
        with pytest.warns(UserWarning, match=r"stats\.json: not JSON.*recomputed"):
            loaded = Result.load(folder)
        assert loaded.stats["failed_requests"] == 1 and loaded.llmeter_stats is None

    def test_llmeter_damaged_configuration_is_left_out_with_a_warning(self, tmp_path: Path) -> None:
        folder = llmeter_folder(tmp_path / "run")
        (folder / "run_config.json").write_text("[1, 2]")
        assert is_llmeter_run(folder)  # told by its records
        with pytest.warns(UserWarning, match=r"run_config\.json: expected a JSON object"):
            loaded = Result.load(folder)
        assert loaded.run_config is None and len(loaded.responses) == 3
