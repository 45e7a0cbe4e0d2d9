"""Properties of the quota arithmetic, for any traffic: the simulator's buckets never admit more
than a minute's budget plus what they refilled, and their Retry-After is honest; `TokenRate`
never sends faster than its budget, and never waits longer than the answers make it."""

from __future__ import annotations

import itertools
import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.schedules import TokenRate
from llmeter_trio.sim._bucket import RateLimiter

from ._support.virtual import run_virtual

EPSILON = 1e-6
requests = st.lists(
    st.tuples(st.floats(min_value=0, max_value=5), st.integers(min_value=1, max_value=200)),
    max_size=200,
)


@given(requests, st.integers(min_value=60, max_value=6000))
def test_the_bucket_admits_at_most_its_budget_and_says_when_to_retry(
    traffic: list[tuple[float, int]], per_minute: int
) -> None:
    """By any time t, admitted tokens <= budget + budget/60 * t; a refused request fits once
    its Retry-After has passed (or never, when larger than the budget)."""
    limiter = RateLimiter.per_minute(None, per_minute)
    assert limiter is not None
    now, admitted = 0.0, 0
    for gap, tokens in traffic:
        now += gap
        refused = limiter.admit(now, tokens)
        if refused is not None:
            wait = refused[1]
            if math.isinf(wait):
                assert tokens > per_minute
                continue
            assert wait > 0
            now += wait + EPSILON
            assert limiter.admit(now, tokens) is None
        admitted += tokens
        assert admitted <= per_minute + per_minute / 60 * now + EPSILON


# (max_tokens reserved, output tokens answered) per payload; the answer never exceeds the limit
payload_specs = st.lists(
    st.tuples(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=300)),
    min_size=1,
    max_size=4,
)
ANSWER = 0.01  # seconds each answer takes


def paced(specs: list[tuple[int, int]], per_minute: int, n: int) -> Result:
    payloads = [
        {"prompt": "", "max_tokens": limit,
         "fake": {"output_tokens": output, "time_to_first_token": ANSWER, "inter_token_latency": 0}}
        for limit, output in specs
    ]  # fmt: skip
    endpoint = FakeEndpoint()
    runner = Runner(endpoint, seed=3)
    schedule = TokenRate(tokens_per_minute=per_minute)
    result: Result = run_virtual(
        runner.run, payload=payloads, schedule=schedule, n_requests=n, progress_bar_stats={}
    )
    return result


@settings(max_examples=15, deadline=None)
@given(payload_specs, st.integers(min_value=600, max_value=60_000))
@example(specs=[(0, 0), (1, 1)], per_minute=600)  # free requests leave beside paid ones
def test_tokenrate_is_never_faster_than_its_budget_nor_slower_than_it_must_be(
    specs: list[tuple[int, int]], per_minute: int
) -> None:
    """For each request k leaving at t_k: the tokens used by those before it are at most
    budget/60 * t_k, and t_k is at most the sum of what each earlier one had to wait: its
    reservation at the budget's pace, or, once its answer came, the tokens it used."""
    per_second = per_minute / 60
    result = paced(specs, per_minute, n=12)
    records = sorted(result.responses, key=lambda r: r.intended_send_time or 0.0)
    assert len(records) == 12
    used = 0
    bound = 0.0
    # requests leaving at the same instant (a reservation of 0 tokens leaves at once) are
    # in no known order: each is checked against those that left strictly before it
    for sent, group in itertools.groupby(records, key=lambda r: r.intended_send_time):
        same_instant = list(group)
        assert sent is not None and not any(r.failed for r in same_instant)
        assert used <= per_second * sent + EPSILON
        assert sent <= bound + EPSILON
        for record in same_instant:
            tokens = (record.num_tokens_input or 0) + (record.num_tokens_output or 0)
            used += tokens
            assert record.input_payload is not None
            reserved = record.input_payload["max_tokens"]
            bound += min(reserved / per_second, max(ANSWER, tokens / per_second))
