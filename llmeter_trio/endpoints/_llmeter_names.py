"""LLMeter's endpoint classes, by LLMeter's names and constructor arguments.

A migrating user's endpoint code works unchanged::

    endpoint = OpenAICompletionStreamEndpoint("gpt-4o-mini", api_key=key, base_url=url)

Each class is a thin subclass of the llmeter-trio endpoint for the same API,
with LLMeter's arguments in LLMeter's order and streaming forced on or off as
LLMeter's class does (the `stream` option). Keyword arguments LLMeter hands
to the openai or anthropic SDK client map onto this project's options:
``base_url``; ``default_headers`` and ``default_query`` become
`extra_headers` and `extra_query`; ``organization`` and ``project`` (OpenAI)
and ``auth_token`` (Anthropic) become the headers those SDKs send. Any
llmeter-trio option (``max_response_chars``, ``http_transport``, ...) may be
given too. A saved run records the llmeter-trio type (``openai-chat``,
``openai-responses``, ``anthropic-messages``) with ``stream`` set, and loads
back as that type.

``ttft_visible_tokens_only`` is accepted (by every class) and needs no setting: every record
keeps both the first token of any kind (`time_to_first_token`, LLMeter's
``False``) and the first visible one (`time_to_first_content_token`,
LLMeter's default ``True``).

Retries, one rule for every LLMeter class (the AWS plugin's too): LLMeter's retry
options (``max_retries`` here, ``max_attempts`` for the AWS classes) are accepted
and have no effect on the endpoint: retrying is the run's choice here, off by
default so each failure is recorded as it happened (``Runner(retry=Retry(...))``).
Asking for none (0 retries, 1 attempt) is silent; asking for retries warns
(`UserWarning`) and names the run option (`ignore_retries`).

`create_payload` takes LLMeter's forms too: the Chat Completions classes a
list of text and `~llmeter_trio.prompt_utils.MediaContent` blocks (one user
message, its parts in that order), the Responses classes a list of messages
and LLMeter's ``max_output_tokens`` and ``instructions`` arguments.

`llmeter_class` finds the class LLMeter saved an endpoint as (its class name in
``endpoint_type``), for `Endpoint.load` of LLMeter's endpoint files.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ._base import MASK
from .anthropic import AnthropicMessagesEndpoint
from .openai import OpenAIChatEndpoint, OpenAIResponsesEndpoint
from .openai._content import chat_content_parts

if TYPE_CHECKING:
    from ..prompts._media import MediaContent

__all__ = [
    "AnthropicMessages",
    "AnthropicMessagesStream",
    "OpenAICompletionEndpoint",
    "OpenAICompletionStreamEndpoint",
    "OpenAIResponseEndpoint",
    "OpenAIResponseStreamEndpoint",
]

_NOT_TAKEN = {
    "timeout": "give the run a request timeout instead: Runner.run(..., timeout=seconds)",
    "http_client": "the endpoint makes its own client per run (see http_transport, verify)",
}
# LLMeter's retry options, each with the value that asks for no retry.
RETRY_OPTIONS = {"max_retries": 0, "max_attempts": 1}


def ignore_retries(owner: str, option: str, value: Any, stacklevel: int = 2) -> None:
    """Accept LLMeter's retry option `option` of class `owner`; warn if it asks for retries.

    `stacklevel` counts from the caller of this function, as `warnings.warn`'s does.
    """
    if value is None or value == RETRY_OPTIONS[option]:
        return
    warnings.warn(
        f"{owner}({option}={value!r}) has no effect: in llmeter-trio the run retries, "
        "when asked: Runner(retry=Retry(max_attempts=N)) (off by default, so each failure "
        "shows in the results as it happened)",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def llmeter_class(endpoint_type: Any) -> type[Any] | None:
    """The class LLMeter saves as `endpoint_type` (its class name), or None for another name.

    A provider class comes from its plugin: a missing plugin is an error saying what
    to install.
    """
    from .. import endpoints

    provider_classes: Mapping[str, str] = endpoints._PROVIDER_MODULES
    if endpoint_type in __all__ or endpoint_type in provider_classes:
        found: type[Any] = getattr(endpoints, endpoint_type)
        return found
    return None


_CLASS_KEY, _STATE_KEY = "__llmeter_class__", "__llmeter_state__"  # LLMeter's newer format


def from_llmeter_document(document: Mapping[str, Any]) -> Any:
    """The endpoint an LLMeter endpoint document describes, or None if it is not one.

    Either format LLMeter writes: ``{"endpoint_type": "BedrockConverse", **arguments}``
    (``Endpoint.to_dict``/``save``), or ``{"__llmeter_class__": "llmeter.endpoints.bedrock.
    BedrockConverse", "__llmeter_state__": {...}}``; also ``"llmeter:<class or its path>"``,
    as a run read from an LLMeter folder keeps it (`RunConfig.endpoint_config`). The
    arguments are the class's constructor's, with the ``kwargs`` some classes keep spread
    among them.
    """
    if _CLASS_KEY in document:
        name = str(document[_CLASS_KEY]).rpartition(".")[2]
        state = document.get(_STATE_KEY)
        options = dict(state) if isinstance(state, Mapping) else {}
    else:
        name = str(document.get("endpoint_type", "")).removeprefix("llmeter:").rpartition(".")[2]
        options = {k: v for k, v in document.items() if k != "endpoint_type"}
    cls = llmeter_class(name)
    if cls is None:
        return None
    options.update(options.pop("kwargs", None) or {})
    # A masked value (a credential this project read and masked) is never one to send.
    return cls(**{k: v for k, v in options.items() if v != MASK})


def _options(
    cls: type[Any],
    given: Mapping[str, Any],
    client_headers: Mapping[str, str],
    stream: bool,
) -> dict[str, Any]:
    """This project's options from LLMeter's keyword arguments (the SDK client's included)."""
    own = {field.name for field in cls.option_fields()}
    options: dict[str, Any] = {"stream": stream}
    headers: dict[str, str] = {}
    for name, value in given.items():
        if name == "stream" and value != stream:
            raise ValueError(f"{cls.__name__} always sends stream={stream}")
        if name in ("default_headers", "extra_headers"):
            headers.update(value or {})
        elif name == "default_query":
            options["extra_query"] = dict(value or {})
        elif name in client_headers:
            if value is not None:
                header = client_headers[name]
                headers[header] = f"Bearer {value}" if header == "Authorization" else value
        elif name in own:
            options[name] = value
        elif name in RETRY_OPTIONS:
            ignore_retries(cls.__name__, name, value, stacklevel=4)  # the user's call
        elif name in _NOT_TAKEN:
            raise TypeError(f"{cls.__name__}() does not take {name}=: {_NOT_TAKEN[name]}")
        else:
            raise TypeError(
                f"{cls.__name__}() got an unexpected argument {name!r}; besides LLMeter's "
                f"arguments it takes these options: {', '.join(sorted(own))}"
            )
    if headers:
        options["extra_headers"] = headers
    return options


_OPENAI_CLIENT_HEADERS = {"organization": "OpenAI-Organization", "project": "OpenAI-Project"}
_ANTHROPIC_CLIENT_HEADERS = {"auth_token": "Authorization"}


class _LLMeterArguments:
    """Makes the endpoint from LLMeter's arguments (the subclass's `__init__` takes them
    in LLMeter's order): streamed or not, and named, as the LLMeter class is."""

    __slots__ = ()
    _llmeter_stream: ClassVar[bool]
    _llmeter_endpoint_name: ClassVar[str]  # LLMeter's default endpoint_name
    _client_headers: ClassVar[Mapping[str, str]]  # SDK client arguments sent as headers

    def _build(
        self,
        model_id: str,
        endpoint_name: str | None,
        api_key: str | None,
        provider: str,
        kwargs: Mapping[str, Any],
    ) -> None:
        """Initialise the endpoint (an attrs class made with ``init=False``)."""
        options = _options(type(self), kwargs, self._client_headers, self._llmeter_stream)
        self.__attrs_init__(  # type: ignore[attr-defined]
            model_id=model_id,
            endpoint_name=self._llmeter_endpoint_name if endpoint_name is None else endpoint_name,
            api_key=api_key,
            provider=provider,
            **options,
        )


class _OpenAIArguments(_LLMeterArguments):
    """LLMeter's OpenAI constructor: ``(model_id, endpoint_name, api_key, provider, ...)``."""

    __slots__ = ()
    _client_headers = _OPENAI_CLIENT_HEADERS

    def __init__(
        self,
        model_id: str,
        endpoint_name: str | None = None,
        api_key: str | None = None,
        provider: str = "openai",
        ttft_visible_tokens_only: bool = True,
        **kwargs: Any,
    ) -> None:
        self._build(model_id, endpoint_name, api_key, provider, kwargs)


class _AnthropicArguments(_LLMeterArguments):
    """LLMeter's Anthropic constructor: ``(model_id, endpoint_name, provider, api_key,
    aws_region, ...)``; only Anthropic's own API (or a server speaking it, by ``base_url``)
    is reached here."""

    __slots__ = ()
    _client_headers = _ANTHROPIC_CLIENT_HEADERS

    def __init__(
        self,
        model_id: str,
        endpoint_name: str | None = None,
        provider: str = "anthropic",
        api_key: str | None = None,
        aws_region: str | None = None,
        ttft_visible_tokens_only: bool = True,
        **kwargs: Any,
    ) -> None:
        if provider != "anthropic" or aws_region is not None:
            raise ValueError(
                f"{type(self).__name__}: llmeter-trio reaches Anthropic's own API "
                "(provider='anthropic', or any server speaking it, by base_url=); for Claude "
                "on Amazon Bedrock use the AWS plugin's Bedrock endpoints "
                "(pip install llmeter-trio-aws)"
            )
        self._build(model_id, endpoint_name, api_key, provider, kwargs)


class _ChatItemsPayload:
    """LLMeter's Chat Completions `create_payload`: a text, or ordered text and media."""

    __slots__ = ()

    @classmethod
    def create_payload(
        cls,
        user_message: str | Sequence[str | MediaContent],
        max_tokens: int | None = 256,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One user message: `user_message` as its text, or a list of strings and
        `~llmeter_trio.prompt_utils.MediaContent` blocks as its parts, in order (a list
        of one string is that text). Other arguments as `OpenAIChatEndpoint.create_payload`.
        """
        make = super().create_payload  # type: ignore[misc]
        if isinstance(user_message, str):
            payload: dict[str, Any] = make(user_message, max_tokens, **kwargs)
            return payload
        if not isinstance(user_message, Sequence):
            raise TypeError(
                "user_message must be a str or a list of str and MediaContent, "
                f"not {type(user_message).__name__}"
            )
        items = list(user_message)
        if not items:
            raise ValueError("user_message must not be empty")
        if len(items) == 1 and isinstance(items[0], str):
            payload = make(items[0], max_tokens, **kwargs)
            return payload
        parts = chat_content_parts(items)
        payload = make("", max_tokens, **kwargs)
        message = payload["messages"][-1]
        attached = message["content"][1:] if isinstance(message["content"], list) else []
        message["content"] = parts + attached  # any images= etc. after LLMeter's items
        return payload


class _ResponsesMessagesPayload:
    """LLMeter's Responses `create_payload`: ``(user_message, max_output_tokens,
    instructions)``, the message a text or a list of messages."""

    __slots__ = ()

    @classmethod
    def create_payload(
        cls,
        user_message: str | Sequence[str],
        max_output_tokens: int | None = 256,
        instructions: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """`user_message` as ``input``; a list of texts is one user message each.

        ``max_tokens=`` (this project's name) is taken for `max_output_tokens`;
        other arguments as `OpenAIResponsesEndpoint.create_payload`.
        """
        max_output_tokens = kwargs.pop("max_tokens", max_output_tokens)
        make = super().create_payload  # type: ignore[misc]
        if isinstance(user_message, str):
            text = user_message
        elif isinstance(user_message, Sequence):
            text = ""
        else:
            raise TypeError(
                f"user_message must be a str or a list of str, not {type(user_message).__name__}"
            )
        payload: dict[str, Any] = make(text, max_output_tokens, instructions=instructions, **kwargs)
        if not isinstance(user_message, str):
            if isinstance(payload["input"], list):  # attachments given: keep them last
                payload["input"] = [{"role": "user", "content": m} for m in user_message] + payload[
                    "input"
                ]
            else:
                payload["input"] = [{"role": "user", "content": m} for m in user_message]
        return payload


@attrs.define(kw_only=True, init=False)
class OpenAICompletionEndpoint(_ChatItemsPayload, _OpenAIArguments, OpenAIChatEndpoint):
    """LLMeter's OpenAI Chat Completions endpoint, not streamed: `OpenAIChatEndpoint`."""

    _llmeter_stream = False
    _llmeter_endpoint_name = "openai"


@attrs.define(kw_only=True, init=False)
class OpenAICompletionStreamEndpoint(_ChatItemsPayload, _OpenAIArguments, OpenAIChatEndpoint):
    """LLMeter's OpenAI Chat Completions endpoint, streamed: `OpenAIChatEndpoint`."""

    _llmeter_stream = True
    _llmeter_endpoint_name = "openai"


# LLMeter's create_payload takes `instructions` positionally, where this project's is keyword-only
@attrs.define(kw_only=True, init=False)
class OpenAIResponseEndpoint(  # type: ignore[misc]
    _ResponsesMessagesPayload, _OpenAIArguments, OpenAIResponsesEndpoint
):
    """LLMeter's OpenAI Responses API endpoint, not streamed: `OpenAIResponsesEndpoint`."""

    _llmeter_stream = False
    _llmeter_endpoint_name = "openai-response"


@attrs.define(kw_only=True, init=False)
class OpenAIResponseStreamEndpoint(  # type: ignore[misc]
    _ResponsesMessagesPayload, _OpenAIArguments, OpenAIResponsesEndpoint
):
    """LLMeter's OpenAI Responses API endpoint, streamed: `OpenAIResponsesEndpoint`."""

    _llmeter_stream = True
    _llmeter_endpoint_name = "openai-response-stream"


@attrs.define(kw_only=True, init=False)
class AnthropicMessages(_AnthropicArguments, AnthropicMessagesEndpoint):
    """LLMeter's Anthropic Messages endpoint, not streamed: `AnthropicMessagesEndpoint`."""

    _llmeter_stream = False
    _llmeter_endpoint_name = "anthropic-messages"


@attrs.define(kw_only=True, init=False)
class AnthropicMessagesStream(_AnthropicArguments, AnthropicMessagesEndpoint):
    """LLMeter's Anthropic Messages endpoint, streamed: `AnthropicMessagesEndpoint`."""

    _llmeter_stream = True
    _llmeter_endpoint_name = "anthropic-messages"
