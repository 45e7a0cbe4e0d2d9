"""LLMeter's multimodal content blocks and media-type detection, by LLMeter's names.

`ImageContent`, `AudioContent`, `VideoContent` and `DocumentContent` carry
raw bytes with their media type, read from a file (`from_path`) or given
(`from_bytes`). The type comes from the bytes' signature when it is a
well-known one (no extra package needed), else from the file's extension.
"""

from __future__ import annotations

import os
from typing import TypeAlias, TypeVar

import attrs

from ..storage import resolve

__all__ = [
    "AudioContent",
    "ContentItem",
    "DocumentContent",
    "ImageContent",
    "MediaContent",
    "VideoContent",
    "detect_format",
    "detect_format_from_bytes",
    "detect_format_from_extension",
    "detect_format_from_file",
    "read_file",
]

_EXTENSIONS = {  # LLMeter's table: the formats its endpoints send
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
}
_HEADER_BYTES = 64  # enough for every signature known here


def read_file(file_path: str | os.PathLike[str]) -> bytes:
    """The bytes of a local file or any fsspec URL."""
    url = os.fspath(file_path)
    fs, path = resolve(url)
    if not fs.isfile(path):
        raise FileNotFoundError(f"no file at {url}")
    with fs.open(path, "rb") as f:
        data: bytes = f.read()
    return data


def detect_format_from_extension(file_path: str | os.PathLike[str]) -> str | None:
    """The media type of a file name's extension (``photo.JPG`` is ``image/jpeg``), else None."""
    return _EXTENSIONS.get(os.path.splitext(os.fspath(file_path))[1].lower())


def detect_format_from_bytes(content: bytes) -> str | None:
    """The media type from the bytes' signature (JPEG, PNG, GIF, WebP, PDF, MP3, WAV, ...)."""
    from ..endpoints.openai._content import _sniff  # one table of signatures

    data = bytes(content[:_HEADER_BYTES])
    if data[4:8] == b"ftyp":  # ISO media: QuickTime or MP4
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "video/x-msvideo"
    return _sniff(data)


def detect_format_from_file(file_path: str | os.PathLike[str]) -> str | None:
    """The media type from a file's first bytes, else from its extension."""
    url = os.fspath(file_path)
    fs, path = resolve(url)
    if fs.isfile(path):
        with fs.open(path, "rb") as f:
            found = detect_format_from_bytes(f.read(_HEADER_BYTES))
        if found:
            return found
    return detect_format_from_extension(url)


def detect_format(
    content: bytes | None = None, file_path: str | os.PathLike[str] | None = None
) -> str | None:
    """The media type from `content`, else from the file at `file_path`; one must be given."""
    if content is None and file_path is None:
        raise ValueError("At least one of content or file_path must be provided")
    if content is not None:
        found = detect_format_from_bytes(content)
        if found is not None:
            return found
    if file_path is not None:
        return detect_format_from_file(file_path)
    return None


M = TypeVar("M", bound="MediaContent")


@attrs.frozen
class MediaContent:
    """Raw media bytes with their media type, and the file they came from, if any."""

    data: bytes
    mime_type: str
    source_path: str | None = None

    @classmethod
    def from_path(cls: type[M], file_path: str | os.PathLike[str]) -> M:
        """Read a file (local path or fsspec URL); its type from its bytes, else its name."""
        data = read_file(file_path)
        mime_type = detect_format(content=data, file_path=file_path)
        if mime_type is None:
            raise ValueError(f"Cannot detect format from file: {os.fspath(file_path)}")
        return cls(data=data, mime_type=mime_type, source_path=os.fspath(file_path))

    @classmethod
    def from_bytes(cls: type[M], data: bytes) -> M:
        """Wrap bytes; their type from their signature, or a ValueError saying to use a file."""
        mime_type = detect_format(content=data)
        if mime_type is None:
            raise ValueError(
                f"Cannot detect format from bytes for {cls.__name__}: "
                "not a signature known here; use from_path() with a file name"
            )
        return cls(data=data, mime_type=mime_type)


@attrs.frozen
class ImageContent(MediaContent):
    """An image: ``ImageContent.from_path("photo.jpg")``."""


@attrs.frozen
class AudioContent(MediaContent):
    """Audio: ``AudioContent.from_path("recording.wav")``."""


@attrs.frozen
class VideoContent(MediaContent):
    """A video: ``VideoContent.from_path("clip.mp4")``."""


@attrs.frozen
class DocumentContent(MediaContent):
    """A document: ``DocumentContent.from_path("report.pdf")``."""


ContentItem: TypeAlias = str | ImageContent | AudioContent | VideoContent | DocumentContent
"""What LLMeter's endpoints take in a user message: text or a media block."""
