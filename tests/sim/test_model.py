"""The latency model, output lengths and fault draws, without a server."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from llmeter_trio.sim import Fault, Faults, Jitter, SimConfig, plan


def test_constant_timeline_is_exact() -> None:
    config = SimConfig(ttft_base=0.2, ttft_per_input_token=0.01, itl=0.05, output_tokens=10)
    p = plan(config, random.Random(0), input_tokens=5)
    assert [c.tokens for c in p.chunks] == [1] * 10
    assert [c.at for c in p.chunks] == pytest.approx([0.25 + 0.05 * i for i in range(10)])
    assert p.duration == pytest.approx(0.25 + 0.45)
    assert (p.output_tokens, p.reasoning_tokens, p.content_tokens) == (10, 0, 10)
    assert not p.length_limited


def test_chunks_carry_several_tokens_and_wait_for_all_of_them() -> None:
    config = SimConfig(ttft_base=0.1, itl=0.01, tokens_per_chunk=3, output_tokens=10)
    p = plan(config, random.Random(0), input_tokens=0)
    assert [c.tokens for c in p.chunks] == [3, 3, 3, 1]
    # first chunk at the TTFT, then each chunk once its tokens are generated
    assert [c.at for c in p.chunks] == pytest.approx([0.1, 0.13, 0.16, 0.17])


def test_reasoning_comes_first_and_never_shares_a_chunk() -> None:
    config = SimConfig(ttft_base=0.0, itl=0.01, tokens_per_chunk=2, reasoning_tokens=3)
    p = plan(config, random.Random(0), input_tokens=0, max_tokens=7)
    assert [(c.tokens, c.reasoning) for c in p.chunks] == [
        (2, True),
        (1, True),
        (2, False),
        (2, False),
    ]
    assert (p.output_tokens, p.reasoning_tokens, p.content_tokens) == (7, 3, 4)
    assert p.length_limited


def test_max_tokens_below_the_reasoning_leaves_no_content() -> None:
    p = plan(SimConfig(reasoning_tokens=8), random.Random(0), input_tokens=0, max_tokens=5)
    assert (p.reasoning_tokens, p.content_tokens) == (5, 0)
    assert all(c.reasoning for c in p.chunks)


def test_no_reasoning_when_the_api_has_none() -> None:
    p = plan(SimConfig(reasoning_tokens=4), random.Random(0), input_tokens=0, reasoning=False)
    assert p.reasoning_tokens == 0 and not any(c.reasoning for c in p.chunks)


def test_stall_delays_every_chunk_after_it() -> None:
    faults = Faults(stall_duration=0.5, stall_after_chunks=2)
    config = SimConfig(ttft_base=0.1, itl=0.01, output_tokens=4, faults=faults)
    p = plan(config, random.Random(0), input_tokens=0, fault=Fault.STALL)
    assert [c.at for c in p.chunks] == pytest.approx([0.1, 0.11, 0.62, 0.63])


def test_stall_and_drop_stay_inside_the_stream() -> None:
    faults = Faults(stall_after_chunks=50, drop_after_chunks=50, stall_duration=1.0)
    config = SimConfig(ttft_base=0.0, itl=0.0, output_tokens=3, faults=faults)
    stalled = plan(config, random.Random(0), input_tokens=0, fault=Fault.STALL)
    assert [c.at for c in stalled.chunks] == [0.0, 0.0, 1.0]
    dropped = plan(config, random.Random(0), input_tokens=0, fault=Fault.DROP)
    assert dropped.drop_after == 2


def test_jitter_is_seeded_non_negative_and_keeps_its_mean() -> None:
    for kind in ("uniform", "normal", "lognormal"):
        jitter = Jitter(kind=kind, scale=0.5 if kind == "lognormal" else 0.004)
        draws = [jitter.sample(random.Random(7), 0.01) for _ in range(3)]
        assert len(set(draws)) == 1  # same seed, same draw
        rng = random.Random(1)
        many = [jitter.sample(rng, 0.01) for _ in range(20_000)]
        assert min(many) >= 0.0
        assert statistics.fmean(many) == pytest.approx(0.01, rel=0.05), kind
        assert statistics.pstdev(many) > 0.001, kind
    assert Jitter().sample(random.Random(0), 0.03) == 0.03


def test_jittered_timeline_is_reproducible() -> None:
    config = SimConfig(
        ttft_jitter=Jitter(kind="normal", scale=0.01),
        itl_jitter=Jitter(kind="uniform", scale=0.005),
    )
    a = plan(config, random.Random(3), input_tokens=2)
    b = plan(config, random.Random(3), input_tokens=2)
    assert a == b
    times = [c.at for c in a.chunks]
    assert times == sorted(times)
    assert len({round(y - x, 9) for x, y in itertools.pairwise(times)}) > 1


def test_fault_rates_are_seeded_and_respected() -> None:
    faults = Faults(throttle_rate=0.2, server_error_rate=0.1, drop_rate=0.1, stall_rate=0.1)
    rng = random.Random(5)
    draws = [faults.draw(rng) for _ in range(10_000)]
    counts = {fault: sum(1 for f, _ in draws if f is fault) for fault in Fault}
    assert counts[Fault.THROTTLED] == pytest.approx(2000, abs=200)
    assert counts[Fault.SERVER_ERROR] == pytest.approx(1000, abs=150)
    assert counts[Fault.DROP] == pytest.approx(1000, abs=150)
    assert counts[Fault.STALL] == pytest.approx(1000, abs=150)
    assert counts[Fault.NONE] == pytest.approx(5000, abs=250)
    assert {code for f, code in draws if f is Fault.SERVER_ERROR} == {500, 503}
    assert all(code == 429 for f, code in draws if f is Fault.THROTTLED)
    rng2 = random.Random(5)
    assert [faults.draw(rng2) for _ in range(10_000)] == draws


def test_no_fault_draws_nothing_from_the_generator() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert Faults().draw(rng) == (Fault.NONE, None)
    assert rng.getstate() == state


def test_fault_header_values() -> None:
    assert Fault.parse("429") == (Fault.THROTTLED, 429)
    assert Fault.parse("503") == (Fault.SERVER_ERROR, 503)
    assert Fault.parse(" Drop ") == (Fault.DROP, None)
    assert Fault.parse("stall") == (Fault.STALL, None)
    assert Fault.parse("none") == (Fault.NONE, None)
    for bad in ("404", "5000", "explode", ""):
        with pytest.raises(ValueError):
            Fault.parse(bad)


def test_invalid_configurations_are_refused() -> None:
    with pytest.raises(ValueError):
        Faults(throttle_rate=0.6, stall_rate=0.6)
    with pytest.raises(ValueError):
        Faults(server_error_codes=(404,))
    with pytest.raises(ValueError):
        SimConfig(itl=-0.1)
    with pytest.raises(ValueError):
        SimConfig(tokens_per_chunk=0)
    with pytest.raises(ValueError):
        SimConfig(max_concurrency=0)
    with pytest.raises(ValueError):
        Jitter(kind="cauchy")  # type: ignore[arg-type]
