"""Multimodal content parts in the OpenAI wire formats, built from files or bytes.

Images, audio and documents are read and base64-encoded here, when payloads are
created, so none of that work happens while a request is timed. A source is a
path (``str`` or ``os.PathLike``) or the raw ``bytes``; an image may also be a
URL (``http(s)://`` or ``data:``), passed through unchanged. The media type
comes from the bytes' signature when it is a well-known one, else from the file
name, else from the ``mime_type`` argument, which always wins when given.

Chat Completions parts: `image_url_part`, `input_audio_part`, `file_part`.
Responses API parts: `input_text_part`, `input_image_part`, `input_audio_part`,
`input_file_part`.

`chat_content_parts` turns LLMeter's ordered content items (text, and
`~llmeter_trio.prompt_utils.MediaContent` blocks) into Chat Completions parts.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from ...prompts._media import MediaContent

__all__ = [
    "MediaSource",
    "chat_content_parts",
    "data_url",
    "file_part",
    "image_url_part",
    "input_audio_part",
    "input_file_part",
    "input_image_part",
    "input_text_part",
]

MediaSource: TypeAlias = "str | os.PathLike[str] | bytes"

_URL_PREFIXES = ("http://", "https://", "data:")
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
)
_MP3_FRAME_BYTES = frozenset(bytes([b]) for b in (0xFB, 0xFA, 0xF3, 0xF2, 0xE3, 0xE2))
_EXTENSIONS = {  # what `mimetypes` may not know on every platform or Python version
    ".webp": "image/webp",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".md": "text/markdown",
}
_AUDIO_FORMATS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}


def _sniff(data: bytes) -> str | None:
    for signature, mime_type in _SIGNATURES:
        if data.startswith(signature):
            return mime_type
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:1] == b"\xff" and data[1:2] in _MP3_FRAME_BYTES:  # an MPEG audio layer III frame
        return "audio/mpeg"
    return None


def _guess_from_name(name: str) -> str | None:
    extension = os.path.splitext(name)[1].lower()
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    return mimetypes.guess_type(name, strict=False)[0]


def _load(source: MediaSource, what: str) -> tuple[bytes, str | None]:
    """The bytes of `source` and its file name (None for raw bytes)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), None
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            return path.read_bytes(), path.name
        except OSError as exc:
            raise ValueError(f"cannot read the {what} file {os.fspath(path)!r}: {exc}") from None
    raise TypeError(f"a {what} must be a path or bytes, not {type(source).__name__}")


def _media_type(data: bytes, name: str | None, mime_type: str | None, what: str) -> str:
    found = mime_type or _sniff(data) or (name and _guess_from_name(name))
    if not found:
        source = f"file {name!r}" if name else "bytes"
        raise ValueError(
            f"cannot tell the media type of the {what} {source}: pass mime_type= (e.g. 'image/png')"
        )
    return found


def data_url(data: bytes, mime_type: str) -> str:
    """``data:<mime_type>;base64,<data>``."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def _image_url(image: MediaSource, mime_type: str | None) -> str:
    if isinstance(image, str) and image.startswith(_URL_PREFIXES):
        return image
    data, name = _load(image, "image")
    return data_url(data, _media_type(data, name, mime_type, "image"))


def image_url_part(
    image: MediaSource, *, mime_type: str | None = None, detail: str | None = None
) -> dict[str, Any]:
    """A Chat Completions ``image_url`` part: a URL, or the image inline as a data URL."""
    image_url: dict[str, Any] = {"url": _image_url(image, mime_type)}
    if detail is not None:
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def input_audio_part(audio: MediaSource, *, audio_format: str | None = None) -> dict[str, Any]:
    """An ``input_audio`` part (Chat Completions and Responses): base64 data and its format.

    The format is ``"wav"`` or ``"mp3"`` for OpenAI's models, found from the
    bytes or file name; pass `audio_format` for anything else a server accepts.
    """
    data, name = _load(audio, "audio")
    if audio_format is None:
        mime_type = _media_type(data, name, None, "audio")
        audio_format = _AUDIO_FORMATS.get(mime_type) or mime_type.rpartition("/")[2]
    return {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(data).decode("ascii"), "format": audio_format},
    }


def _document(
    document: MediaSource, filename: str | None, mime_type: str | None
) -> tuple[str, str]:
    data, name = _load(document, "document")
    media_type = _media_type(data, filename or name, mime_type, "document")
    if filename is None:
        filename = name or f"document{mimetypes.guess_extension(media_type) or ''}"
    return filename, data_url(data, media_type)


def file_part(
    document: MediaSource, *, filename: str | None = None, mime_type: str | None = None
) -> dict[str, Any]:
    """A Chat Completions ``file`` part: the document inline, base64 in a data URL."""
    name, url = _document(document, filename, mime_type)
    return {"type": "file", "file": {"filename": name, "file_data": url}}


def input_text_part(text: str) -> dict[str, Any]:
    """A Responses API ``input_text`` part."""
    return {"type": "input_text", "text": text}


def input_image_part(
    image: MediaSource, *, mime_type: str | None = None, detail: str = "auto"
) -> dict[str, Any]:
    """A Responses API ``input_image`` part: a URL, or the image inline as a data URL."""
    return {"type": "input_image", "image_url": _image_url(image, mime_type), "detail": detail}


def input_file_part(
    document: MediaSource, *, filename: str | None = None, mime_type: str | None = None
) -> dict[str, Any]:
    """A Responses API ``input_file`` part: the document inline, base64 in a data URL."""
    name, url = _document(document, filename, mime_type)
    return {"type": "input_file", "filename": name, "file_data": url}


def _media_kind(item: MediaContent) -> str:
    """``image``, ``audio``, ``video`` or ``document``: by the block's class, else its type."""
    from ...prompts._media import AudioContent, DocumentContent, ImageContent, VideoContent

    for cls, kind in (
        (ImageContent, "image"),
        (AudioContent, "audio"),
        (VideoContent, "video"),
        (DocumentContent, "document"),
    ):
        if isinstance(item, cls):
            return kind
    family = item.mime_type.partition("/")[0]
    return family if family in ("image", "audio", "video") else "document"


def chat_media_part(item: MediaContent) -> dict[str, Any]:
    """The Chat Completions part for one media block: ``image_url``, ``input_audio`` or
    ``file`` (named after the file it was read from). Video is a ValueError: the API
    takes none inline."""
    kind = _media_kind(item)
    if kind == "image":
        return image_url_part(item.data, mime_type=item.mime_type)
    if kind == "audio":
        audio_format = _AUDIO_FORMATS.get(item.mime_type) or item.mime_type.rpartition("/")[2]
        return input_audio_part(item.data, audio_format=audio_format)
    if kind == "video":
        raise ValueError(
            "the Chat Completions API takes no video inline: send frames as images instead"
        )
    filename = os.path.basename(item.source_path) if item.source_path else None
    return file_part(item.data, filename=filename, mime_type=item.mime_type)


def chat_content_parts(items: Sequence[str | MediaContent]) -> list[dict[str, Any]]:
    """Chat Completions content parts for ordered text and media blocks, in their order.

    A string is a ``text`` part; a `MediaContent` block becomes its media part
    (`chat_media_part`); anything else is a TypeError.
    """
    from ...prompts._media import MediaContent

    parts: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            parts.append({"type": "text", "text": item})
        elif isinstance(item, MediaContent):
            parts.append(chat_media_part(item))
        else:
            raise TypeError(f"content items must be str or MediaContent, not {type(item).__name__}")
    return parts
