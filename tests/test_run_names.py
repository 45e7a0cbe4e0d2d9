"""A run's default name (from the clock) never lands in a folder holding another run."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import trio.testing

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.engine import _plan
from llmeter_trio.runner import Runner as LLMeterRunner

FROZEN = datetime(2026, 12, 1, 17, 30, 5)


class _FrozenClock(datetime):
    """`datetime` whose now() is always FROZEN: every default name is the same."""

    @classmethod
    def now(cls, tz: object = None) -> _FrozenClock:
        return cls(*FROZEN.timetuple()[:6])


@pytest.fixture
def frozen_names(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(_plan, "datetime", _FrozenClock)
    return FROZEN.strftime("%Y%m%d-%H%M%S")


@pytest.mark.parametrize("runner_class", [Runner, LLMeterRunner])
async def test_default_names_that_collide_get_a_suffix(
    tmp_path: Path,
    frozen_names: str,
    runner_class: type[Runner],
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Three runs in the same second: name, name-2, name-3, each folder its own run."""
    runner = runner_class(FakeEndpoint(), output_path=str(tmp_path))
    results = [
        await runner.run(payload={"prompt": "x"}, n_requests=n, clients=1) for n in (1, 2, 3)
    ]
    names = [frozen_names, f"{frozen_names}-2", f"{frozen_names}-3"]
    assert [r.run_name for r in results] == names
    assert [r.output_path for r in results] == [str(tmp_path / name) for name in names]
    for n, name in enumerate(names, start=1):
        loaded = Result.load(tmp_path / name)
        assert loaded.total_requests == len(loaded.responses) == n
        config = json.loads((tmp_path / name / "run_config.json").read_text())
        assert config["run_name"] == name and config["output_path"] == str(tmp_path / name)


async def test_a_given_name_that_is_taken_is_still_refused(
    tmp_path: Path, frozen_names: str, autojump_clock: trio.testing.MockClock
) -> None:
    runner = Runner(FakeEndpoint(), output_path=str(tmp_path))
    await runner.run(payload={"prompt": "x"}, n_requests=1, run_name=frozen_names)
    with pytest.raises(FileExistsError, match="already holds a run"):
        await runner.run(payload={"prompt": "x"}, n_requests=1, run_name=frozen_names)
    assert not (tmp_path / f"{frozen_names}-2").exists()


async def test_a_given_run_folder_that_is_taken_is_still_refused(
    tmp_path: Path, frozen_names: str, autojump_clock: trio.testing.MockClock
) -> None:
    """run(output_path=F) names the run folder itself: never moved elsewhere."""
    runner = Runner(FakeEndpoint())
    await runner.run(payload={"prompt": "x"}, n_requests=1, output_path=str(tmp_path / "f"))
    with pytest.raises(FileExistsError, match="already holds a run"):
        await runner.run(payload={"prompt": "x"}, n_requests=1, output_path=str(tmp_path / "f"))


async def test_a_suffix_is_skipped_when_it_is_taken_too(
    tmp_path: Path, frozen_names: str, autojump_clock: trio.testing.MockClock
) -> None:
    """Any run document makes a folder taken, e.g. a run killed before its first record."""
    for name in (frozen_names, f"{frozen_names}-2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run_config.json").write_text("{}")
    result = await Runner(FakeEndpoint(), output_path=str(tmp_path)).run(
        payload={"prompt": "x"}, n_requests=1
    )
    assert result.run_name == f"{frozen_names}-3"
