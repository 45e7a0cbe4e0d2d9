"""Prompt collections (lengths, seeds, offsets) and payload files (round trips, errors)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Runner
from llmeter_trio.engine._payloads import normalize_payloads
from llmeter_trio.prompts import (
    SAMPLE_TEXT_FILE,
    CreatePromptCollection,
    PayloadFileError,
    load_payloads,
    load_prompts,
    save_payloads,
)
from llmeter_trio.tokenizers import DummyTokenizer, HuggingFaceTokenizer, TiktokenTokenizer

from .strategies import payload_lists, payloads, seeds, token_lengths
from .tokenizer_files import TIKTOKEN_PATTERN, sample_text, train_bpe, write_tiktoken

SOURCE_WORDS = len(sample_text().split())


@pytest.fixture(scope="module")
def real_tokenizers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Sub-word tokenizers, whose decode/encode need not round-trip exactly at a cut."""
    folder = tmp_path_factory.mktemp("prompt-tokenizers")
    return {
        "bpe": HuggingFaceTokenizer.from_file(train_bpe(folder / "bpe.json")),
        "tiktoken": TiktokenTokenizer.from_file(
            write_tiktoken(folder / "tiny.tiktoken"), pat_str=TIKTOKEN_PATTERN
        ),
    }


class TestLengths:
    @given(token_lengths, token_lengths, st.integers(1, 3), seeds)
    def test_whitespace_lengths_are_exact_and_every_combination_is_there(
        self, inputs: list[int], outputs: list[int], repeats: int, seed: int
    ) -> None:
        """Under the default tokenizer each prompt has exactly its target length, and each
        (input, output) pair appears exactly `requests_per_combination` times."""
        collection = CreatePromptCollection(inputs, outputs, SAMPLE_TEXT_FILE, repeats, seed=seed)
        samples = collection.create_samples()
        assert Counter((s.input_length, s.output_length) for s in samples) == {
            (i, o): repeats for i in inputs for o in outputs
        }
        for sample in samples:
            assert len(DummyTokenizer().encode(sample.prompt)) == sample.input_length
            assert sample.num_tokens == sample.input_length
            assert 0 <= sample.offset < SOURCE_WORDS

    @settings(max_examples=25)
    @given(st.sampled_from(["bpe", "tiktoken"]), token_lengths, seeds)
    def test_subword_lengths_are_exact(
        self, real_tokenizers: dict[str, Any], name: str, inputs: list[int], seed: int
    ) -> None:
        """Under sub-word tokenizers, whose decode/encode does not round-trip at a cut, each
        prompt still measures exactly its target, and `num_tokens` is its true length."""
        tokenizer = real_tokenizers[name]
        collection = CreatePromptCollection(
            inputs, [16], SAMPLE_TEXT_FILE, 2, tokenizer=tokenizer, seed=seed
        )
        for sample in collection.create_samples():
            measured = len(tokenizer.encode(sample.prompt))
            assert measured == sample.num_tokens
            assert measured == sample.input_length

    def test_collection_shape_is_llmeters(self) -> None:
        """`create_collection` gives (prompt, output length) pairs, like LLMeter's."""
        collection = CreatePromptCollection([5, 7], [32, 64, 128], SAMPLE_TEXT_FILE, seed=1)
        pairs = collection.create_collection()
        assert len(pairs) == 6
        assert all(isinstance(p, str) and o in (32, 64, 128) for p, o in pairs)
        assert sorted(len(p.split()) for p, _ in pairs) == [5, 5, 5, 7, 7, 7]

    def test_prompts_longer_than_the_text_wrap_around(self) -> None:
        """A prompt longer than the source text goes round it again from the start."""
        with fsspec.open("memory://prompts/short.txt", "w") as f:
            f.write("alpha beta gamma delta epsilon")
        words = ["alpha", "beta", "gamma", "delta", "epsilon"]
        collection = CreatePromptCollection([12], [8], "memory://prompts/short.txt", 3, seed=4)
        for sample in collection.create_samples():
            expected = [words[(sample.offset + i) % 5] for i in range(12)]
            assert sample.prompt.split() == expected


