"""Synthetic workloads: exact prompt lengths, seeded length draws (KS-tested), shared prefixes,
and payloads in each endpoint's format."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio import Runner
from llmeter_trio.endpoints._fake import FakeEndpoint
from llmeter_trio.endpoints.anthropic import AnthropicMessagesEndpoint
from llmeter_trio.endpoints.openai import (
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
)
from llmeter_trio.prompts._exact import cut_to_length
from llmeter_trio.tokenizers import DummyTokenizer, HuggingFaceTokenizer, TiktokenTokenizer
from llmeter_trio.workloads import (
    WORKLOAD_KEY,
    Distribution,
    Empirical,
    Fixed,
    LogNormal,
    Normal,
    SharedPrefixes,
    SyntheticWorkload,
    Uniform,
)
from llmeter_trio.workloads._prefixes import SEPARATOR

from .strategies import seeds
from .tokenizer_files import TIKTOKEN_PATTERN, train_bpe, write_tiktoken


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tokenizers the tests build: a byte-level BPE tokenizer.json, a .tiktoken file (both
    sub-word: a cut need not round-trip) and the whitespace one."""
    folder = tmp_path_factory.mktemp("synthetic-tokenizers")
    return {
        "bpe": HuggingFaceTokenizer.from_file(train_bpe(folder / "bpe.json")),
        "tiktoken": TiktokenTokenizer.from_file(
            write_tiktoken(folder / "tiny.tiktoken"), pat_str=TIKTOKEN_PATTERN
        ),
        "dummy": DummyTokenizer(),
    }


TOKENIZERS = st.sampled_from(["bpe", "tiktoken", "dummy"])
LENGTH_DISTRIBUTIONS: st.SearchStrategy[Distribution] = st.one_of(
    st.builds(Fixed, st.integers(1, 1500)),
    st.builds(lambda low, span: Uniform(low, low + span), st.integers(1, 800), st.integers(0, 800)),
    st.builds(Normal, st.integers(1, 1000), st.integers(0, 300)),
    st.builds(LogNormal, st.integers(1, 1000), st.floats(0, 1.2)),
)


class TestExactInputLengths:
    @settings(max_examples=40, deadline=None)
    @given(TOKENIZERS, LENGTH_DISTRIBUTIONS, seeds)
    def test_every_prompt_has_exactly_the_asked_input_length(
        self, tokenizers: dict[str, Any], name: str, lengths: Distribution, seed: int
    ) -> None:
        """Under each tokenizer, whatever the distribution, each prompt measures exactly the
        input length drawn for it, and `num_tokens` says so."""
        tokenizer = tokenizers[name]
        workload = SyntheticWorkload(lengths, 8, requests=4, tokenizer=tokenizer, seed=seed)
        prompts = workload.prompts()
        assert [p.input_length for p in prompts] == [i for i, _ in workload.lengths()]
        for prompt in prompts:
            assert len(tokenizer.encode(prompt.prompt)) == prompt.input_length
            assert prompt.num_tokens == prompt.input_length

    def test_a_cut_starts_a_token_later_when_no_cut_here_fits(self) -> None:
        """Words starting with x are two tokens, so from "a" only odd lengths exist: re-cutting
        by the difference swings between 3 and 5 around 4; a start one token later fits."""

        class TwoTokenX(DummyTokenizer):
            def encode(self, text: str) -> list[str]:
                return [
                    piece
                    for word in text.split()
                    for piece in ([word + "#1", word + "#2"] if word.startswith("x") else [word])
                ]

            def decode(self, tokens: Any) -> str:
                kept = [
                    token.split("#")[0]
                    for i, token in enumerate(tokens)
                    if not (token.endswith("#2") and i > 0 and tokens[i - 1].endswith("#1"))
                ]
                return " ".join(kept)

        tokenizer = TwoTokenX()
        tokens = tokenizer.encode("a xb xc xd xe xf xg")
        cut = cut_to_length(tokenizer, tokens, 4, 0)
        assert len(tokenizer.encode(cut.text)) == cut.num_tokens == 4
        assert cut.offset == 1

    def test_cut_says_when_no_cut_measures_exactly(self) -> None:
        """A tokenizer that can only make even lengths: the closest cut is kept, and its
        `num_tokens` is its true length."""

        class Pairs(DummyTokenizer):
            def encode(self, text: str) -> list[str]:
                words = text.split()
                return words + words  # every word counts twice

        tokens = Pairs().encode("one two three four five six")[:6]
        cut = cut_to_length(Pairs(), tokens, 5, 0)
        assert cut.num_tokens in (4, 6)
        assert len(Pairs().encode(cut.text)) == cut.num_tokens


