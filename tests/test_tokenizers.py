"""Tokenizers: the whitespace default, Hugging Face and tiktoken files, configs, plugins."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import Endpoint, InvocationResponse, Runner, StreamRecorder, hookimpl, plugins
from llmeter_trio.plugins import tokenizer_from_config
from llmeter_trio.tokenizers import (
    DummyTokenizer,
    HuggingFaceTokenizer,
    TiktokenTokenizer,
    Tokenizer,
    count_tokens,
    save_tokenizer,
    tokenizer_to_config,
)

from .tokenizer_files import (
    SPECIAL_TOKENS,
    TIKTOKEN_PATTERN,
    sample_text,
    tiktoken_ranks,
    train_bpe,
    train_word_level,
    write_tiktoken,
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tokenizer.json files (BPE, word level) and a .tiktoken file, made once for this module."""
    folder = tmp_path_factory.mktemp("tokenizers")
    return {
        "bpe": train_bpe(folder / "bpe.json"),
        "word_level": train_word_level(folder / "word_level.json"),
        "tiktoken": write_tiktoken(folder / "tiny.tiktoken"),
    }


def tiktoken_tokenizer(files: dict[str, Path]) -> TiktokenTokenizer:
    return TiktokenTokenizer.from_file(
        files["tiktoken"], pat_str=TIKTOKEN_PATTERN, special_tokens=SPECIAL_TOKENS
    )


