"""LLMeter's prompt_utils by its names: payload files LLMeter writes and reads, media blocks."""

from __future__ import annotations

import binascii
import json
import logging
import math
from pathlib import Path
from typing import Any

import fsspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import prompt_utils
from llmeter_trio.json_utils import decode_llmeter_bytes, llmeter_default_serializer
from llmeter_trio.prompts import PayloadBytesError, PayloadFileError, load_payloads, save_payloads

from .strategies import payload_lists, payloads


def llmeter_line(payload: Any) -> str:
    """A payload as LLMeter's save_payloads writes it: `json.dumps` with its serializer."""
    return json.dumps(payload, default=llmeter_default_serializer)


class TestReadingLLMeterFiles:
    @given(payload_lists, st.sampled_from(["p.jsonl", "p.manifest", "P.Manifest"]))
    def test_llmeter_lines_read_back_with_their_bytes(
        self, items: list[dict[str, Any]], name: str
    ) -> None:
        """Lines written as LLMeter writes them (bytes as __llmeter_bytes__) read back exactly;
        a .manifest file (any case, as in LLMeter) is JSONL."""
        fs = fsspec.filesystem("memory")
        fs.pipe(f"/llmeter-lines/{name}", "".join(llmeter_line(i) + "\n" for i in items).encode())
        assert list(load_payloads(f"memory://llmeter-lines/{name}")) == items
        assert list(prompt_utils.load_payloads(f"memory://llmeter-lines/{name}")) == items

    @given(payloads)
    def test_decode_llmeter_bytes_inverts_the_serializer(self, item: dict[str, Any]) -> None:
        assert decode_llmeter_bytes(json.loads(llmeter_line(item))) == item

    def test_nan_and_infinity_that_python_json_writes_are_read(self, tmp_path: Path) -> None:
        path = tmp_path / "p.jsonl"
        path.write_text(llmeter_line({"a": math.inf, "b": -math.inf}) + "\n" + '{"c": NaN}\n')
        first, second = load_payloads(path)
        assert first == {"a": math.inf, "b": -math.inf}
        assert math.isnan(second["c"])

    def test_bad_base64_names_the_line_and_is_a_binascii_error(self, tmp_path: Path) -> None:
        path = tmp_path / "p.jsonl"
        path.write_text('{"ok": 1}\n{"image": {"__llmeter_bytes__": "a"}}\n')
        for load in (load_payloads, prompt_utils.load_payloads):
            with pytest.raises(PayloadBytesError, match=r"p\.jsonl, line 2: a bytes value is not"):
                list(load(path))
        assert issubclass(PayloadBytesError, binascii.Error)
        assert issubclass(PayloadBytesError, PayloadFileError)

    def test_lines_that_are_not_json_are_skipped_and_logged_when_asked(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """LLMeter's names skip what is not JSON (and log it); this project's raise by default."""
        (tmp_path / "a.jsonl").write_text('{"n": 1}\nnot json\n{"n": 2}\n')
        (tmp_path / "b.json").write_text("{broken")
        with caplog.at_level(logging.WARNING):
            assert [p["n"] for p in prompt_utils.load_payloads(tmp_path)] == [1, 2]
            assert [p["n"] for p in load_payloads(tmp_path, invalid_json="skip")] == [1, 2]
        assert "a.jsonl, line 2: not valid JSON" in caplog.text
        assert "b.json: not valid JSON" in caplog.text
        with pytest.raises(PayloadFileError, match=r"a\.jsonl, line 2"):
            list(load_payloads(tmp_path))


class TestWritingLLMeterFiles:
    @given(payload_lists)
    def test_prompt_utils_writes_what_llmeter_writes(self, items: list[dict[str, Any]]) -> None:
        """Line for line what LLMeter's save_payloads writes, so LLMeter reads it back."""
        url = prompt_utils.save_payloads(items, "memory://llmeter-writes")
        assert url == "memory:///llmeter-writes/payload.jsonl"  # a URL stays a URL
        with fsspec.open(url, "rt") as f:
            assert f.read() == "".join(llmeter_line(i) + "\n" for i in items)
        assert list(prompt_utils.load_payloads(url)) == items

    def test_local_destination_gives_a_path(self, tmp_path: Path) -> None:
        path = prompt_utils.save_payloads({"a": b"\x00"}, tmp_path / "new" / "dir", "x.jsonl")
        assert isinstance(path, Path)
        assert path == tmp_path / "new" / "dir" / "x.jsonl"
        assert json.loads(path.read_text()) == {"a": {"__llmeter_bytes__": "AA=="}}

    def test_objects_with_to_dict_and_unprintable_objects(self, tmp_path: Path) -> None:
        """LLMeter's serializer: to_dict() objects as their dict, a failing str() as null."""

        class Block:
            def to_dict(self) -> dict[str, Any]:
                return {"kind": "block"}

        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no")

        path = prompt_utils.save_payloads({"b": Block(), "u": Unprintable()}, tmp_path)
        assert list(load_payloads(path)) == [{"b": {"kind": "block"}, "u": None}]

    def test_bytes_format_choice(self, tmp_path: Path) -> None:
        """This project's save_payloads writes LLMeter's tag when asked, a JSON list for .json."""
        path = save_payloads([{"a": b"\x01"}], tmp_path, "p.json", bytes_format="llmeter")
        assert json.loads(Path(path).read_text()) == [{"a": {"__llmeter_bytes__": "AQ=="}}]
        assert list(load_payloads(path)) == [{"a": b"\x01"}]
        with pytest.raises(ValueError, match="bytes_format must be"):
            save_payloads([{}], tmp_path, bytes_format="base64")  # type: ignore[arg-type]

    def test_no_payloads_gives_an_empty_file(self, tmp_path: Path) -> None:
        path = prompt_utils.save_payloads([], tmp_path)
        assert Path(path).read_bytes() == b""


PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(8)
MOV = b"\x00\x00\x00\x14ftypqt  " + bytes(8)
PDF = b"%PDF-1.7\n"


class TestMedia:
    @pytest.mark.parametrize(
        ("data", "mime_type"),
        [
            (PNG, "image/png"),
            (b"\xff\xd8\xff\xe0", "image/jpeg"),
            (MP4, "video/mp4"),
            (MOV, "video/quicktime"),
            (PDF, "application/pdf"),
            (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
            (b"plain text", None),
        ],
    )
    def test_format_from_bytes(self, data: bytes, mime_type: str | None) -> None:
        assert prompt_utils.detect_format_from_bytes(data) == mime_type
        assert prompt_utils.detect_format(content=data) == mime_type

    def test_format_from_file_bytes_first_then_extension(self, tmp_path: Path) -> None:
        """A file's signature wins over a misleading name; an unknown signature falls back."""
        misnamed = tmp_path / "photo.jpg"
        misnamed.write_bytes(PNG)
        assert prompt_utils.detect_format_from_file(misnamed) == "image/png"
        unknown = tmp_path / "clip.AVI"
        unknown.write_bytes(b"????")
        assert prompt_utils.detect_format_from_file(unknown) == "video/x-msvideo"
        assert prompt_utils.detect_format_from_extension("notes.txt") is None
        assert prompt_utils.detect_format(content=b"????", file_path=unknown) == "video/x-msvideo"
        with pytest.raises(ValueError, match="At least one of content or file_path"):
            prompt_utils.detect_format()

    def test_content_blocks(self, tmp_path: Path) -> None:
        (tmp_path / "r.pdf").write_bytes(PDF)
        document = prompt_utils.DocumentContent.from_path(tmp_path / "r.pdf")
        assert document == prompt_utils.DocumentContent(
            PDF, "application/pdf", str(tmp_path / "r.pdf")
        )
        image = prompt_utils.ImageContent.from_bytes(PNG)
        assert (image.mime_type, image.source_path) == ("image/png", None)
        assert isinstance(image, prompt_utils.MediaContent)
        assert prompt_utils.read_file(tmp_path / "r.pdf") == PDF
        with pytest.raises(ValueError, match="Cannot detect format from bytes for AudioContent"):
            prompt_utils.AudioContent.from_bytes(b"????")
        (tmp_path / "x.bin").write_bytes(b"????")
        with pytest.raises(ValueError, match=r"Cannot detect format from file: .*x\.bin"):
            prompt_utils.VideoContent.from_path(tmp_path / "x.bin")
        with pytest.raises(FileNotFoundError, match="no file at"):
            prompt_utils.read_file(tmp_path / "missing.png")


class TestExactValues:
    @given(st.integers() | st.floats(allow_nan=False), st.sampled_from(["p.jsonl", "p.json"]))
    def test_numbers_come_back_exactly(self, number: int | float, name: str) -> None:
        """Integers of any size and infinities survive, as with LLMeter's `json`."""
        url = prompt_utils.save_payloads([{"n": number}], "memory://exact-numbers", name)
        assert list(load_payloads(url)) == [{"n": number}]
        assert type(next(load_payloads(url))["n"]) is type(number)