class TestOffsetsAndSeeds:
    @given(seeds)
    def test_same_seed_same_collection(self, seed: int) -> None:
        """A seed fixes the prompts and their order."""
        first = CreatePromptCollection([10, 50], [8], SAMPLE_TEXT_FILE, 2, seed=seed)
        second = CreatePromptCollection([10, 50], [8], SAMPLE_TEXT_FILE, 2, seed=seed)
        assert first.create_collection() == second.create_collection()
        assert first.create_samples() == first.create_samples()  # repeatable on one object too

    def test_different_seeds_differ_and_the_seed_is_kept(self) -> None:
        a = CreatePromptCollection([10, 50], [8], SAMPLE_TEXT_FILE, 2, seed=1)
        b = CreatePromptCollection([10, 50], [8], SAMPLE_TEXT_FILE, 2, seed=2)
        assert a.create_collection() != b.create_collection()
        chosen = CreatePromptCollection([10], [8], SAMPLE_TEXT_FILE)
        assert isinstance(chosen.seed, int)  # a random seed, kept so the run can be repeated
        again = CreatePromptCollection([10], [8], SAMPLE_TEXT_FILE, seed=chosen.seed)
        assert again.create_collection() == chosen.create_collection()

    def test_prompts_start_at_different_offsets(self) -> None:
        """Prompts are not all prefixes of the text (LLMeter's are, which flatters prefix
        caches): repeats of one combination, and different lengths, start apart."""
        collection = CreatePromptCollection([10, 200], [8], SAMPLE_TEXT_FILE, 30, seed=11)
        samples = collection.create_samples()
        offsets = [s.offset for s in samples]
        assert len(set(offsets)) >= 55  # 60 prompts, from 3,900-odd possible starts
        text_start = " ".join(sample_text().split()[:200])
        assert sum(text_start.startswith(s.prompt) for s in samples) <= 1
        short = {s.prompt for s in samples if s.input_length == 10}
        long = [s.prompt for s in samples if s.input_length == 200]
        assert not any(prompt.startswith(p) for prompt in long for p in short)