class TestDummy:
    def test_counts_words_and_never_counts_missing_text(self) -> None:
        """A word is a token; missing text is None, never the four letters of "None"."""
        tokenizer = DummyTokenizer()
        assert count_tokens(tokenizer, "one two  three\nfour") == 4
        assert count_tokens(tokenizer, None) is None
        assert count_tokens(tokenizer, "") == 0
        assert isinstance(tokenizer, Tokenizer)

    @given(st.lists(st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1)))
    def test_decode_then_encode_round_trips(self, words: list[str]) -> None:
        """Words without whitespace survive decode/encode, so prompt lengths can be exact."""
        tokenizer = DummyTokenizer()
        assert tokenizer.encode(tokenizer.decode(words)) == words

    async def test_runner_leaves_missing_text_uncounted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A response without text keeps num_tokens_output None (LLMeter counted "None" as 1)."""

        class Silent(Endpoint):
            async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
                recorder = StreamRecorder()
                return recorder.finish(InvocationResponse(response_text=None, input_prompt=None))

        result = await Runner(Silent()).run(payload={"prompt": "x"}, n_requests=2)
        assert [r.num_tokens_output for r in result.responses] == [None, None]
        assert [r.num_tokens_input for r in result.responses] == [None, None]


class TestHuggingFace:
    @pytest.mark.parametrize("kind", ["bpe", "word_level"])
    def test_counts_as_the_library_does(self, files: dict[str, Path], kind: str) -> None:
        """Token ids are the library's own; decoding gives the text back."""
        from tokenizers import Tokenizer as HFTokenizer

        tokenizer = HuggingFaceTokenizer.from_file(files[kind])
        text = sample_text()[:2000].rsplit(" ", 1)[0]  # whole words: all in the vocabulary
        ids = tokenizer.encode(text)
        assert ids == HFTokenizer.from_file(str(files[kind])).encode(text).ids
        assert len(ids) > 100
        if kind == "bpe":  # byte-level BPE is lossless
            assert tokenizer.decode(ids) == text
        assert tokenizer.encode(tokenizer.decode(ids)) == ids

    def test_config_round_trip(self, files: dict[str, Path]) -> None:
        """Saved as its file path and options; rebuilt through the registered factory."""
        tokenizer = HuggingFaceTokenizer.from_file(files["bpe"], add_special_tokens=True)
        config = tokenizer_to_config(tokenizer)
        assert config == {
            "tokenizer_type": "huggingface",
            "path": str(files["bpe"]),
            "add_special_tokens": True,
        }
        rebuilt = tokenizer_from_config(config)
        assert isinstance(rebuilt, HuggingFaceTokenizer)
        assert rebuilt.encode("river valley") == tokenizer.encode("river valley")
        assert rebuilt.add_special_tokens

    def test_reads_any_fsspec_url(self, files: dict[str, Path]) -> None:
        """The file may live in object storage (here memory://)."""
        with fsspec.open("memory://tokenizers/tokenizer.json", "wb") as f:
            f.write(files["word_level"].read_bytes())
        tokenizer = HuggingFaceTokenizer.from_file("memory://tokenizers/tokenizer.json")
        assert count_tokens(tokenizer, "the river , the valley") == 5

    def test_bad_and_missing_files_are_named(self, tmp_path: Path) -> None:
        """Errors say which file and what to give instead."""
        with pytest.raises(FileNotFoundError, match=r"no tokenizer file at .*nope\.json"):
            HuggingFaceTokenizer.from_file(tmp_path / "nope.json")
        bad = tmp_path / "bad.json"
        bad.write_text('{"not": "a tokenizer"}')
        with pytest.raises(ValueError, match=r"bad\.json is not a tokenizer\.json"):
            HuggingFaceTokenizer.from_file(bad)

    def test_missing_library_names_the_extra(
        self, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without `tokenizers` installed the error says which extra brings it."""
        monkeypatch.setitem(sys.modules, "tokenizers", None)
        with pytest.raises(ImportError, match=r"llmeter-trio\[hf\]"):
            HuggingFaceTokenizer.from_file(files["bpe"])


class TestTiktoken:
    def test_merges_follow_the_ranks(self, files: dict[str, Path]) -> None:
        """Frequent words merge into one token; other text falls back to bytes."""
        tokenizer = tiktoken_tokenizer(files)
        ranks = tiktoken_ranks()
        assert tokenizer.encode(" the") == [ranks[b" the"]]
        assert tokenizer.encode("zq") == [ranks[b"z"], ranks[b"q"]]
        text = sample_text()[:3000]
        assert tokenizer.decode(tokenizer.encode(text)) == text

    def test_special_token_text_counts_as_ordinary_text(self, files: dict[str, Path]) -> None:
        """A prompt that contains "<|endoftext|>" is counted, not refused or collapsed."""
        tokenizer = tiktoken_tokenizer(files)
        assert len(tokenizer.encode("a <|endoftext|> b")) > 3

    def test_config_round_trip(self, files: dict[str, Path]) -> None:
        """Path, pattern and special tokens are saved; the rebuilt one counts the same."""
        tokenizer = tiktoken_tokenizer(files)
        config = tokenizer_to_config(tokenizer)
        assert config is not None
        assert config["tokenizer_type"] == "tiktoken"
        assert config["path"] == str(files["tiktoken"])
        assert config["pat_str"] == TIKTOKEN_PATTERN
        assert config["special_tokens"] == SPECIAL_TOKENS
        assert config["name"] == "tiny"
        rebuilt = tokenizer_from_config(config)
        assert isinstance(rebuilt, TiktokenTokenizer)
        text = sample_text()[:500]
        assert rebuilt.encode(text) == tokenizer.encode(text)

    def test_malformed_file_names_file_and_line(self, tmp_path: Path) -> None:
        """A line that is not ``base64 rank`` is reported with its number."""
        path = tmp_path / "broken.tiktoken"
        path.write_bytes(b"YQ== 0\nYg== 1\nnot base64!! x\n")
        with pytest.raises(ValueError, match=r"broken\.tiktoken, line 3: not a '<base64 token>"):
            TiktokenTokenizer.from_file(path, pat_str=TIKTOKEN_PATTERN)
        empty = tmp_path / "empty.tiktoken"
        empty.write_bytes(b"\n")
        with pytest.raises(ValueError, match="holds no tokens"):
            TiktokenTokenizer.from_file(empty, pat_str=TIKTOKEN_PATTERN)

    def test_missing_library_names_the_extra(
        self, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "tiktoken", None)
        with pytest.raises(ImportError, match=r"llmeter-trio\[tiktoken\]"):
            tiktoken_tokenizer(files)


class TestRuns:
    async def test_run_saves_the_tokenizer_and_counts_with_it(
        self, files: dict[str, Path], tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run's tokenizer counts what the endpoint did not; the run folder rebuilds it."""
        from llmeter_trio import Result

        from .plugin_example import EchoEndpoint

        tokenizer = HuggingFaceTokenizer.from_file(files["word_level"])
        runner = Runner(EchoEndpoint(), tokenizer=tokenizer, output_path=str(tmp_path))
        prompt = "the river , the valley"
        await runner.run(payload={"prompt": prompt}, n_requests=1, run_name="hf")
        loaded = Result.load(tmp_path / "hf")
        assert loaded.responses[0].num_tokens_output == 5
        assert loaded.run_config is not None
        rebuilt = tokenizer_from_config(loaded.run_config.tokenizer_config)
        assert isinstance(rebuilt, HuggingFaceTokenizer)
        assert rebuilt.path == str(files["word_level"])


class CharTokenizer:
    """A plugin's tokenizer: one character a token, optionally lower-cased."""

    def __init__(self, lower: bool = False) -> None:
        self.lower = lower

    def encode(self, text: str) -> list[str]:
        return list(text.lower() if self.lower else text)

    def decode(self, tokens: Any) -> str:
        return "".join(tokens)

    def to_config(self) -> dict[str, Any]:
        return {"tokenizer_type": "chars-test", "lower": self.lower}


class CharPlugin:
    @hookimpl
    def register_tokenizers(self, register: Callable[[str, Callable[..., Any]], None]) -> None:
        register("chars-test", CharTokenizer)


@pytest.fixture
def char_plugin() -> Iterator[None]:
    manager = plugins.get_plugin_manager()
    manager.register(CharPlugin(), name="chars-test-plugin")
    yield
    manager.unregister(name="chars-test-plugin")


class TestPlugins:
    def test_builtins_are_registered_by_name(self) -> None:
        """The three built-ins come through the same hook plugins use."""
        factories = plugins.tokenizer_factories()
        assert {"dummy", "huggingface", "tiktoken"} <= set(factories)
        assert isinstance(tokenizer_from_config({"tokenizer_type": "dummy"}), DummyTokenizer)
        assert tokenizer_from_config(None) is None

    @pytest.mark.usefixtures("char_plugin")
    def test_custom_tokenizer_from_a_plugin(self) -> None:
        """A plugin registers a factory; a saved config rebuilds the tokenizer through it."""
        config = tokenizer_to_config(CharTokenizer(lower=True))
        rebuilt = tokenizer_from_config(config)
        assert isinstance(rebuilt, CharTokenizer) and rebuilt.lower
        assert count_tokens(rebuilt, "AbC") == 3

    def test_unknown_type_lists_known_ones(self) -> None:
        with pytest.raises(KeyError, match=r"no tokenizer type 'chars-test'.*'dummy'"):
            tokenizer_from_config({"tokenizer_type": "chars-test"})


class TestLLMeterDocuments:
    """LLMeter's saved tokenizer documents: to_dict, load, load_from_file, save_tokenizer."""

    def test_protocol_stays_structural_with_llmeters_class_helpers(self) -> None:
        """Anything with encode/decode is a Tokenizer; the class itself cannot be made."""
        assert isinstance(CharTokenizer(), Tokenizer)
        assert not isinstance(object(), Tokenizer)
        with pytest.raises(TypeError):
            Tokenizer()  # type: ignore[misc]

    def test_whitespace_tokenizer_in_either_tools_shape(self, tmp_path: Path) -> None:
        assert Tokenizer.to_dict(DummyTokenizer()) == {"tokenizer_module": "llmeter_trio"}
        for module in ("llmeter", "llmeter_trio"):
            assert isinstance(Tokenizer.load({"tokenizer_module": module}), DummyTokenizer)
        assert isinstance(Tokenizer.load_from_file(None), DummyTokenizer)
        assert isinstance(Tokenizer.load({"tokenizer_type": "dummy"}), DummyTokenizer)

    def test_own_tokenizers_save_and_load_back(self, files: dict[str, Path]) -> None:
        """llmeter-trio's tokenizers keep their config beside LLMeter's key, and count the same."""
        text = sample_text()[:300]
        for tokenizer in (HuggingFaceTokenizer.from_file(files["bpe"]), tiktoken_tokenizer(files)):
            document = Tokenizer.to_dict(tokenizer)
            assert document == {
                "tokenizer_module": "llmeter_trio",
                **tokenizer_to_config(tokenizer),
            }
            loaded = Tokenizer.load(document)
            assert type(loaded) is type(tokenizer)
            assert loaded.encode(text) == tokenizer.encode(text)

    def test_save_tokenizer_then_load_from_file(
        self, files: dict[str, Path], tmp_path: Path
    ) -> None:
        """The folder is made; the path given is returned; any fsspec URL works."""
        target = tmp_path / "new" / "tokenizer.json"
        assert save_tokenizer(DummyTokenizer(), target) == target
        assert json.loads(target.read_text()) == {"tokenizer_module": "llmeter_trio"}
        assert isinstance(Tokenizer.load_from_file(target), DummyTokenizer)
        bpe = HuggingFaceTokenizer.from_file(files["bpe"])
        url = "memory://saved-tokenizers/bpe.json"
        assert save_tokenizer(bpe, url) == url
        assert Tokenizer.load_from_file(url).encode("the cat") == bpe.encode("the cat")

    def test_tiktoken_encodings_by_name(
        self, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A tiktoken Encoding is saved by name and loaded with tiktoken.get_encoding."""
        import tiktoken

        encoding = tiktoken_tokenizer(files)._encoding
        assert Tokenizer.to_dict(encoding) == {"tokenizer_module": "tiktoken", "name": "tiny"}
        asked: list[str] = []
        monkeypatch.setattr(tiktoken, "get_encoding", lambda name: asked.append(name) or encoding)
        assert Tokenizer.load({"tokenizer_module": "tiktoken", "name": "tiny"}) is encoding
        assert asked == ["tiny"]

    def test_transformers_tokenizers(
        self, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Saved by name_or_path and loaded with AutoTokenizer when transformers is there;
        without it, a local folder's tokenizer.json, else an error saying what to install."""
        loaded_names: list[str] = []

        class AutoTokenizer:
            @staticmethod
            def from_pretrained(name: str) -> DummyTokenizer:
                loaded_names.append(name)
                return DummyTokenizer()

        class PreTrained:
            name_or_path = "org/model"

        PreTrained.__module__ = "transformers.tokenization_utils"
        assert Tokenizer.to_dict(PreTrained()) == {
            "tokenizer_module": "transformers",
            "name": "org/model",
        }
        fake = types.ModuleType("transformers")
        fake.AutoTokenizer = AutoTokenizer  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "transformers", fake)
        assert isinstance(
            Tokenizer.load({"tokenizer_module": "transformers", "name": "m"}), DummyTokenizer
        )
        assert loaded_names == ["m"]

        monkeypatch.setitem(sys.modules, "transformers", None)  # not installed
        folder = tmp_path / "model"
        folder.mkdir()
        (folder / "tokenizer.json").write_bytes(files["bpe"].read_bytes())
        local = Tokenizer.load({"tokenizer_module": "transformers", "name": str(folder)})
        assert isinstance(local, HuggingFaceTokenizer)
        with pytest.raises(ImportError, match="pip install transformers"):
            Tokenizer.load({"tokenizer_module": "transformers", "name": "org/model"})

    @pytest.mark.usefixtures("char_plugin")
    def test_plugin_tokenizers_save_by_their_config(self) -> None:
        document = Tokenizer.to_dict(CharTokenizer(lower=True))
        assert document == {
            "tokenizer_module": "llmeter_trio",
            "tokenizer_type": "chars-test",
            "lower": True,
        }
        loaded = Tokenizer.load(document)
        assert isinstance(loaded, CharTokenizer) and loaded.lower

    def test_unknown_and_malformed_documents(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="Unknown tokenizer module: 'sentencepiece'"):
            Tokenizer.load({"tokenizer_module": "sentencepiece"})
        with pytest.raises(ValueError, match="not a saved tokenizer"):
            Tokenizer.load({"name": "x"})
        with pytest.raises(ValueError, match="Unknown tokenizer module"):
            Tokenizer.to_dict(object())
        bad = tmp_path / "bad.json"
        bad.write_text("[1]")
        with pytest.raises(ValueError, match=r"bad\.json is not a saved tokenizer"):
            Tokenizer.load_from_file(bad)
        with pytest.raises(FileNotFoundError, match="no tokenizer file at"):
            Tokenizer.load_from_file(tmp_path / "missing.json")