def ks_statistic(draws: list[int], dist: Distribution) -> float:
    """The Kolmogorov-Smirnov distance between whole-number draws (each a draw rounded to
    the nearest whole number) and the distribution: at each drawn value k, the share of
    draws at most k against ``cdf(k + 0.5)``, and below k against ``cdf(k - 0.5)``."""
    ordered = sorted(draws)
    counts = Counter(ordered)
    n, below, largest = len(ordered), 0, 0.0
    for value in sorted(counts):
        at_most = below + counts[value]
        largest = max(
            largest,
            abs(below / n - dist.cdf(value - 0.5)),
            abs(at_most / n - dist.cdf(value + 0.5)),
        )
        below = at_most
    return largest


DRAWS = 2000
KS_CRITICAL = 1.95 / math.sqrt(DRAWS)  # the 0.1% critical value of the KS statistic


class TestLengthDraws:
    @pytest.mark.parametrize(
        "dist", [Fixed(300), Uniform(100, 900), Normal(500, 50), LogNormal(500, 0.5)], ids=str
    )
    def test_draws_pass_a_ks_test_against_their_distribution(self, dist: Distribution) -> None:
        """Input and output lengths drawn at a fixed seed follow their distribution; a
        distribution shifted by a fifth of its mean is told apart (the test has power)."""
        workload = SyntheticWorkload(dist, dist, requests=DRAWS, seed=2024)
        inputs, outputs = zip(*workload.lengths(), strict=True)
        assert ks_statistic(list(inputs), dist) < KS_CRITICAL
        assert ks_statistic(list(outputs), dist) < KS_CRITICAL
        shifted = Fixed(dist.mean * 1.2) if isinstance(dist, Fixed) else Normal(dist.mean * 1.2, 1)
        assert ks_statistic(list(inputs), shifted) > KS_CRITICAL

    def test_empirical_histogram_draws_in_proportion(self, tmp_path: Path) -> None:
        """Each value of a histogram file is drawn as often as its weight says (within four
        binomial standard deviations), and no other value is."""
        path = tmp_path / "lengths.csv"
        path.write_text("length,count\n64,1\n512,2\n2048,7\n")
        workload = SyntheticWorkload(f"empirical:{path}", 16, requests=DRAWS, seed=5)
        counts = Counter(i for i, _ in workload.lengths())
        assert set(counts) == {64, 512, 2048}
        for value, share in ((64, 0.1), (512, 0.2), (2048, 0.7)):
            spread = 4 * math.sqrt(DRAWS * share * (1 - share))
            assert abs(counts[value] - DRAWS * share) < spread
        assert ks_statistic([i for i, _ in workload.lengths()], Empirical.from_file(path)) < (
            KS_CRITICAL
        )

    def test_seeded_and_each_kind_of_draw_on_its_own_stream(self) -> None:
        """The same seed gives the same workload; another seed other lengths; changing the
        output distribution leaves the input lengths (and prompts) as they were."""
        first = SyntheticWorkload("uniform:10,90", "uniform:1,50", requests=30, seed=11)
        again = SyntheticWorkload("uniform:10,90", "uniform:1,50", requests=30, seed=11)
        other = SyntheticWorkload("uniform:10,90", "uniform:1,50", requests=30, seed=12)
        longer = SyntheticWorkload("uniform:10,90", 1000, requests=30, seed=11)
        assert first.payloads(FakeEndpoint) == again.payloads(FakeEndpoint)
        assert first.lengths() != other.lengths()
        assert [p.prompt for p in first.prompts()] == [p.prompt for p in longer.prompts()]
        assert {o for _, o in longer.lengths()} == {1000}

    def test_a_seed_is_chosen_and_kept_when_none_is_given(self) -> None:
        workload = SyntheticWorkload(20, 5, requests=3)
        assert isinstance(workload.seed, int)
        assert SyntheticWorkload(20, 5, requests=3, seed=workload.seed).lengths() == (
            workload.lengths()
        )

    @pytest.mark.parametrize("value", ["zipf:1,2", -3, "uniform:9,1"])
    def test_bad_lengths_are_refused(self, value: Any) -> None:
        with pytest.raises(ValueError):
            SyntheticWorkload(value, 5)


