"""`Quota` against the simulator's token buckets, in virtual time: it finds the bucket's
requests and tokens per minute within 10%, saves and loads its steps, and draws its chart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.experiments import Quota, QuotaResult
from llmeter_trio.sim import Faults, SimApp, SimConfig

from ._support.sim_app import serving

TOKENS_PER_REQUEST = 3 + 10  # "one two three", max_tokens=10


@asynccontextmanager
async def quota_endpoint(**budgets: Any) -> AsyncIterator[OpenAIChatEndpoint]:
    """An endpoint on the simulator, throttling at `budgets` (requests/tokens per minute)."""
    config = SimConfig(ttft_base=0.05, itl=0.005, faults=Faults(**budgets))
    async with serving(SimApp(config)) as origin:
        yield OpenAIChatEndpoint(base_url=origin + "/v1", model_id="sim-model", api_key="k")


def payload() -> dict[str, object]:
    return OpenAIChatEndpoint.create_payload("one two three", max_tokens=10)


def search(endpoint: OpenAIChatEndpoint, **options: object) -> Quota:
    settings: dict[str, object] = {
        "start_requests_per_minute": 30, "growth": 2, "step_duration": 30, "test_name": "q",
    }  # fmt: skip
    return Quota(endpoint, payload(), **{**settings, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("budgets", "rpm"),
    [({"requests_per_minute": 120}, 120), ({"tokens_per_minute": 1300}, 100)],
    ids=["requests", "tokens"],
)
async def test_finds_the_buckets_rate_within_10_percent(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, budgets: dict[str, float], rpm: float
) -> None:
    """The rate steps up until 429s pass 5%; what got through from then on is the quota."""
    async with quota_endpoint(**budgets) as endpoint:
        with trio.fail_after(3600):
            result = await search(endpoint).run(output_path=tmp_path)
    assert result.requests_per_minute == pytest.approx(rpm, rel=0.10)
    assert result.tokens_per_minute == pytest.approx(rpm * TOKENS_PER_REQUEST, rel=0.10)
    shares = [step.throttled_share for step in result.steps]
    assert all(share <= 0.05 for share in shares[:-1]) and shares[-1] > 0.05
    assert result.highest_unthrottled == result.steps[-2].requests_per_minute
    assert "sustainable" in result.summary()

    loaded = QuotaResult.load(tmp_path / "q")
    assert loaded.requests_per_minute == result.requests_per_minute
    assert loaded.tokens_per_minute == result.tokens_per_minute
    assert [s.throttled_share for s in loaded.steps] == shares
    assert [s.result.run_name for s in loaded.steps] == [s.result.run_name for s in result.steps]


async def test_a_step_throttled_late_is_measured_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """At 480 rpm against 120, the bucket's minute lasts 20 s of a 30 s step: 25% of 429s,
    but a 10 s window; the same rate runs again, throttled throughout, and is measured."""
    async with quota_endpoint(requests_per_minute=120) as endpoint:
        with trio.fail_after(3600):
            result = await search(endpoint, start_requests_per_minute=480).run()
    assert [s.requests_per_minute for s in result.steps] == [480, 480]
    assert result.steps[0].throttled_share == pytest.approx(0.25, abs=0.02)
    assert result.steps[1].throttled_share == pytest.approx(0.75, abs=0.02)
    assert result.requests_per_minute == pytest.approx(120, rel=0.05)
    assert [s.result.run_name for s in result.steps] == ["step-00-480rpm", "step-01-480rpm"]


async def test_no_throttling_up_to_the_highest_rate(autojump_clock: trio.testing.MockClock) -> None:
    """Below the quota every step passes: no quota found, and the summary says so."""
    async with quota_endpoint(requests_per_minute=600) as endpoint:
        with trio.fail_after(3600):
            result = await search(endpoint, max_requests_per_minute=100).run()
    assert [s.requests_per_minute for s in result.steps] == [30, 60, 100]
    assert result.requests_per_minute is None and result.tokens_per_minute is None
    assert "no throttling up to 100" in result.summary()


def test_bad_settings_are_refused() -> None:
    endpoint = OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1", model_id="m")
    bad: dict[str, Any]
    for bad in (
        {"growth": 1},
        {"threshold": 2},
        {"step_duration": 0},
        {"start_requests_per_minute": 100, "max_requests_per_minute": 10},
        {"schedule": "closed"},
    ):
        with pytest.raises(ValueError):
            Quota(endpoint, payload(), **bad)


def test_load_refuses_a_folder_without_an_index(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"quota\.json"):
        QuotaResult.load(tmp_path)


async def test_chart_marks_the_quota(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    pytest.importorskip("plotly")
    async with quota_endpoint(requests_per_minute=120) as endpoint:
        with trio.fail_after(3600):
            result = await search(endpoint, start_requests_per_minute=240).run()
    figures = result.plot(output_path=tmp_path)
    assert (tmp_path / "quota.html").exists()
    names = [trace.name for trace in figures["quota"].data]
    assert names == ["offered", "admitted", "429 share"]
    assert "sustainable" in str(figures["quota"].layout.annotations[0].text)
