"""Payloads for Bedrock's Converse and InvokeModel and SageMaker's containers.

Each helper builds the JSON body of one request with one user message.
Images and documents (paths or bytes) are read and base64-encoded here, when
payloads are made, never while a request is timed; their format comes from
the bytes' signature or the file name, as for the OpenAI content parts.
`max_tokens` goes where the API wants its output limit;
other keyword arguments are payload fields, added as they are.

`converse_blocks` makes LLMeter's ordered content (text and
`~llmeter_trio.prompt_utils.MediaContent` blocks) into Converse blocks, the
bytes base64-encoded as Converse's JSON carries them; `blobs_as_base64`
encodes raw bytes left in a body (LLMeter's payloads and payload files hold
them raw, as boto3 takes them).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmeter_trio.endpoints import OpenAIChatEndpoint

# The same reading and media-type rules as the OpenAI content parts.
from llmeter_trio.endpoints.openai._content import MediaSource, _load, _media_kind, _media_type

if TYPE_CHECKING:
    from llmeter_trio.prompt_utils import MediaContent

__all__ = [
    "ANTHROPIC_BEDROCK_VERSION",
    "blobs_as_base64",
    "converse_blocks",
    "converse_content",
    "converse_next_turn",
    "converse_payload",
    "invoke_payload",
    "sagemaker_chat_payload",
    "sagemaker_tgi_payload",
]

ANTHROPIC_BEDROCK_VERSION = "bedrock-2023-05-31"

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_VIDEO_FORMATS = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "video/x-flv": "flv",
    "video/mpeg": "mpeg",
    "video/x-ms-wmv": "wmv",
    "video/3gpp": "three_gp",
}
_AUDIO_FORMATS = {
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/aac": "aac",
    "audio/mp4": "m4a",
    "audio/webm": "webm",
    "audio/opus": "opus",
}
# The Converse block of each kind of media, and the formats it takes.
_FORMATS = {
    "image": _IMAGE_FORMATS,
    "document": _DOCUMENT_FORMATS,
    "video": _VIDEO_FORMATS,
    "audio": _AUDIO_FORMATS,
}
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9()\[\]-]+")


class _Media:
    """One attachment, read: its bytes (base64), media type and a name."""

    __slots__ = ("data", "media_type", "name")

    def __init__(self, source: MediaSource, what: str) -> None:
        raw, name = _load(source, what)
        self.media_type = _media_type(raw, name, None, what)
        self.data = base64.b64encode(raw).decode("ascii")
        self.name = name


def _format(media_type: str, kind: str, name: str | None) -> str:
    """Converse's ``format`` of a `kind` block (``image``, ...) of `media_type`."""
    formats = _FORMATS[kind]
    try:
        return formats[media_type]
    except KeyError:
        known = ", ".join(sorted(set(formats.values())))
        raise ValueError(
            f"Bedrock takes {kind}s as {known}, not {media_type}" + (f" ({name})" if name else "")
        ) from None


def _document_name(file_name: str | None, index: int) -> str:
    """A document name Bedrock accepts: letters, digits, single spaces, hyphens, brackets."""
    stem = os.path.splitext(os.path.basename(file_name))[0] if file_name else ""
    name = " ".join(_NAME_UNSAFE.sub(" ", stem).split())
    return name or f"document-{index}"


def _media_block(
    kind: str, data: str, media_type: str, name: str | None, index: int
) -> dict[str, Any]:
    """A Converse ``image``, ``document``, ``video`` or ``audio`` block (`data` in base64);
    a document is named (Converse requires it) after its file, else ``document-<index>``."""
    block: dict[str, Any] = {"format": _format(media_type, kind, name)}
    if kind == "document":
        block["name"] = _document_name(name, index)
    block["source"] = {"bytes": data}
    return {kind: block}