PLACEMENTS = st.sampled_from(["document", "system"])


class TestSharedPrefixes:
    @settings(max_examples=25, deadline=None)
    @given(
        TOKENIZERS,
        PLACEMENTS,
        st.integers(1, 4),
        st.integers(1, 4),
        st.integers(1, 200),
        st.integers(10, 300),
        seeds,
    )
    def test_total_length_exact_prefixes_shared_and_interleaved(
        self,
        tokenizers: dict[str, Any],
        name: str,
        placement: str,
        count: int,
        suffixes: int,
        prefix_length: int,
        extra: int,
        seed: int,
    ) -> None:
        """Prefix and suffix measure together, as sent, exactly the asked input length; the
        requests of a group share one prefix text; prefixes differ from their first token;
        every prefix comes once in each round of `count` requests."""
        tokenizer = tokenizers[name]
        prefixes = SharedPrefixes(count, prefix_length, suffixes, placement)  # type: ignore[arg-type]
        workload = SyntheticWorkload(
            prefix_length + extra, 4, tokenizer=tokenizer, seed=seed, prefixes=prefixes
        )
        prompts = workload.prompts()
        assert len(prompts) == count * suffixes
        texts: dict[int, str] = {}
        for prompt in prompts:
            assert prompt.prefix is not None and prompt.prefix_text is not None
            prefix = prompt.prefix_text
            if placement == "system":
                assert prompt.system == prefix
                sent = len(tokenizer.encode(prompt.system)) + len(tokenizer.encode(prompt.prompt))
            else:
                assert prompt.prompt.startswith(prefix + SEPARATOR)
                sent = len(tokenizer.encode(prompt.prompt))
            assert sent == prompt.input_length == prefix_length + extra
            assert len(tokenizer.encode(prefix)) == prefix_length
            assert texts.setdefault(prompt.prefix, prefix) == prefix
        firsts = [tokenizer.encode(text)[0] for text in texts.values()]
        assert len(set(firsts)) == count
        groups = [p.prefix for p in prompts]
        for start in range(0, len(groups), count):
            assert sorted(groups[start : start + count]) == list(range(count))  # type: ignore[type-var]

    def test_prefix_lengths_drawn_from_their_distribution(self) -> None:
        workload = SyntheticWorkload(
            400, 4, seed=3, prefixes=SharedPrefixes(6, "uniform:50,300", 2)
        )
        lengths = {p.prefix: len(str(p.prefix_text).split()) for p in workload.prompts()}
        assert len(set(lengths.values())) > 1
        assert all(50 <= n <= 300 for n in lengths.values())

    def test_payloads_carry_their_prefix_group(self) -> None:
        workload = SyntheticWorkload(60, 8, seed=1, prefixes=SharedPrefixes(2, 20, 3))
        payloads = workload.payloads(OpenAIChatEndpoint)
        assert Counter(p[WORKLOAD_KEY]["prefix"] for p in payloads) == {0: 3, 1: 3}

    def test_system_prefixes_go_where_each_format_keeps_them(self) -> None:
        workload = SyntheticWorkload(
            60, 8, seed=1, prefixes=SharedPrefixes(2, 20, 1, placement="system")
        )
        chat = workload.payloads(OpenAIChatEndpoint)[0]
        assert [m["role"] for m in chat["messages"]] == ["system", "user"]
        anthropic = workload.payloads(AnthropicMessagesEndpoint)[0]
        assert len(str(anthropic["system"]).split()) >= 20
        with pytest.raises(ValueError, match="document"):
            workload.payloads(OpenAICompletionsEndpoint)

    def test_more_requests_than_prefixes_make_is_refused(self) -> None:
        with pytest.raises(ValueError, match="give one or the other"):
            SyntheticWorkload(60, 8, requests=5, prefixes=SharedPrefixes(2, 20, 3))

    def test_an_input_no_longer_than_its_prefix_is_refused(self) -> None:
        workload = SyntheticWorkload(20, 8, seed=1, prefixes=SharedPrefixes(1, 30, 1))
        with pytest.raises(ValueError, match="no room for a suffix"):
            workload.prompts()

    @pytest.mark.parametrize(("field", "value"), [("count", 0), ("suffixes", 0)])
    def test_bad_prefix_settings_are_refused(self, field: str, value: int) -> None:
        options: dict[str, Any] = {"count": 2, "length": 10, "suffixes": 2, field: value}
        with pytest.raises(ValueError):
            SharedPrefixes(**options)
        with pytest.raises(ValueError, match="placement"):
            SharedPrefixes(2, 10, 2, "footer")  # type: ignore[arg-type]


