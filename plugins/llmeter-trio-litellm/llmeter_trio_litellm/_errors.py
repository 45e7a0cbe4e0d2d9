"""LiteLLM's exceptions sorted into `ErrorClass` buckets.

LiteLLM maps every provider's failure onto OpenAI's exception classes, with
an HTTP-like ``status_code``, but the code alone misleads: a refused or
dropped connection comes back as ``InternalServerError`` (500), and an error
event inside a stream as ``MidStreamFallbackError`` (its ``original_exception``
holds the error, with the status the provider reported). So the whole chain
(``original_exception``, ``__cause__``, ``__context__``) is read, in order:

1. a timeout anywhere (``litellm.Timeout``, ``openai.APITimeoutError``,
   ``httpx.TimeoutException``, ``TimeoutError``): TIMEOUT;
2. a transport failure anywhere (``httpx.TransportError``, ``OSError``):
   CONNECTION (a broken JSON body: PROTOCOL);
3. the first ``status_code``: 429 THROTTLED (``RateLimitError``), 5xx
   SERVER, other 4xx CLIENT (``BadRequestError``, ``AuthenticationError``,
   ``ContextWindowExceededError``, ...);
4. anything else: OTHER.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmeter_trio.endpoints import ErrorClass, classify_exception, classify_status

__all__ = ["MAX_ERROR_CHARS", "describe_sdk_error", "sdk_error_class"]

MAX_ERROR_CHARS = 2048  # characters of an error message kept in the record
_TIMEOUT_CLASSES = frozenset({"APITimeoutError", "Timeout"})  # openai's, and litellm's subclass
_TRANSPORT = frozenset({ErrorClass.TIMEOUT, ErrorClass.CONNECTION, ErrorClass.PROTOCOL})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it wraps: LiteLLM's ``original_exception``, causes and contexts."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        for inner in (getattr(link, "original_exception", None), link.__cause__, link.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)


def _is_sdk_timeout(exc: BaseException) -> bool:
    return any(
        cls.__name__ in _TIMEOUT_CLASSES and cls.__module__.split(".")[0] in ("openai", "litellm")
        for cls in type(exc).__mro__
    )


def sdk_error_class(exc: BaseException) -> tuple[ErrorClass, int | None]:
    """The error class of a LiteLLM exception, and its HTTP status when it has one."""
    links = list(_chain(exc))
    if any(_is_sdk_timeout(link) for link in links):
        return ErrorClass.TIMEOUT, None
    for link in links:
        error_class, _ = classify_exception(link)
        if error_class in _TRANSPORT:
            return error_class, None
    for link in links:
        status = getattr(link, "status_code", None)
        if isinstance(status, int) and not isinstance(status, bool) and 400 <= status < 600:
            return classify_status(status), status
    return ErrorClass.OTHER, None


def describe_sdk_error(exc: BaseException) -> str:
    """One line: LiteLLM's message (which names its exception class), cut to a size."""
    text = " ".join(str(exc).split())
    if not text:
        text = type(exc).__name__
    elif not text.startswith(("litellm.", type(exc).__name__)):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"
