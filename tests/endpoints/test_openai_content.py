"""Multimodal content parts and `create_payload`, in the OpenAI wire formats."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from llmeter_trio.endpoints import OpenAIChatEndpoint, OpenAIResponsesEndpoint
from llmeter_trio.endpoints.openai import (
    data_url,
    file_part,
    image_url_part,
    input_audio_part,
    input_file_part,
    input_image_part,
    input_text_part,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16
MP3 = b"ID3\x04\x00" + b"\x00" * 16
PDF = b"%PDF-1.7\n" + b"\x00" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TestParts:
    """Each helper builds its part from a path or bytes."""

    def test_image_from_path(self, tmp_path: Path) -> None:
        """A path's bytes are inlined as a data URL of the right media type."""
        path = tmp_path / "cat.png"
        path.write_bytes(PNG)
        assert image_url_part(path, detail="low") == {
            "type": "image_url",
            "image_url": {"url": f"data:image/png;base64,{b64(PNG)}", "detail": "low"},
        }
        assert image_url_part(str(path))["image_url"]["url"] == data_url(PNG, "image/png")

    def test_image_from_bytes_and_url(self) -> None:
        """Bytes are sniffed; URLs pass through unchanged."""
        assert image_url_part(JPEG)["image_url"]["url"].startswith("data:image/jpeg;base64,")
        url = "https://example.com/cat.png"
        assert image_url_part(url) == {"type": "image_url", "image_url": {"url": url}}
        assert input_image_part(url) == {"type": "input_image", "image_url": url, "detail": "auto"}

    def test_unknown_bytes_need_a_media_type(self) -> None:
        """Bytes of an unknown kind are refused with what to do, unless mime_type is given."""
        with pytest.raises(ValueError, match="mime_type="):
            image_url_part(b"????")
        part = image_url_part(b"????", mime_type="image/avif")
        assert part["image_url"]["url"] == f"data:image/avif;base64,{b64(b'????')}"

    def test_missing_file(self, tmp_path: Path) -> None:
        """A path that cannot be read is named in the error."""
        missing = tmp_path / "nope.png"
        with pytest.raises(ValueError, match=r"nope\.png"):
            image_url_part(missing)

    def test_wrong_type(self) -> None:
        """Only paths and bytes are sources."""
        with pytest.raises(TypeError, match="path or bytes"):
            image_url_part(42)  # type: ignore[arg-type]

    @pytest.mark.parametrize(("data", "audio_format"), [(WAV, "wav"), (MP3, "mp3")])
    def test_audio(self, data: bytes, audio_format: str) -> None:
        """Audio is raw base64 with its format, as ``input_audio``."""
        assert input_audio_part(data) == {
            "type": "input_audio",
            "input_audio": {"data": b64(data), "format": audio_format},
        }

    def test_audio_format_from_file_name_or_argument(self, tmp_path: Path) -> None:
        """The format may come from the file name or be given."""
        path = tmp_path / "clip.mp3"
        path.write_bytes(b"\x00" * 8)
        assert input_audio_part(path)["input_audio"]["format"] == "mp3"
        assert input_audio_part(b"\x00", audio_format="flac")["input_audio"]["format"] == "flac"

    def test_document_from_path(self, tmp_path: Path) -> None:
        """Documents keep their file name and go inline as a data URL."""
        path = tmp_path / "report.pdf"
        path.write_bytes(PDF)
        expected_url = f"data:application/pdf;base64,{b64(PDF)}"
        assert file_part(path) == {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": expected_url},
        }
        assert input_file_part(path) == {
            "type": "input_file",
            "filename": "report.pdf",
            "file_data": expected_url,
        }

    def test_document_from_bytes(self) -> None:
        """Bytes get a file name from their media type, or the one given."""
        assert file_part(PDF)["file"]["filename"] == "document.pdf"
        assert file_part(PDF, filename="q3.pdf")["file"]["filename"] == "q3.pdf"
        text = file_part(b"plain words", filename="notes.txt")["file"]
        assert text["file_data"].startswith("data:text/plain;base64,")


class TestCreatePayload:
    """create_payload builds each API's payload, attachments included."""

    def test_chat_text_only(self) -> None:
        """A plain message stays a string."""
        assert OpenAIChatEndpoint.create_payload(
            "Hi", 32, system_prompt="Brief", temperature=0
        ) == {
            "messages": [
                {"role": "system", "content": "Brief"},
                {"role": "user", "content": "Hi"},
            ],
            "max_tokens": 32,
            "temperature": 0,
        }
        payload = OpenAIChatEndpoint.create_payload("Hi", None, max_completion_tokens=8)
        assert "max_tokens" not in payload
        assert payload["max_completion_tokens"] == 8

    def test_chat_with_attachments(self) -> None:
        """Attachments follow the text as content parts."""
        payload = OpenAIChatEndpoint.create_payload(
            "Describe", images=[PNG], audio=[WAV], documents=[PDF]
        )
        content = payload["messages"][0]["content"]
        assert content == [
            {"type": "text", "text": "Describe"},
            image_url_part(PNG),
            input_audio_part(WAV),
            file_part(PDF),
        ]
        assert OpenAIChatEndpoint.prompt_text(payload) == "Describe"

    def test_responses(self) -> None:
        """Text only is a string input; attachments make one user message of parts."""
        assert OpenAIResponsesEndpoint.create_payload("Hi", 64, instructions="Brief") == {
            "input": "Hi",
            "instructions": "Brief",
            "max_output_tokens": 64,
        }
        payload = OpenAIResponsesEndpoint.create_payload(
            "Describe", images=[PNG], audio=[MP3], documents=[PDF]
        )
        assert payload["input"] == [
            {
                "role": "user",
                "content": [
                    input_text_part("Describe"),
                    input_image_part(PNG),
                    input_audio_part(MP3),
                    input_file_part(PDF),
                ],
            }
        ]
        assert OpenAIResponsesEndpoint.prompt_text(payload) == "Describe"
