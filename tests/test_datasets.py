"""Datasets as payload sources: each format, column maps, filters, seeded samples, payloads in
each endpoint's shape, and timestamps replayed as a trace (in virtual time)."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import fsspec
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Runner
from llmeter_trio.endpoints.anthropic import AnthropicMessagesEndpoint
from llmeter_trio.endpoints.openai import OpenAIChatEndpoint, OpenAICompletionsEndpoint
from llmeter_trio.workloads import WORKLOAD_KEY, ColumnMap, Dataset, DatasetRow

CONVERSATIONS = [
    {
        "id": "a",
        "conversations": [
            {"from": "system", "value": "You are terse."},
            {"from": "human", "value": "Name three rivers"},
            {"from": "gpt", "value": "Nile Amazon Danube"},
            {"from": "human", "value": "And two lakes?"},
            {"from": "gpt", "value": "Baikal Victoria"},
        ],
    },
    {
        "id": "b",
        "conversations": [
            {"from": "human", "value": "Say hello"},
            {"from": "gpt", "value": "Hello"},
        ],
    },
    {"id": "c", "conversations": [{"from": "gpt", "value": "nobody asked"}]},
]

TABLE = [
    {"question": "one two three", "answer_tokens": 10, "ts": 1000, "sys": "be brief"},
    {"question": "four five", "answer_tokens": 20, "ts": 1250, "sys": ""},
    {"question": "six", "answer_tokens": 30, "ts": 1100, "sys": ""},
    {"question": "seven eight nine ten", "answer_tokens": 40, "ts": 1900, "sys": ""},
]
MAPPED = ColumnMap(prompt="question", system="sys", output_length="answer_tokens", timestamp="ts")


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def write_csv(path: Path, records: list[dict[str, Any]]) -> str:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return str(path)


class TestShareGPT:
    def test_rows_from_a_json_list(self, tmp_path: Path) -> None:
        """First user turn is the prompt, the system turn the system prompt, the first
        answer's token count the expected length; a conversation with no user turn is skipped."""
        path = tmp_path / "chats.json"
        path.write_text(json.dumps(CONVERSATIONS))
        dataset = Dataset.load(path)
        assert [row.prompt for row in dataset.rows] == ["Name three rivers", "Say hello"]
        first = dataset.rows[0]
        assert (first.system, first.output_tokens, first.input_tokens) == ("You are terse.", 3, 6)
        assert dataset.skipped == 1
        assert dataset.conversations() == [["Name three rivers", "And two lakes?"], ["Say hello"]]

    def test_jsonl_with_messages_roles(self, tmp_path: Path) -> None:
        """The ``messages``/``role``/``content`` variant, one conversation a line."""
        records = [
            {
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "hi there"}]},
                    {"role": "assistant", "content": "hello to you"},
                ]
            }
        ]
        dataset = Dataset.load(write_jsonl(tmp_path / "m.jsonl", records), "sharegpt")
        assert (dataset.rows[0].prompt, dataset.rows[0].output_tokens) == ("hi there", 3)

    def test_unknown_speaker_names_the_record_and_turn(self, tmp_path: Path) -> None:
        records = [{"conversations": [{"from": "robot", "value": "x"}]}]
        with pytest.raises(ValueError, match=r"record 0, turn 1: unknown speaker 'robot'"):
            Dataset.load(write_jsonl(tmp_path / "bad.jsonl", records))

    def test_a_flat_record_is_no_conversation(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="not a conversation"):
            Dataset.load(write_jsonl(tmp_path / "flat.jsonl", TABLE), "sharegpt")