class TestPayloads:
    def test_payloads_in_the_endpoints_format_with_what_they_asked(self) -> None:
        workload = SyntheticWorkload("uniform:5,50", "uniform:1,9", requests=5, seed=2)
        lengths = workload.lengths()
        for endpoint, text_of in (
            (OpenAIChatEndpoint, lambda p: p["messages"][-1]["content"]),
            (OpenAICompletionsEndpoint, lambda p: p["prompt"]),
            (FakeEndpoint, lambda p: p["prompt"]),
        ):
            payloads = workload.payloads(endpoint)
            for payload, (asked_in, asked_out) in zip(payloads, lengths, strict=True):
                assert payload[WORKLOAD_KEY] == {
                    "input_tokens": asked_in,
                    "output_tokens": asked_out,
                }
                assert payload["max_tokens"] == asked_out
                assert len(text_of(payload).split()) == asked_in
                assert "ignore_eos" not in payload

    @pytest.mark.parametrize("endpoint", [OpenAIChatEndpoint, OpenAICompletionsEndpoint])
    def test_exact_output_asks_the_server_not_to_stop_early(self, endpoint: Any) -> None:
        workload = SyntheticWorkload(10, "uniform:1,99", requests=4, seed=2, exact_output=True)
        for payload in workload.payloads(endpoint):
            assert payload["ignore_eos"] is True
            assert payload["min_tokens"] == payload["max_tokens"]

    @pytest.mark.parametrize(
        "endpoint", [AnthropicMessagesEndpoint, OpenAIResponsesEndpoint, FakeEndpoint]
    )
    def test_exact_output_is_refused_for_formats_without_it(self, endpoint: Any) -> None:
        workload = SyntheticWorkload(10, 10, requests=1, exact_output=True)
        with pytest.raises(ValueError, match="ignore_eos and min_tokens"):
            workload.payloads(endpoint)

    async def test_records_keep_asked_lengths_beside_served(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Against an endpoint that serves at most 20 tokens, the records keep what each
        request asked beside what it was served."""
        workload = SyntheticWorkload("uniform:20,80", "uniform:10,30", requests=10, seed=4)
        endpoint = FakeEndpoint(output_tokens=20)
        result = await Runner(endpoint).run(
            payload=workload.payloads(endpoint), n_requests=10, show_progress=False
        )
        for record in result.responses:
            assert record.num_tokens_input == record.requested_input_tokens
            assert record.requested_output_tokens is not None
            assert record.num_tokens_output == min(20, record.requested_output_tokens)

    def test_a_source_without_text_is_refused(self, tmp_path: Path) -> None:
        empty = tmp_path / "empty.txt"
        empty.write_text("   \n")
        with pytest.raises(ValueError, match="no text"):
            SyntheticWorkload(10, 10, requests=1, source_file=empty).prompts()


def test_random_offsets_spread_prompts_over_the_source() -> None:
    prompts = SyntheticWorkload(12, 4, requests=40, seed=random.Random(1).randrange(99)).prompts()
    assert len({p.prompt.split()[0] for p in prompts}) > 20