def converse_blocks(items: Sequence[str | MediaContent]) -> list[dict[str, Any]]:
    """Converse content blocks for ordered text and media, in their order (LLMeter's list form).

    A string is a ``text`` block; an `ImageContent`, `DocumentContent`,
    `VideoContent` or `AudioContent` its kind's block, its ``format`` from its
    media type (a type Converse does not take is a ValueError naming those it
    does); anything else is a TypeError.
    """
    from llmeter_trio.prompt_utils import MediaContent

    blocks: list[dict[str, Any]] = []
    documents = 0
    for item in items:
        if isinstance(item, str):
            blocks.append({"text": item})
        elif isinstance(item, MediaContent):
            kind = _media_kind(item)
            documents += kind == "document"
            data = base64.b64encode(item.data).decode("ascii")
            blocks.append(_media_block(kind, data, item.mime_type, item.source_path, documents))
        else:
            raise TypeError(f"content items must be str or MediaContent, not {type(item).__name__}")
    return blocks


def blobs_as_base64(value: Any) -> Any:
    """`value` with every ``bytes`` in it (at any depth) as base64 text, as JSON carries
    AWS blobs; `value` itself when it holds none."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        encoded = {key: blobs_as_base64(item) for key, item in value.items()}
        changed = any(encoded[key] is not item for key, item in value.items())
        return encoded if changed else value
    if isinstance(value, list | tuple):
        items = [blobs_as_base64(item) for item in value]
        return (
            items if any(new is not old for new, old in zip(items, value, strict=True)) else value
        )
    return value


def converse_content(
    text: str, images: Sequence[MediaSource] = (), documents: Sequence[MediaSource] = ()
) -> list[dict[str, Any]]:
    """Converse (and Nova) content blocks: the text, then ``image`` and ``document`` blocks."""
    content: list[dict[str, Any]] = [{"text": text}]
    for image in images:
        media = _Media(image, "image")
        content.append(_media_block("image", media.data, media.media_type, media.name, 0))
    for index, document in enumerate(documents, 1):
        media = _Media(document, "document")
        content.append(_media_block("document", media.data, media.media_type, media.name, index))
    return content


def converse_payload(
    user_message: str,
    max_tokens: int | None = 256,
    *,
    system_prompt: str | None = None,
    images: Sequence[MediaSource] = (),
    documents: Sequence[MediaSource] = (),
    **kwargs: Any,
) -> dict[str, Any]:
    """A Converse / ConverseStream body: ``messages``, ``system`` and ``inferenceConfig``."""
    payload: dict[str, Any] = {
        "messages": [{"role": "user", "content": converse_content(user_message, images, documents)}]
    }
    if system_prompt is not None:
        payload["system"] = [{"text": system_prompt}]
    if max_tokens is not None:
        payload["inferenceConfig"] = {"maxTokens": max_tokens}
    payload.update(kwargs)
    return payload


def converse_next_turn(
    payload: Mapping[str, Any], answer: str, user_message: str
) -> dict[str, Any]:
    """A Converse body's next turn: its ``messages`` with the ``assistant`` `answer` and the
    next ``user`` message appended, each one text block (the body given is not changed)."""
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError(
            "bedrock-converse: cannot continue a conversation whose payload has no 'messages'"
        )
    for name, value in (("answer", answer), ("user_message", user_message)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be text, not {type(value).__name__}")
    return {
        **payload,
        "messages": [
            *messages,
            {"role": "assistant", "content": [{"text": answer}]},
            {"role": "user", "content": [{"text": user_message}]},
        ],
    }


def _anthropic_content(
    text: str, images: Sequence[MediaSource], documents: Sequence[MediaSource]
) -> str | list[dict[str, Any]]:
    if not images and not documents:
        return text
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for kind, attachments in (("image", images), ("document", documents)):
        for attachment in attachments:
            media = _Media(attachment, kind)
            source = {"type": "base64", "media_type": media.media_type, "data": media.data}
            content.append({"type": kind, "source": source})
    return content


def _refuse(family: str, what: str) -> ValueError:
    return ValueError(f"the {family} InvokeModel body has no {what}; use Converse for it")


def invoke_payload(
    model_format: str,
    user_message: str,
    max_tokens: int | None = 256,
    *,
    system_prompt: str | None = None,
    images: Sequence[MediaSource] = (),
    documents: Sequence[MediaSource] = (),
    **kwargs: Any,
) -> dict[str, Any]:
    """An InvokeModel body in a model family's format (a `FORMATS` name: ``anthropic``,
    ``meta``, ``titan``, ``nova``, ``mistral``, ``cohere``, ``openai``).

    Text-completion families (``meta``, ``mistral``, ``titan``) take the prompt
    as given: add the model's instruction template to `user_message` yourself.
    """
    family = model_format
    payload: dict[str, Any]
    if family in ("meta", "titan", "mistral", "cohere") and documents:
        raise _refuse(family, "documents")
    if family in ("titan", "mistral", "cohere") and images:
        raise _refuse(family, "images")
    if family in ("meta", "titan", "mistral") and system_prompt is not None:
        raise _refuse(family, "system prompt (write it into the prompt)")
    if family == "anthropic":
        payload = {
            "anthropic_version": ANTHROPIC_BEDROCK_VERSION,
            "messages": [
                {"role": "user", "content": _anthropic_content(user_message, images, documents)}
            ],
        }
        if system_prompt is not None:
            payload["system"] = system_prompt
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
    elif family == "nova":
        payload = converse_payload(
            user_message,
            max_tokens,
            system_prompt=system_prompt,
            images=images,
            documents=documents,
        )
        payload = {"schemaVersion": "messages-v1", **payload}
    elif family == "openai":
        payload = OpenAIChatEndpoint.create_payload(
            user_message,
            max_tokens,
            system_prompt=system_prompt,
            images=images,
            documents=documents,
        )
    elif family == "meta":
        payload = {"prompt": user_message}
        if images:
            payload["images"] = [_Media(image, "image").data for image in images]
        if max_tokens is not None:
            payload["max_gen_len"] = max_tokens
    elif family == "titan":
        payload = {"inputText": user_message}
        if max_tokens is not None:
            payload["textGenerationConfig"] = {"maxTokenCount": max_tokens}
    elif family == "mistral":
        payload = {"prompt": user_message}
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
    elif family == "cohere":
        payload = {"message": user_message}
        if system_prompt is not None:
            payload["preamble"] = system_prompt
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
    else:
        raise ValueError(
            f"no InvokeModel payload for the format {model_format!r}; use one of anthropic, "
            "meta, titan, nova, mistral, cohere, openai"
        )
    payload.update(kwargs)
    return payload


def sagemaker_tgi_payload(
    inputs: str,
    max_tokens: int | None = 256,
    *,
    stream: bool | None = None,
    details: bool = True,
    **parameters: Any,
) -> dict[str, Any]:
    """A TGI body: ``{"inputs": ..., "parameters": {"max_new_tokens": ..., "details": true}}``.

    `details` asks TGI for its token counts and finish reason; `stream` sets
    the body's ``stream`` flag (TGI streams only when it is true); other
    keyword arguments are generation ``parameters`` (``temperature``, ...).
    """
    params: dict[str, Any] = {"details": details}
    if max_tokens is not None:
        params["max_new_tokens"] = max_tokens
    params.update(parameters)
    payload: dict[str, Any] = {"inputs": inputs, "parameters": params}
    if stream is not None:
        payload["stream"] = stream
    return payload


def sagemaker_chat_payload(
    user_message: str, max_tokens: int | None = 256, *, stream: bool | None = None, **kwargs: Any
) -> dict[str, Any]:
    """A Chat Completions body for LMI and vLLM containers: `OpenAIChatEndpoint.create_payload`'s
    (`system_prompt`, `images`, `documents`; other keyword arguments are body fields).

    `stream`, when given, sets the body's ``stream`` flag; ``stream=True`` also asks
    for a final usage chunk, so token counts come from the container.
    """
    payload = OpenAIChatEndpoint.create_payload(user_message, max_tokens, **kwargs)
    if stream is not None:
        payload["stream"] = stream
        if stream:
            payload.setdefault("stream_options", {"include_usage": True})
    return payload