class TestColumnMaps:
    @pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
    def test_each_flat_format_reads_the_mapped_columns(self, tmp_path: Path, kind: str) -> None:
        """JSONL, CSV (numbers as text) and Parquet give the same rows through one map."""
        if kind == "jsonl":
            path = write_jsonl(tmp_path / "t.jsonl", TABLE)
        elif kind == "csv":
            path = write_csv(tmp_path / "t.csv", TABLE)
        else:
            pa = pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (datasets extra)")
            import pyarrow.parquet as pq

            path = str(tmp_path / "t.parquet")
            pq.write_table(pa.Table.from_pylist(TABLE), path)
        dataset = Dataset.load(path, columns=MAPPED)
        assert [row.prompt for row in dataset.rows] == [r["question"] for r in TABLE]
        assert [row.output_tokens for row in dataset.rows] == [10, 20, 30, 40]
        assert [row.timestamp for row in dataset.rows] == [1000, 1250, 1100, 1900]
        assert dataset.rows[0].system == "be brief" and dataset.rows[1].system is None
        assert dataset.rows[0].input_tokens == 3 + 2  # the prompt's and the system prompt's

    def test_a_missing_column_is_named_with_the_columns_there(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "t.csv", TABLE)
        with pytest.raises(ValueError) as caught:
            Dataset.load(path, columns=ColumnMap(prompt="prompt_text"))
        message = str(caught.value)
        assert "no column 'prompt_text' (the prompt)" in message
        assert "'question', 'answer_tokens', 'ts', 'sys'" in message

    def test_the_default_prompt_column_is_prompt(self, tmp_path: Path) -> None:
        dataset = Dataset.load(write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a b"}]))
        assert (dataset.rows[0].prompt, dataset.rows[0].output_tokens) == ("a b", None)

    def test_an_answer_column_gives_its_token_count(self, tmp_path: Path) -> None:
        path = write_jsonl(tmp_path / "qa.jsonl", [{"q": "why", "a": "because it is so"}])
        dataset = Dataset.load(path, columns=ColumnMap(prompt="q", answer="a"))
        assert dataset.rows[0].output_tokens == 4

    def test_a_length_that_is_no_number_is_refused(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "t.csv", [{"prompt": "x", "n": "many"}])
        with pytest.raises(ValueError, match=r"record 0: column 'n' must hold a whole number"):
            Dataset.load(path, columns=ColumnMap(output_length="n"))

    def test_unknown_roles_are_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown dataset column role 'question'"):
            ColumnMap.parse({"question": "q"})
        with pytest.raises(ValueError, match="output_length or answer"):
            ColumnMap(output_length="n", answer="a")

    def test_any_fsspec_url(self) -> None:
        """A dataset in ``memory://`` (any fsspec filesystem) reads like a local file."""
        with fsspec.open("memory://datasets/t.jsonl", "w") as file:
            file.write("".join(json.dumps(r) + "\n" for r in TABLE))
        dataset = Dataset.load("memory://datasets/t.jsonl", columns=MAPPED)
        assert len(dataset) == 4

    def test_a_name_without_a_known_extension_needs_a_format(self, tmp_path: Path) -> None:
        (tmp_path / "data.txt").write_text("x")
        with pytest.raises(ValueError, match="--dataset-format"):
            Dataset.load(tmp_path / "data.txt")


class TestHuggingFace:
    @pytest.fixture(autouse=True)
    def _needs_datasets(self) -> None:
        pytest.importorskip("datasets", reason="the hf format needs `datasets` (datasets extra)")

    def test_a_dataset_saved_to_disk(self, tmp_path: Path) -> None:
        """``save_to_disk`` folders load through ``load_from_disk``; a DatasetDict's split
        is chosen (train by default)."""
        import datasets

        table = datasets.Dataset.from_list(TABLE)
        table.save_to_disk(str(tmp_path / "one"))
        assert len(Dataset.load(tmp_path / "one", columns=MAPPED)) == 4
        both = datasets.DatasetDict({"train": table, "test": table.select([0])})
        both.save_to_disk(str(tmp_path / "two"))
        assert len(Dataset.load(tmp_path / "two", columns=MAPPED)) == 4
        assert len(Dataset.load(tmp_path / "two", columns=MAPPED, split="test")) == 1
        with pytest.raises(ValueError, match="no split 'dev'; it has train, test"):
            Dataset.load(tmp_path / "two", columns=MAPPED, split="dev")

    def test_conversations_in_a_saved_dataset(self, tmp_path: Path) -> None:
        import datasets

        datasets.Dataset.from_list(CONVERSATIONS[:2]).save_to_disk(str(tmp_path / "chats"))
        dataset = Dataset.load(tmp_path / "chats")
        assert [row.prompt for row in dataset.rows] == ["Name three rivers", "Say hello"]

    def test_a_local_data_file(self, tmp_path: Path) -> None:
        path = write_jsonl(tmp_path / "t.jsonl", TABLE)
        assert len(Dataset.load(path, "hf", columns=MAPPED)) == 4

    def test_a_hub_name_is_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A name that is no local path nor URL is refused, as is a folder `datasets` did
        not save."""
        monkeypatch.chdir(tmp_path)
        with pytest.raises(FileNotFoundError, match="never downloaded from the Hub"):
            Dataset.load("anon8231489123/ShareGPT_Vicuna_unfiltered", "hf")
        (tmp_path / "saved").mkdir()
        write_jsonl(tmp_path / "saved" / "t.jsonl", TABLE)
        with pytest.raises(ValueError, match="not a dataset saved with save_to_disk"):
            Dataset.load("saved", "hf")

    def test_datasets_runs_offline_while_loading_only(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`datasets` is in offline mode (environment and flags) while the dataset loads,
        and as it was afterwards."""
        import datasets

        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
        datasets.Dataset.from_list(TABLE).save_to_disk(str(tmp_path / "one"))
        seen = []
        load_from_disk = datasets.load_from_disk

        def watched(*args: Any, **kwargs: Any) -> Any:
            seen.append((os.environ.get("HF_HUB_OFFLINE"), datasets.config.HF_HUB_OFFLINE))
            return load_from_disk(*args, **kwargs)

        monkeypatch.setattr(datasets, "load_from_disk", watched)
        Dataset.load(tmp_path / "one", columns=MAPPED)
        assert seen == [("1", True)]
        assert "HF_HUB_OFFLINE" not in os.environ and datasets.config.HF_HUB_OFFLINE is False


@pytest.fixture
def table(tmp_path: Path) -> Dataset:
    return Dataset.load(write_jsonl(tmp_path / "t.jsonl", TABLE), columns=MAPPED)


class TestFilters:
    def test_input_and_output_bounds(self, table: Dataset) -> None:
        """Bounds are inclusive, on the tokenizer's input count and the expected output."""
        kept = table.filter(min_input_tokens=2, max_input_tokens=4)
        assert [row.prompt for row in kept.rows] == ["four five", "seven eight nine ten"]
        kept = table.filter(min_output_tokens=20, max_output_tokens=30)
        assert [row.output_tokens for row in kept.rows] == [20, 30]

    def test_unknown_output_lengths_fail_an_output_bound(self, tmp_path: Path) -> None:
        dataset = Dataset.load(write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a"}] * 3))
        assert len(dataset.filter(max_input_tokens=1)) == 3
        with pytest.raises(ValueError, match="no row of the 3 is within the length bounds"):
            dataset.filter(max_output_tokens=100)

    def test_the_tokenizer_counts(self, tmp_path: Path) -> None:
        """Lengths are measured with the tokenizer given (here: one token per character)."""

        class Characters:
            def encode(self, text: str) -> list[str]:
                return list(text)

            def decode(self, tokens: Any) -> str:
                return "".join(tokens)

        path = write_jsonl(tmp_path / "t.jsonl", TABLE)
        dataset = Dataset.load(path, columns=ColumnMap(prompt="question"), tokenizer=Characters())
        assert [row.input_tokens for row in dataset.filter(max_input_tokens=8).rows] == [3]


class TestSampling:
    def test_the_same_seed_draws_the_same_rows(self, tmp_path: Path) -> None:
        records = [{"prompt": f"prompt {i}"} for i in range(200)]
        dataset = Dataset.load(write_jsonl(tmp_path / "p.jsonl", records))
        first, again = dataset.sample(20, seed=7), dataset.sample(20, seed=7)
        assert first.rows == again.rows
        assert dataset.sample(20, seed=8).rows != first.rows
        assert len({row.source for row in first.rows}) == 20  # no row twice

    @given(
        size=st.integers(min_value=1, max_value=40),
        share=st.floats(min_value=0.01, max_value=1.0),
        seed=st.integers(min_value=0, max_value=2**32 - 1),
    )
    def test_a_sample_is_distinct_rows_of_the_dataset(
        self, size: int, share: float, seed: int
    ) -> None:
        """Without replacement: n distinct rows of the dataset, the same for the same seed."""
        dataset = Dataset(
            rows=[DatasetRow(prompt=f"p{i}", input_tokens=1, source=i) for i in range(size)]
        )
        n = max(1, round(size * share))
        drawn = dataset.sample(n, seed)
        sources = [row.source for row in drawn.rows]
        assert len(set(sources)) == n and set(sources) <= set(range(size))
        assert drawn == dataset.sample(n, seed)

    def test_with_replacement(self, table: Dataset) -> None:
        drawn = table.sample(50, seed=1, replace=True)
        assert len(drawn) == 50 and len({row.source for row in drawn.rows}) <= 4
        assert drawn.rows == table.sample(50, seed=1, replace=True).rows
        with pytest.raises(ValueError, match="cannot sample 5 rows of 4 without replacement"):
            table.sample(5, seed=1)


class TestPayloads:
    def test_openai_chat(self, table: Dataset) -> None:
        """The system prompt is a system message; max_tokens the expected length; what was
        asked rides along to the record."""
        payload = table.payloads(OpenAIChatEndpoint, stream=True)[0]
        assert payload["messages"] == [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "one two three"},
        ]
        assert (payload["max_tokens"], payload["stream"]) == (10, True)
        assert payload[WORKLOAD_KEY] == {"input_tokens": 5, "output_tokens": 10, "source": 0}

    def test_anthropic_messages(self, table: Dataset) -> None:
        payload = table.payloads(AnthropicMessagesEndpoint)[0]
        assert payload["system"] == "be brief" and payload["max_tokens"] == 10
        assert payload["messages"][0]["role"] == "user"

    def test_a_format_without_a_system_prompt_gets_it_before_the_prompt(
        self, table: Dataset
    ) -> None:
        payload = table.payloads(OpenAICompletionsEndpoint)[0]
        assert payload["prompt"] == "be brief\n\none two three"

    @pytest.mark.plugins
    def test_bedrock_converse(self, table: Dataset) -> None:
        aws = pytest.importorskip("llmeter_trio_aws", reason="the AWS plugin is not installed")
        payload = table.payloads(aws.BedrockConverseEndpoint)[0]
        assert payload["system"] == [{"text": "be brief"}]
        assert payload["inferenceConfig"]["maxTokens"] == 10
        assert payload["messages"][0]["content"] == [{"text": "one two three"}]

    def test_unknown_lengths_ask_the_default(self, tmp_path: Path) -> None:
        dataset = Dataset.load(write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a b"}]))
        payload = dataset.payloads(OpenAIChatEndpoint, max_tokens=99)[0]
        assert payload["max_tokens"] == 99
        assert payload[WORKLOAD_KEY] == {"input_tokens": 2, "source": 0}


class TestTimestamps:
    def test_seconds_milliseconds_and_iso(self, tmp_path: Path) -> None:
        """Arrivals count from the first timestamp, in time order, each naming its payload."""
        path = write_jsonl(tmp_path / "t.jsonl", TABLE)
        dataset = Dataset.load(path, columns=MAPPED)
        in_ms = [(a.time, a.payload) for a in dataset.arrivals("ms")]
        assert in_ms == [(0.0, 0), (pytest.approx(0.1), 2), (0.25, 1), (pytest.approx(0.9), 3)]
        assert [a.time for a in dataset.arrivals()] == [0.0, 100.0, 250.0, 900.0]
        stamps = [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:01.5+00:00",
            "2024-05-01T13:00:00+01:00",
        ]
        records = [{"prompt": "x", "ts": stamp} for stamp in stamps]
        iso = Dataset.load(write_jsonl(tmp_path / "iso.jsonl", records), columns=MAPPED_ISO)
        assert [(a.time, a.payload) for a in iso.arrivals()] == [(0.0, 0), (0.0, 2), (1.5, 1)]

    def test_parquet_datetimes(self, tmp_path: Path) -> None:
        """Timestamps stored as Parquet datetimes (with or without a zone) read as such."""
        pa = pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (datasets extra)")
        import pyarrow.parquet as pq

        start = datetime(2024, 5, 1, 12, 0, 0)
        table = pa.table(
            {
                "prompt": ["a", "b"],
                "ts": pa.array([start, start + timedelta(seconds=2.5)], pa.timestamp("ms")),
            }
        )
        pq.write_table(table, tmp_path / "t.parquet")
        dataset = Dataset.load(tmp_path / "t.parquet", columns=MAPPED_ISO)
        assert [(a.time, a.payload) for a in dataset.arrivals()] == [(0.0, 0), (2.5, 1)]

    def test_a_row_without_a_timestamp(self, table: Dataset, tmp_path: Path) -> None:
        dataset = Dataset.load(write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a"}]))
        with pytest.raises(ValueError, match="record 0: no timestamp"):
            dataset.arrivals()
        bad = Dataset.load(
            write_jsonl(tmp_path / "b.jsonl", [{"prompt": "a", "ts": "yesterday"}]),
            columns=MAPPED_ISO,
        )
        with pytest.raises(ValueError, match="neither a number nor an ISO 8601 datetime"):
            bad.arrivals()

    async def test_a_run_sends_each_row_at_its_time(
        self, table: Dataset, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Against FakeEndpoint in virtual time: each row is sent at its (scaled) timestamp,
        its record says which row it was and the lengths it asked."""
        sampled = table.sample(3, seed=5)
        schedule = sampled.trace(tmp_path / "trace.jsonl", timestamp_unit="ms", time_scale=2.0)
        result = await Runner(FakeEndpoint(time_to_first_token=0.01), seed=0).run(
            payload=sampled.payloads(FakeEndpoint), schedule=schedule
        )
        records = sorted(result.responses, key=lambda r: r.send_time or 0)
        by_source = {
            r["source"]: r["ts"] for r in ({**t, "source": i} for i, t in enumerate(TABLE))
        }
        stamps = [by_source[record.workload["source"]] for record in records]  # type: ignore[index]
        assert stamps == sorted(row.timestamp for row in sampled.rows)  # type: ignore[type-var]
        expected = [(stamp - stamps[0]) / 1000 * 2.0 for stamp in stamps]
        assert [r.intended_send_time for r in records] == pytest.approx(expected)
        assert [r.send_time - records[0].send_time for r in records] == pytest.approx(expected)  # type: ignore[operator]
        assert [r.requested_output_tokens for r in records] == [
            TABLE[r.workload["source"]]["answer_tokens"]  # type: ignore[index]
            for r in records
        ]


MAPPED_ISO = ColumnMap(timestamp="ts")