class TestCollectionErrors:
    @pytest.mark.parametrize(
        ("inputs", "outputs", "message"),
        [
            ([], [8], "input_lengths must be a non-empty list"),
            ([10, 0], [8], r"input_lengths must hold whole numbers of 1 or more; found 0"),
            ([10], [2.5], r"output_lengths must hold whole numbers .* found 2\.5"),
        ],
    )
    def test_bad_lengths(self, inputs: Any, outputs: Any, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            CreatePromptCollection(inputs, outputs, SAMPLE_TEXT_FILE)

    def test_bad_repeats(self) -> None:
        with pytest.raises(ValueError, match="requests_per_combination must be at least 1"):
            CreatePromptCollection([1], [1], SAMPLE_TEXT_FILE, 0)

    def test_missing_and_misencoded_sources(self, tmp_path: Path) -> None:
        """The source is named, and a wrong encoding says which setting to change."""
        with pytest.raises(FileNotFoundError, match=r"no source text at .*missing\.txt"):
            CreatePromptCollection([1], [1], tmp_path / "missing.txt").create_collection()
        latin = tmp_path / "latin.txt"
        latin.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
        with pytest.raises(ValueError, match="set source_file_encoding"):
            CreatePromptCollection([2], [1], latin).create_collection()
        collection = CreatePromptCollection([2], [1], latin, source_file_encoding="latin-1")
        assert collection.create_collection()[0][0] in ("café crème", "crème café")

    @given(st.text(st.characters(whitelist_categories=("Zs", "Cc")).filter(str.isspace)))
    def test_a_source_without_words_gives_empty_prompts_and_a_warning(self, blank: str) -> None:
        """As in LLMeter, a source of only whitespace gives empty prompts; a warning says so."""
        fs = fsspec.filesystem("memory")
        fs.pipe("/blank-source.txt", blank.encode())
        collection = CreatePromptCollection([3, 5], [2], "memory://blank-source.txt", 2)
        with self.captured_warnings() as warnings:
            samples = collection.create_samples()
        assert [(s.prompt, s.num_tokens) for s in samples] == [("", 0)] * 4
        assert sorted(s.input_length for s in samples) == [3, 3, 5, 5]
        assert any("holds no text to cut prompts from" in w for w in warnings)

    @staticmethod
    @contextlib.contextmanager
    def captured_warnings() -> Iterator[list[str]]:
        """The messages logged by the prompts package while the block runs."""
        messages: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                messages.append(record.getMessage())

        handler = Collect(logging.WARNING)
        log = logging.getLogger("llmeter_trio.prompts")
        log.addHandler(handler)
        try:
            yield messages
        finally:
            log.removeHandler(handler)


class TestPayloadRoundTrips:
    @given(payload_lists, st.sampled_from(["payload.jsonl", "payloads.json"]))
    def test_round_trip_in_memory(self, items: list[dict[str, Any]], name: str) -> None:
        """JSONL and JSON files give back exactly what was saved, bytes included."""
        url = save_payloads(items, "memory://payload-trips", name)
        assert url == f"memory:///payload-trips/{name}"
        assert list(load_payloads(url)) == items

    @given(payloads)
    def test_single_payload_local(
        self, tmp_path_factory: pytest.TempPathFactory, item: Any
    ) -> None:
        folder = tmp_path_factory.mktemp("one")
        path = save_payloads(item, folder)
        assert path == folder / "payload.jsonl"  # a Path for a local destination, as LLMeter
        assert list(load_payloads(path)) == [item]

    def test_bytes_survive_at_any_depth(self, tmp_path: Path) -> None:
        """An image in a multimodal payload comes back as the same bytes."""
        image = bytes(range(256))
        payload = {"messages": [{"content": [{"text": "what is this?"}, {"image": image}]}]}
        path = save_payloads([payload], tmp_path)
        assert list(load_payloads(path)) == [payload]
        saved = json.loads(Path(path).read_text())["messages"][0]["content"][1]["image"]
        assert list(saved) == ["__bytes_base64__"]  # tagged base64, readable by any JSON tool

    def test_folder_reads_json_and_jsonl_in_name_order(self, tmp_path: Path) -> None:
        """A folder's .json and .jsonl files are read in name order; other files are skipped."""
        save_payloads([{"n": 1}, {"n": 2}], tmp_path, "a.jsonl")
        save_payloads([{"n": 3}], tmp_path, "b.json")
        (tmp_path / "b.json").write_text('{"n": 3}')  # a single object is one payload too
        (tmp_path / "notes.txt").write_text("not a payload")
        assert [p["n"] for p in load_payloads(tmp_path)] == [1, 2, 3]
        save_payloads([{"n": 4}], "memory://payload-folder", "x.jsonl")
        assert list(load_payloads("memory://payload-folder")) == [{"n": 4}]

    def test_blank_lines_and_byte_order_mark(self, tmp_path: Path) -> None:
        path = tmp_path / "p.jsonl"
        path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n   \n{"b": 2}\n')
        assert list(load_payloads(path)) == [{"a": 1}, {"b": 2}]

    async def test_runner_reads_payload_files_through_load_payloads(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run's `payload` may be a folder of payload files."""
        save_payloads([{"prompt": "a b"}, {"prompt": "c"}], tmp_path / "in", "p.jsonl")
        result = await Runner(FakeEndpoint()).run(payload=tmp_path / "in", clients=1)
        assert sorted(r.input_payload["prompt"] for r in result.responses) == ["a b", "c"]


class TestPayloadErrors:
    def write(self, tmp_path: Path, name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    def test_invalid_jsonl_line(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "bad.jsonl", '{"a": 1}\n\n{"b": }\n')
        with pytest.raises(PayloadFileError, match=r"bad\.jsonl, line 3: not valid JSON") as caught:
            list(load_payloads(path))
        assert caught.value.line == 3 and caught.value.url == str(path)

    def test_jsonl_line_that_is_not_an_object(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "list.jsonl", '{"a": 1}\n[1, 2]\n')
        with pytest.raises(PayloadFileError, match=r"list\.jsonl, line 2: holds a list, not a"):
            list(load_payloads(path))

    def test_invalid_json_document_names_line(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "bad.json", '[\n  {"a": 1},\n  {"b": nope}\n]')
        with pytest.raises(PayloadFileError, match=r"bad\.json, line 3: not valid JSON"):
            list(load_payloads(path))

    def test_jsonl_content_in_a_json_file_gets_a_hint(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "lines.json", '{"a": 1}\n{"b": 2}\n')
        with pytest.raises(PayloadFileError, match=r"line 2: .*give it the \.jsonl suffix"):
            list(load_payloads(path))

    def test_json_list_item_that_is_not_an_object(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "mixed.json", '[{"a": 1}, "text"]')
        with pytest.raises(PayloadFileError, match=r"mixed\.json: item 1 of the list is a string"):
            list(load_payloads(path))
        scalar = self.write(tmp_path, "scalar.json", "42")
        with pytest.raises(
            PayloadFileError, match=r"scalar\.json: the document is a number; expected a payload"
        ):
            list(load_payloads(scalar))

    def test_bad_line_in_memory_names_the_url(self) -> None:
        with fsspec.open("memory://payload-errors/p.jsonl", "w") as f:
            f.write('{"a": 1}\nnot json\n')
        with pytest.raises(PayloadFileError, match=r"memory:///payload-errors/p\.jsonl, line 2"):
            list(load_payloads("memory://payload-errors/p.jsonl"))

    def test_missing_paths_and_empty_folders(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match=r"no payload file or folder at .*nope"):
            list(load_payloads(tmp_path / "nope"))
        (tmp_path / "empty").mkdir()
        with pytest.raises(FileNotFoundError, match=r"folder with no \.json or \.jsonl"):
            list(load_payloads(tmp_path / "empty"))
        empty_file = self.write(tmp_path, "empty.jsonl", "\n")
        with pytest.raises(ValueError, match=r"empty\.jsonl holds no payloads"):
            normalize_payloads(empty_file)

    def test_runner_reports_the_bad_line(self, tmp_path: Path) -> None:
        """The engine reads payload files with the same reader, so the same message reaches it."""
        path = self.write(tmp_path, "run.jsonl", '{"prompt": "x"}\n{oops}\n')
        with pytest.raises(PayloadFileError, match=r"run\.jsonl, line 2"):
            normalize_payloads(path)

    def test_saving_non_dicts_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(TypeError, match="payload #1 is a str, not a dict"):
            save_payloads([{"a": 1}, "b"], tmp_path)  # type: ignore[list-item]


class TestLoadPrompts:
    @staticmethod
    def payload(input_text: str, max_tokens: int = 8) -> dict[str, Any]:
        return {"prompt": input_text, "max_tokens": max_tokens}

    def test_a_payload_for_each_line_of_a_file(self, tmp_path: Path) -> None:
        """Lines are stripped, blank ones skipped, a byte order mark dropped; kwargs passed on."""
        path = tmp_path / "prompts.txt"
        path.write_bytes("\ufeffHello there  \n\n   \n  second one\n".encode())
        assert list(load_prompts(path, self.payload, {"max_tokens": 3})) == [
            {"prompt": "Hello there", "max_tokens": 3},
            {"prompt": "second one", "max_tokens": 3},
        ]

    def test_a_folder_in_name_order_with_a_pattern(self, tmp_path: Path) -> None:
        (tmp_path / "b.txt").write_text("two\n")
        (tmp_path / "a.txt").write_text("one\n")
        (tmp_path / "c.log").write_text("not a prompt\n")
        (tmp_path / "sub").mkdir()
        texts = [p["prompt"] for p in load_prompts(tmp_path, self.payload, file_pattern="*.txt")]
        assert texts == ["one", "two"]
        assert [p["prompt"] for p in load_prompts(tmp_path, self.payload)] == [
            "one",
            "two",
            "not a prompt",
        ]

    def test_in_a_folder_a_failing_line_is_logged_and_skipped(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """As in LLMeter: skipped in a folder, raised for a single file."""
        (tmp_path / "p.txt").write_text("good\nbad\nfine\n")

        def picky(input_text: str) -> dict[str, Any]:
            if input_text == "bad":
                raise ValueError("no bad prompts")
            return {"prompt": input_text}

        with caplog.at_level(logging.ERROR):
            assert [p["prompt"] for p in load_prompts(tmp_path, picky)] == ["good", "fine"]
        assert "no payload made from the line 'bad'" in caplog.text
        with pytest.raises(ValueError, match="no bad prompts"):
            list(load_prompts(tmp_path / "p.txt", picky))

    def test_any_fsspec_url_and_missing_places(self, tmp_path: Path) -> None:
        fs = fsspec.filesystem("memory")
        fs.pipe("/prompt-files/p.txt", b"from memory\n")
        assert list(load_prompts("memory://prompt-files", self.payload)) == [
            self.payload("from memory")
        ]
        with pytest.raises(FileNotFoundError, match="no prompt file or folder at"):
            list(load_prompts(tmp_path / "missing", self.payload))
        with pytest.raises(FileNotFoundError, match=r"has no files matching '\*\.txt'"):
            list(load_prompts(tmp_path, self.payload, file_pattern="*.txt"))
