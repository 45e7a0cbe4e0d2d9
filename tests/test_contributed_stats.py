"""Statistics that callbacks contribute: in `Result.stats`, saved, loaded back, never clobbering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import Callback, FakeEndpoint, InvocationResponse, Result, Runner


def three_records() -> Result:
    responses = [
        InvocationResponse(
            id=f"r{i}",
            response_text="answer",
            time_to_first_token=0.25 * i,
            time_to_last_token=0.5 * i,
            num_tokens_input=5 * i,
            num_tokens_output=10 * i,
        )
        for i in (1, 2, 3)
    ]
    return Result(responses=responses, total_requests=3, n_requests=3, total_test_time=2.0)


def stats_but_path(result: Result) -> dict[str, Any]:
    """`result.stats` without `output_path`, which loading fills in."""
    return {k: v for k, v in result.stats.items() if k != "output_path"}


def saved_stats(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / "stats.json").read_text())
    return document


class TestContribute:
    def test_contributed_stats_join_the_built_in_ones(self) -> None:
        """Contributed numbers appear in `stats` beside the built-in statistics."""
        result = three_records()
        before = result.stats
        result.contribute_stats({"cost_total": 1.5, "cache_hits": 2})
        assert result.stats == {**before, "cost_total": 1.5, "cache_hits": 2}
        assert result.contributed_stats == {"cost_total": 1.5, "cache_hits": 2}

    def test_a_later_contribution_replaces_the_same_name(self) -> None:
        """Contributing a name again replaces its value; other names stay."""
        result = three_records()
        result.contribute_stats({"a": 1.0, "b": 2.0})
        result.contribute_stats({"a": 10.0})
        assert (result.stats["a"], result.stats["b"]) == (10.0, 2.0)

    def test_llmeter_name(self) -> None:
        """LLMeter's callbacks call `_update_contributed_stats`: the same method."""
        result = three_records()
        result._update_contributed_stats({"cost_total": 3.0})
        assert result.stats["cost_total"] == 3.0

    @pytest.mark.parametrize(
        ("stats", "message"),
        [
            ({"failed_requests": 0}, "built-in statistics"),
            ({"time_to_first_token-p50": 1.0}, "built-in statistics"),
            ({"total_test_time": 1.0}, "built-in statistics"),
            ({"cost": "cheap"}, "'cost' must be a number"),
            ([("cost", 1.0)], "must be a dict of numbers"),
        ],
    )
    def test_refused(self, stats: Any, message: str) -> None:
        """Built-in names, values that are not numbers and non-dicts are ValueErrors."""
        result = three_records()
        before = result.stats
        with pytest.raises(ValueError, match=message):
            result.contribute_stats(stats)
        assert result.stats == before

    def test_survive_records_changing(self) -> None:
        """Recounting the records (new responses) keeps what was contributed."""
        result = three_records()
        result.contribute_stats({"cost_total": 1.5})
        result.responses = result.responses[:1]
        assert result.stats["time_to_first_token-max"] == 0.25
        assert result.stats["cost_total"] == 1.5


class TestSaveAndLoad:
    def test_saved_in_stats_json_with_their_names(self, tmp_path: Path) -> None:
        """stats.json holds each contributed stat at the top level, as LLMeter's does,
        and lists which ones were contributed."""
        result = three_records()
        result.contribute_stats({"cost_total": 1.5, "cache_hits": 2})
        result.save(tmp_path / "run")
        saved = saved_stats(tmp_path / "run")
        assert (saved["cost_total"], saved["cache_hits"]) == (1.5, 2)
        assert saved["contributed_stats"] == ["cache_hits", "cost_total"]
        assert saved["failed_requests"] == 0

    def test_no_contributions_no_list(self, tmp_path: Path) -> None:
        """A run without contributions saves stats.json as before."""
        three_records().save(tmp_path / "run")
        assert "contributed_stats" not in saved_stats(tmp_path / "run")

    @pytest.mark.parametrize("load_responses", [True, False])
    def test_loaded_back(self, tmp_path: Path, load_responses: bool) -> None:
        """Result.load restores contributed stats, with the records or without them."""
        result = three_records()
        result.contribute_stats({"cost_total": 1.5})
        result.save(tmp_path / "run")
        loaded = Result.load(tmp_path / "run", load_responses=load_responses)
        assert loaded.contributed_stats == {"cost_total": 1.5}
        assert stats_but_path(loaded) == stats_but_path(result)
        assert "contributed_stats" not in loaded.stats

    def test_kept_after_load_responses(self, tmp_path: Path) -> None:
        """Loading the records later recomputes the statistics and keeps contributions."""
        result = three_records()
        result.contribute_stats({"cost_total": 1.5})
        result.save(tmp_path / "run")
        loaded = Result.load(tmp_path / "run", load_responses=False)
        loaded.load_responses()
        assert stats_but_path(loaded) == stats_but_path(result)

    def test_stale_built_in_values_lose_to_the_records(self, tmp_path: Path) -> None:
        """A built-in value edited in stats.json is recomputed when records are loaded;
        it never passes for a contributed one."""
        result = three_records()
        result.contribute_stats({"cost_total": 1.5})
        result.save(tmp_path / "run")
        saved = saved_stats(tmp_path / "run")
        saved["failed_requests"] = 999
        (tmp_path / "run" / "stats.json").write_text(json.dumps(saved))
        loaded = Result.load(tmp_path / "run")
        assert loaded.stats["failed_requests"] == 0
        assert loaded.contributed_stats == {"cost_total": 1.5}

    def test_a_listed_name_missing_from_the_file_is_skipped(self, tmp_path: Path) -> None:
        """A contributed name listed but absent from stats.json (edited by hand) is left out."""
        result = three_records()
        result.contribute_stats({"cost_total": 1.5})
        result.save(tmp_path / "run")
        saved = saved_stats(tmp_path / "run")
        del saved["cost_total"]
        (tmp_path / "run" / "stats.json").write_text(json.dumps(saved))
        assert Result.load(tmp_path / "run", load_responses=False).contributed_stats == {}


class CostCallback(Callback):
    """Contributes the run's total output tokens times a price, after the run."""

    async def after_run(self, result: Result, interrupted: bool) -> None:
        result.contribute_stats({"cost_total": result.stats["total_output_tokens"] * 0.5})


class TestFromARun:
    async def test_after_run_contributions_are_saved(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """What after_run contributes is in the returned result, in stats.json, and loaded."""
        runner = Runner(FakeEndpoint(output_tokens=4), output_path=str(tmp_path))
        result = await runner.run(
            payload={"prompt": "hi"}, n_requests=3, run_name="r", callbacks=[CostCallback()]
        )
        assert result.stats["cost_total"] == 6.0
        assert saved_stats(tmp_path / "r")["cost_total"] == 6.0
        for load_responses in (True, False):
            loaded = Result.load(tmp_path / "r", load_responses=load_responses)
            assert loaded.stats["cost_total"] == 6.0
