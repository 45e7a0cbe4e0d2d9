"""The workload contract: distributions' short forms and saved forms, and what a payload's
workload metadata becomes on its record."""

from __future__ import annotations

import random

import pytest

from llmeter_trio import Runner
from llmeter_trio.endpoints._fake import FakeEndpoint
from llmeter_trio.workloads import (
    WORKLOAD_KEY,
    Empirical,
    Fixed,
    LogNormal,
    Normal,
    Uniform,
    distribution_from_config,
    parse_distribution,
    with_workload,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500", Fixed(500)),
        ("fixed:7", Fixed(7)),
        ("uniform:100,900", Uniform(100, 900)),
        ("normal:500,50", Normal(500, 50)),
        ("lognormal:500,0.5", LogNormal(500, 0.5)),
    ],
)
def test_short_forms_parse_and_round_trip(text: str, expected: object) -> None:
    parsed = parse_distribution(text)
    assert parsed == expected
    assert distribution_from_config(parsed.to_config()) == parsed
    assert parse_distribution(str(parsed)) == parsed


@pytest.mark.parametrize(
    "text", ["", "uniform:1", "normal:a,b", "zipf:1,2", "uniform:9,1", "fixed:-1", "normal:1,nan"]
)
def test_bad_short_forms_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError):
        parse_distribution(text)


def test_empirical_from_a_file_draws_in_proportion(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "lengths.csv"
    path.write_text("length,count\n100,1\n200,3\n")
    dist = parse_distribution(f"empirical:{path}")
    assert isinstance(dist, Empirical)
    assert dist.mean == pytest.approx(175)
    assert dist.cdf(150) == pytest.approx(0.25)
    rng = random.Random(1)
    draws = [dist.sample_int(rng) for _ in range(4000)]
    assert set(draws) == {100, 200}
    assert draws.count(200) / len(draws) == pytest.approx(0.75, abs=0.03)
    assert distribution_from_config(dist.to_config()) == dist


def test_lognormal_keeps_its_mean() -> None:
    dist = LogNormal(400, 0.6)
    rng = random.Random(3)
    draws = [dist.sample(rng) for _ in range(20000)]
    assert sum(draws) / len(draws) == pytest.approx(400, rel=0.03)
    assert dist.cdf(400) > 0.5  # a right tail: most draws fall below the mean


async def test_the_records_keep_what_was_asked_and_the_endpoint_never_sees_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    endpoint = FakeEndpoint(time_to_first_token=0.0, inter_token_latency=0.0)
    payload = with_workload({"prompt": "hello"}, input_tokens=5, output_tokens=9, prefix=2)
    runner = Runner(endpoint, output_path=str(tmp_path))
    result = await runner.run(payload=[payload], n_requests=2, clients=1)
    assert len(result.responses) == 2
    for record in result.responses:
        assert record.requested_input_tokens == 5
        assert record.requested_output_tokens == 9
        assert record.workload == {"input_tokens": 5, "output_tokens": 9, "prefix": 2}
        assert record.input_payload is not None and WORKLOAD_KEY not in record.input_payload
