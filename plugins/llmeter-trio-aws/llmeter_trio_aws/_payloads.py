"""Payloads for Bedrock's Converse and InvokeModel and SageMaker's containers.

Each helper builds the JSON body of one request with one user message.
Images and documents (paths or bytes) are read and base64-encoded here, when
payloads are made, never while a request is timed; their format comes from
the bytes' signature or the file name, as for the OpenAI content parts.
`max_tokens` goes where the API wants its output limit;
other keyword arguments are payload fields, added as they are.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Sequence
from typing import Any

from llmeter_trio.endpoints import OpenAIChatEndpoint

# The same reading and media-type rules as the OpenAI content parts.
from llmeter_trio.endpoints.openai._content import MediaSource, _load, _media_type

__all__ = [
    "ANTHROPIC_BEDROCK_VERSION",
    "converse_content",
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
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9()\[\]-]+")


class _Media:
    """One attachment, read: its bytes (base64), media type and a name."""

    __slots__ = ("data", "media_type", "name")

    def __init__(self, source: MediaSource, what: str) -> None:
        raw, name = _load(source, what)
        self.media_type = _media_type(raw, name, None, what)
        self.data = base64.b64encode(raw).decode("ascii")
        self.name = name

    def format(self, formats: dict[str, str], what: str) -> str:
        try:
            return formats[self.media_type]
        except KeyError:
            known = ", ".join(sorted(set(formats.values())))
            raise ValueError(
                f"Bedrock takes {what}s as {known}, not {self.media_type}"
                + (f" ({self.name})" if self.name else "")
            ) from None


def _document_name(media: _Media, index: int) -> str:
    """A document name Bedrock accepts: letters, digits, single spaces, hyphens, brackets."""
    stem = os.path.splitext(media.name)[0] if media.name else ""
    name = " ".join(_NAME_UNSAFE.sub(" ", stem).split())
    return name or f"document-{index}"


def converse_content(
    text: str, images: Sequence[MediaSource] = (), documents: Sequence[MediaSource] = ()
) -> list[dict[str, Any]]:
    """Converse (and Nova) content blocks: the text, then ``image`` and ``document`` blocks."""
    content: list[dict[str, Any]] = [{"text": text}]
    for image in images:
        media = _Media(image, "image")
        content.append(
            {
                "image": {
                    "format": media.format(_IMAGE_FORMATS, "image"),
                    "source": {"bytes": media.data},
                }
            }
        )
    for index, document in enumerate(documents, 1):
        media = _Media(document, "document")
        block = {
            "format": media.format(_DOCUMENT_FORMATS, "document"),
            "name": _document_name(media, index),
            "source": {"bytes": media.data},
        }
        content.append({"document": block})
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
