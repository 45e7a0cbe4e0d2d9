"""LiteLLM's exceptions, sorted into error classes by what they wrap, not only their code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import litellm_fakes  # noqa: F401  (litellm imported the plugin's way, offline)
import pytest
from litellm import exceptions as sdk
from llmeter_trio_litellm._errors import MAX_ERROR_CHARS, describe_sdk_error, sdk_error_class

from llmeter_trio.endpoints import ErrorClass

WHO: dict[str, Any] = {"llm_provider": "openai", "model": "m"}


def wrapped(outer: Exception, inner: BaseException) -> Exception:
    """`outer` raised while handling `inner`, as LiteLLM raises its exceptions."""
    outer.__cause__ = inner
    return outer


def connection_refused() -> Exception:
    """A refused connection as LiteLLM reports it: InternalServerError (500) on top."""
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    transport = wrapped(httpx.ConnectError("refused", request=request), ConnectionRefusedError())
    return wrapped(sdk.InternalServerError("Connection error.", **WHO), transport)


def dropped_mid_stream() -> BaseException:
    """A connection closed mid-stream: MidStreamFallbackError (500) over the broken read."""
    broken = wrapped(
        sdk.APIConnectionError("Connection error.", **WHO),
        httpx.RemoteProtocolError("peer closed connection"),
    )
    return sdk.MidStreamFallbackError("mid-stream", original_exception=broken, **WHO)


def error_event_mid_stream(status: int) -> BaseException:
    """An error event inside the stream: LiteLLM wraps the provider's error, with its status."""
    if status == 429:
        inner: Exception = sdk.RateLimitError("Rate limit reached", **WHO)
    else:
        inner = sdk.APIConnectionError("The server had an error", **WHO)
    return sdk.MidStreamFallbackError("mid-stream", original_exception=inner, **WHO)


CASES: list[tuple[str, Callable[[], BaseException], ErrorClass, int | None]] = [
    ("RateLimitError", lambda: sdk.RateLimitError("slow down", **WHO), ErrorClass.THROTTLED, 429),
    ("InternalServerError", lambda: sdk.InternalServerError("boom", **WHO), ErrorClass.SERVER, 500),
    (
        "ServiceUnavailableError",
        lambda: sdk.ServiceUnavailableError("overloaded", **WHO),
        ErrorClass.SERVER,
        503,
    ),
    ("BadRequestError", lambda: sdk.BadRequestError("bad", **WHO), ErrorClass.CLIENT, 400),
    (
        "ContextWindowExceededError",
        lambda: sdk.ContextWindowExceededError("too long", **WHO),
        ErrorClass.CLIENT,
        400,
    ),
    (
        "AuthenticationError",
        lambda: sdk.AuthenticationError("no key", **WHO),
        ErrorClass.CLIENT,
        401,
    ),
    ("NotFoundError", lambda: sdk.NotFoundError("no model", **WHO), ErrorClass.CLIENT, 404),
    ("Timeout", lambda: sdk.Timeout("timed out", **WHO), ErrorClass.TIMEOUT, None),
    ("connection refused", connection_refused, ErrorClass.CONNECTION, None),
    ("dropped mid-stream", dropped_mid_stream, ErrorClass.CONNECTION, None),
    ("429 event mid-stream", lambda: error_event_mid_stream(429), ErrorClass.THROTTLED, 429),
    ("500 event mid-stream", lambda: error_event_mid_stream(500), ErrorClass.SERVER, 500),
    ("an adapter bug", lambda: KeyError("choices"), ErrorClass.OTHER, None),
]


@pytest.mark.parametrize(("make", "error_class", "status"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_classified(
    make: Callable[[], BaseException], error_class: ErrorClass, status: int | None
) -> None:
    assert sdk_error_class(make()) == (error_class, status)


def test_a_message_is_one_line_of_bounded_length() -> None:
    error = sdk.BadRequestError("line one\n\nline two " + "x" * 5000, **WHO)
    text = describe_sdk_error(error)
    assert "\n" not in text
    assert text.startswith("litellm.BadRequestError: ")
    assert len(text) == MAX_ERROR_CHARS + 1  # ... and an ellipsis


def test_a_plain_exception_is_named() -> None:
    assert describe_sdk_error(KeyError("choices")) == "KeyError: 'choices'"
    assert describe_sdk_error(RuntimeError()) == "RuntimeError"
