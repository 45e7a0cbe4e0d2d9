"""Messages API payloads: text, a system prompt, images and documents.

Images and documents are read and base64-encoded when the payload is made,
never while a request is timed. A source is a path or the raw bytes (the
media type found as for the OpenAI content parts: from the bytes' signature,
the file name, or `mime_type`), or an ``http(s)://`` URL, which Anthropic
fetches itself; a ``data:`` URL is unpacked into an inline block.

    >>> create_messages_payload("Hello", max_tokens=32, system="Be brief.")
    {'max_tokens': 32, 'messages': [{'role': 'user', 'content': 'Hello'}], 'system': 'Be brief.'}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from ..openai._content import MediaSource, _load, _media_type
from ..openai._parsing import text_of_content

__all__ = ["create_messages_payload", "document_block", "image_block", "prompt_text"]

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_WEB_URL = ("http://", "https://")


def _data_url(url: str, what: str) -> tuple[str, bytes]:
    """The media type and bytes of a base64 ``data:`` URL."""
    head, comma, data = url.partition(",")
    media_type, _, encoding = head[len("data:") :].partition(";")
    if not comma or encoding != "base64" or not media_type:
        raise ValueError(f"the {what} data URL must be data:<media type>;base64,<data>")
    try:
        return media_type, base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the {what} data URL is not valid base64: {exc}") from None


def _read(source: MediaSource, mime_type: str | None, what: str) -> tuple[str, bytes]:
    """The media type and bytes of a ``data:`` URL, a path or raw bytes (`mime_type`, if
    given, is the media type)."""
    if isinstance(source, str) and source.startswith("data:"):
        media_type, data = _data_url(source, what)
        return mime_type or media_type, data
    data, name = _load(source, what)
    return _media_type(data, name, mime_type, what), data


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image_block(image: MediaSource, *, mime_type: str | None = None) -> dict[str, Any]:
    """An ``image`` content block: the image inline (base64, with its media type), or a URL.

    Anthropic takes JPEG, PNG, GIF and WebP images; anything else is refused
    here, before a run, rather than by the API during it.
    """
    if isinstance(image, str) and image.startswith(_WEB_URL):
        return {"type": "image", "source": {"type": "url", "url": image}}
    media_type, data = _read(image, mime_type, "image")
    if media_type not in IMAGE_TYPES:
        raise ValueError(
            f"Anthropic takes {', '.join(IMAGE_TYPES)} images, not {media_type}: "
            "convert the image, or pass mime_type= if its type was guessed wrong"
        )
    source = {"type": "base64", "media_type": media_type, "data": _base64(data)}
    return {"type": "image", "source": source}


def document_block(
    document: MediaSource, *, mime_type: str | None = None, title: str | None = None
) -> dict[str, Any]:
    """A ``document`` content block: a PDF inline (base64) or by URL, or plain text.

    A text document (``text/*``, UTF-8) goes in as a ``text`` source; other
    media types are refused (the Messages API reads PDFs and text).
    """
    block: dict[str, Any] = {"type": "document"}
    if isinstance(document, str) and document.startswith(_WEB_URL):
        block["source"] = {"type": "url", "url": document}
    else:
        media_type, data = _read(document, mime_type, "document")
        if media_type == "application/pdf":
            block["source"] = {"type": "base64", "media_type": media_type, "data": _base64(data)}
        elif media_type.startswith("text/"):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"a {media_type} document must be UTF-8 text: {exc}") from None
            block["source"] = {"type": "text", "media_type": "text/plain", "data": text}
        else:
            raise ValueError(
                f"Anthropic reads PDF and text documents, not {media_type}: "
                "pass mime_type= if its type was guessed wrong"
            )
    if title is not None:
        block["title"] = title
    return block


def create_messages_payload(
    user_message: str,
    max_tokens: int = 256,
    *,
    system: str | None = None,
    images: Sequence[MediaSource] = (),
    documents: Sequence[MediaSource] = (),
    **kwargs: Any,
) -> dict[str, Any]:
    """A Messages API payload: one user turn, with images and documents if given.

    The user turn is `user_message` alone, or, with attachments, the image and
    document blocks followed by the text (Anthropic advises putting them
    first). `system` is the system prompt. Other `kwargs` are payload fields
    (``stream``, ``temperature``, ``thinking``, ``model``, ...).
    """
    content: str | list[dict[str, Any]] = user_message
    if images or documents:
        content = [image_block(image) for image in images]
        content += [document_block(document) for document in documents]
        content.append({"type": "text", "text": user_message})
    payload: dict[str, Any] = {
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": content}],
    }
    if system is not None:
        payload["system"] = system
    payload.update(kwargs)
    return payload


def prompt_text(payload: Mapping[str, Any]) -> str | None:
    """The text of the prompt, for counting its tokens locally: the system prompt and
    every turn's text (earlier assistant turns are input too), one per line."""
    parts: list[str] = []
    text_of_content(payload.get("system"), parts)
    messages = payload.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, Mapping):
                text_of_content(message.get("content"), parts)
    return "\n".join(parts) if parts else None
