"""The Endpoint contract every adapter, built-in or third-party, fulfils.

An endpoint is an attrs class: its fields are its configuration, which is what
gets saved with a run and what `Endpoint.from_config` rebuilds it from.
Credentials never reach that configuration, a repr or a saved error, through
one mechanism that every adapter shares by declaring its fields with:

- `secret_field()`: a credential (an API key). Never saved, never shown.
- `headers_field()`: extra HTTP headers. Names are kept; only the values of a
  short allow-list of headers known to carry no credential (``Content-Type``,
  ``Accept``, ``User-Agent``, ...) are saved and shown, every other value is
  masked as ``***``. Names and values are checked when the endpoint is made.
- `url_field()`: a URL. Credentials in it (``https://user:key@host``,
  ``?api_key=...``, ``?sig=...``) are masked.
- `query_field()`: extra query parameters. Values of parameters named like
  credentials are masked.

`Endpoint.secret_values` lists every credential an endpoint holds, and
`scrubber` makes the function the engine runs over each failed request's error
text, so a server that echoes a key back cannot put it on disk either.
"""

from __future__ import annotations

import abc
import base64
import inspect
import json
import os
import posixpath
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar, TypeVar

import attrs

from ._invoke_anywhere import callable_anywhere
from ._response import InvocationResponse

__all__ = [
    "MASK",
    "Endpoint",
    "check_header_value",
    "headers_field",
    "is_credential_name",
    "mask_headers",
    "mask_query",
    "mask_url",
    "query_field",
    "scrub_secrets",
    "scrubber",
    "secret_field",
    "url_field",
]

MASK = "***"  # what a credential is saved and shown as
MIN_SCRUBBED_CHARS = 4  # shorter values cannot be told apart from ordinary text

_KIND = "llmeter_trio_kind"  # field metadata: "secret", "headers", "url" or "query"
_SECRET_KEY_PARTS = (
    "authorization", "api_key", "api-key", "apikey", "secret", "password", "passwd", "cookie",
    "credential", "bearer", "access_token", "access-token", "auth_token", "auth-token",
    "session_token", "session-token", "refresh_token",
)  # fmt: skip
# Headers whose values are saved and shown: none of them carries a credential.
PUBLIC_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "cache-control", "connection",
     "content-type", "user-agent", "openai-beta", "anthropic-version", "anthropic-beta"}
)  # fmt: skip
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")  # an HTTP header name (RFC 9110 token)
_HEADER_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")

E = TypeVar("E", bound="Endpoint")


# -- fields ---------------------------------------------------------------------


def secret_field(default: Any = None) -> Any:
    """An attrs field for a credential: kept out of the saved configuration and the repr."""
    return attrs.field(default=default, repr=False, metadata={_KIND: "secret"})


def _check_headers(instance: Any, attribute: attrs.Attribute[Any], headers: Any) -> None:
    if not isinstance(headers, Mapping):
        raise TypeError(f"{attribute.name} must be a mapping of header names to values")
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(
                f"{attribute.name}: a header name is not a valid HTTP name (letters, digits "
                "and !#$%&'*+-.^_`|~ only; the name is not shown, it may hold a credential)"
            )
        check_header_value(f"{attribute.name}[{name!r}]", value)


def headers_field() -> Any:
    """An attrs field for extra HTTP headers, checked when set.

    Saved and shown with their names, but with the value masked unless the
    header is one known to carry no credential (`PUBLIC_HEADERS`).
    """
    return attrs.field(
        factory=dict,
        validator=_check_headers,
        repr=lambda value: repr(mask_headers(value)),
        metadata={_KIND: "headers"},
    )


def url_field(*, default: Any = attrs.NOTHING, factory: Any = None, validator: Any = None) -> Any:
    """An attrs field for a URL: saved and shown with any credentials in it masked.

    A `validator` that rejects a URL should show it through `mask_url`.
    """
    return attrs.field(
        default=default,
        factory=factory,
        validator=validator,
        repr=lambda value: repr(mask_url(value)),
        metadata={_KIND: "url"},
    )


def query_field() -> Any:
    """An attrs field for extra query parameters: credential-named values are masked."""
    return attrs.field(
        factory=dict, repr=lambda value: repr(mask_query(value)), metadata={_KIND: "query"}
    )


# -- masking --------------------------------------------------------------------


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    if lowered.endswith("_env"):  # names an environment variable, e.g. api_key_env
        return False
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def is_credential_name(name: str) -> bool:
    """Whether a header or query parameter named `name` may carry a credential.

    Broader than the names `scrub_secrets` knows, e.g. ``Ocp-Apim-Subscription-Key``,
    ``X-Amz-Security-Token``, ``key`` or an Azure SAS ``sig``: masking a
    harmless one (``Idempotency-Key``) costs little, saving a credential a lot.
    """
    lowered = name.lower()
    return (
        _is_secret_key(lowered)
        or lowered.endswith("key")
        or "token" in lowered
        or lowered == "sig"
        or lowered.endswith("signature")
    )


def mask_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """`headers` with every value masked but those of `PUBLIC_HEADERS`."""
    return {
        name: value if str(name).lower() in PUBLIC_HEADERS else MASK
        for name, value in headers.items()
    }


def mask_query(entries: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters with the values of those named like credentials masked."""
    return {k: MASK if is_credential_name(str(k)) else v for k, v in entries.items()}


def _mask_query_string(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        name, sep, _ = pair.partition("=")
        if sep and is_credential_name(urllib.parse.unquote_plus(name)):
            pair = f"{name}={MASK}"
        pairs.append(pair)
    return "&".join(pairs)


def mask_url(url: Any) -> Any:
    """`url` with its user info and credential-named query values masked.

    ``https://user:key@host/v1?api-version=1&api_key=k`` becomes
    ``https://***:***@host/v1?api-version=1&api_key=***``.
    """
    if not isinstance(url, str):
        return url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # not a URL we can read: show nothing that might be a credential
        return url if "@" not in url and "=" not in url else MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{MASK}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    masked = parts._replace(
        netloc=netloc,
        query=_mask_query_string(parts.query),
        fragment=_mask_query_string(parts.fragment),
    )
    return url if masked == parts else urllib.parse.urlunsplit(masked)


def _unmask_url(url: str) -> str:
    """A saved URL without its masked parts (they are not values to send)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc and MASK in netloc.rpartition("@")[0]:
        netloc = netloc.rpartition("@")[2]
    query = "&".join(p for p in parts.query.split("&") if not p.endswith(f"={MASK}"))
    fragment = "&".join(p for p in parts.fragment.split("&") if not p.endswith(f"={MASK}"))
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def _without_masks(value: Any) -> Any:
    """A saved value without its masked entries (a mask is never a value to send)."""
    if isinstance(value, Mapping):
        return {k: _without_masks(v) for k, v in value.items() if v != MASK}
    return value


def scrub_secrets(value: Any) -> Any:
    """A copy of `value` with the value of every entry whose key names a credential masked.

    The last line of defence before anything is written: applied to whole
    configuration documents, so a header dict such as
    ``{"Authorization": "Bearer ..."}`` keeps its name but not its credential,
    wherever it sits.
    """
    if isinstance(value, Mapping):
        return {
            k: MASK if _is_secret_key(str(k)) and v is not None else scrub_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_secrets(v) for v in value]
    return value


def check_header_value(option: str, value: Any) -> None:
    """Refuse a header value HTTP cannot carry, naming `option` but never showing the value.

    A key read from a file often ends with a newline; sent as is, the HTTP
    library's error would quote the whole header, key included.
    """
    if not isinstance(value, str):
        raise TypeError(f"{option} must be text, not {type(value).__name__}")
    if _HEADER_VALUE.fullmatch(value):
        return
    if "\n" in value or "\r" in value:
        problem = "a line break (a stray newline from a file or an environment variable?)"
    elif value != value.strip():
        problem = "leading or trailing whitespace"
    else:
        problem = "a character outside printable ASCII"
    raise ValueError(
        f"{option} holds {problem}, which an HTTP header cannot carry (the value is not shown)"
    )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _credential_strings(value: Any) -> Iterable[str]:
    """The strings under keys that name a credential, anywhere in `value`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _is_secret_key(str(key)):
                yield from _strings(item)
            else:
                yield from _credential_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _credential_strings(item)


def _url_credentials(url: Any) -> Iterable[str]:
    if not isinstance(url, str):
        return
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        yield url
        return
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        for piece in (userinfo, *userinfo.split(":", 1)):
            yield piece
            yield urllib.parse.unquote(piece)
        user, _, password = (urllib.parse.unquote(p) for p in userinfo.partition(":"))
        yield base64.b64encode(f"{user}:{password}".encode()).decode()  # as Basic auth sends it
    for text in (parts.query, parts.fragment):
        for pair in text.split("&"):
            name, sep, value = pair.partition("=")
            if sep and is_credential_name(urllib.parse.unquote_plus(name)):
                yield value
                yield urllib.parse.unquote_plus(value)


def scrubber(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function that masks every occurrence of `secrets` in a text.

    Made once per run from `Endpoint.secret_values`; values shorter than
    `MIN_SCRUBBED_CHARS` are left alone (they would mask ordinary words). Each
    value is also looked for as it appears inside JSON (escaped), as a server
    echoing headers in a JSON error body would show it.
    """
    forms = set()
    for secret in secrets:
        if len(secret) >= MIN_SCRUBBED_CHARS:
            forms.add(secret)
            forms.add(json.dumps(secret)[1:-1])
    if not forms:
        return _unchanged
    pattern = re.compile("|".join(re.escape(s) for s in sorted(forms, key=len, reverse=True)))
    return lambda text: pattern.sub(MASK, text)


def _unchanged(text: str) -> str:
    return text


# -- the contract ---------------------------------------------------------------


@attrs.define(kw_only=True)
class Endpoint(abc.ABC):
    """Sends one request to an LLM and reports what happened.

    Subclasses are attrs classes (decorate them with ``@attrs.define``) and
    implement `invoke`. `prepare_payload`, `open_session` and `preconnect` are
    optional:

    - `prepare_payload` turns a user payload into what `invoke` sends; the
      runner calls it before starting the timer, so encoding work is never
      counted as latency.
    - `open_session` is where an adapter opens what it shares across the run,
      such as one `httpx.AsyncClient` sized to the run's concurrency. The run
      enters it inside its own nursery scope, so it is always closed.
    - `preconnect` opens connections inside the session before the run's
      clock starts, so the first requests are not charged for them.

    Declare credentials with `secret_field`, headers with `headers_field`,
    URLs with `url_field` and query parameters with `query_field`: they are
    then masked in the saved configuration and the repr, and scrubbed from
    error texts, with nothing more to write.
    """

    endpoint_type: ClassVar[str] = ""  # the name it is registered under
    _coroutine_invoke: ClassVar[Callable[..., Awaitable[InvocationResponse]]]  # as written
    # The options that `llmeter-trio run --model` and `--base-url` set: the model (a
    # SageMaker endpoint names its endpoint instead) and where requests go.
    model_option: ClassVar[str] = "model_id"
    base_url_option: ClassVar[str] = "base_url"
    endpoint_name: str = ""
    model_id: str = ""
    provider: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Make each adapter's `invoke` callable outside a run too (`callable_anywhere`)."""
        super().__init_subclass__(**kwargs)
        invoke = cls.__dict__.get("invoke")
        # (a synchronous `invoke`, as LLMeter's endpoints have, is left as it is)
        if inspect.iscoroutinefunction(invoke) and not getattr(invoke, "__isabstractmethod__", 0):
            cls.invoke = callable_anywhere(invoke)  # type: ignore[method-assign]
            # Kept in the class too, where attrs finds it when it makes a slotted class and
            # points its `super()` at that class.
            cls._coroutine_invoke = invoke

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as it will be sent (runs outside the timed region)."""
        return payload

    @asynccontextmanager
    async def open_session(self, concurrency: int) -> AsyncIterator[None]:
        """Hold run-wide resources (connections, clients) for `concurrency` clients."""
        yield

    async def preconnect(self, connections: int) -> None:
        """Open up to `connections` connections now, inside `open_session` (default: none).

        Called before the run's clock starts, unless the run asks for cold
        starts. Failing to connect is not an error here: the requests then
        fail as they would have, and are recorded with their class.
        """
        return None  # (an optional hook: nothing to open by default)

    @abc.abstractmethod
    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        """Send one request and return its record, success or failure.

        Take timestamps with `StreamRecorder` where bytes move. Raising is fine
        too: the runner turns any exception into a classified error record.

        Written as a trio coroutine, it is also callable outside a run, as
        LLMeter's: ``endpoint.invoke(payload)`` blocks and returns the record
        where no event loop runs, and is awaited under asyncio (a notebook).
        """

    @classmethod
    def create_payload(
        cls, user_message: str, max_tokens: int = 256, **kwargs: Any
    ) -> dict[str, Any]:
        """A payload asking this endpoint for a reply to `user_message`."""
        return {"prompt": user_message, "max_tokens": max_tokens, **kwargs}

    @classmethod
    def continue_conversation(
        cls, payload: dict[str, Any], answer: str, user_message: str
    ) -> dict[str, Any]:
        """The payload of a conversation's next turn: `payload` (the turn just sent) with the
        model's `answer` and then `user_message` appended, in this endpoint's format.

        Multi-turn sessions (`llmeter_trio.workloads.Sessions`) call it between turns; an
        endpoint whose API holds conversations implements it (`holds_conversations`).
        """
        name = cls.endpoint_type or cls.__name__
        raise TypeError(
            f"{name} cannot hold a conversation: it has no continue_conversation, so it "
            "cannot run multi-turn sessions"
        )

    @classmethod
    def holds_conversations(cls) -> bool:
        """Whether this endpoint implements `continue_conversation` (multi-turn sessions)."""
        return cls.continue_conversation.__func__ is not Endpoint.continue_conversation.__func__  # type: ignore[attr-defined]

    @classmethod
    def option_fields(cls) -> list[attrs.Attribute[Any]]:
        """The fields a user sets: public init fields, secrets included."""
        return [f for f in attrs.fields(cls) if f.init and not f.name.startswith("_")]

    @staticmethod
    def is_secret(field: attrs.Attribute[Any]) -> bool:
        """Whether a field holds a credential (made with `secret_field`)."""
        return field.metadata.get(_KIND) == "secret"

    def to_config(self) -> dict[str, Any]:
        """The configuration to save: every option but secrets, credentials masked."""
        config: dict[str, Any] = {"endpoint_type": self.endpoint_type}
        for field in self.option_fields():
            kind = field.metadata.get(_KIND)
            if kind == "secret":
                continue
            value = getattr(self, field.name)
            if kind == "headers":
                value = mask_headers(value)
            elif kind == "url":
                value = mask_url(value)
            elif kind == "query":
                value = mask_query(value)
            config[field.name] = value
        return scrub_secrets(config)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """LLMeter's name for `to_config`: every option but secrets, with ``endpoint_type``."""
        return self.to_config()

    def save(self, output_path: str | os.PathLike[str]) -> str | os.PathLike[str]:
        """Write `to_dict` as a JSON file (any fsspec URL), never a secret; return the path.

        `Endpoint.load` reads it back (secrets then come from the environment).
        """
        from ..storage import dumps, open_atomic, resolve  # storage imports the endpoints

        fs, path = resolve(os.fspath(output_path))
        parent = posixpath.dirname(path)
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with open_atomic(fs, path) as f:
            f.write(dumps(self.to_dict(), indent=True))
        return output_path

    @classmethod
    def load(cls, endpoint_config: Mapping[str, Any] | str | os.PathLike[str]) -> Endpoint:
        """An endpoint from `to_dict` output or a file `save` wrote, found through the plugins.

        The class is the one registered under the configuration's
        ``endpoint_type``; called on a class, a configuration without one is
        taken as that class's. The configuration given is not changed.

        LLMeter's endpoint documents work too (its class name, as
        ``"BedrockConverseStream"``, in ``endpoint_type`` or a ``__llmeter_class__``
        path): made here by the class of that name with the arguments LLMeter saved.
        """
        from ..plugins import endpoint_from_config
        from ._llmeter_names import from_llmeter_document

        if isinstance(endpoint_config, Mapping):
            config = dict(endpoint_config)
        else:
            from ..storage import loads, resolve

            fs, path = resolve(os.fspath(endpoint_config))
            with fs.open(path, "rb") as f:
                document = loads(f.read())
            if not isinstance(document, dict):
                raise ValueError(f"{endpoint_config}: expected a JSON object (an endpoint)")
            config = document
        if (
            "endpoint_type" not in config
            and "__llmeter_class__" not in config
            and cls.endpoint_type
        ):
            return cls.from_config(config)
        loaded: Endpoint | None = from_llmeter_document(config)
        if loaded is not None:
            return loaded
        return endpoint_from_config(config)

    @classmethod
    def load_from_file(cls, input_path: str | os.PathLike[str]) -> Endpoint:
        """LLMeter's name for `load` of a file."""
        return cls.load(input_path)

    def secret_values(self) -> frozenset[str]:
        """Every credential this endpoint holds: what must never appear in a saved text.

        Secret fields, masked header values, credentials in URLs and
        credential-named query values, and any string under a key naming a
        credential. Adapters holding credentials elsewhere extend it.
        """
        found: set[str] = set()
        plain: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            kind = field.metadata.get(_KIND)
            value = getattr(self, field.name)
            if kind == "secret":
                found.update(_strings(value))
            elif kind == "headers":
                found.update(
                    str(v) for k, v in value.items() if str(k).lower() not in PUBLIC_HEADERS
                )
            elif kind == "url":
                found.update(_url_credentials(value))
            elif kind == "query":
                found.update(str(v) for k, v in value.items() if is_credential_name(str(k)))
            elif field.init and not field.name.startswith("_"):
                plain[field.name] = value
        found.update(_credential_strings(plain))
        found.discard("")
        return frozenset(found)

    @classmethod
    def from_config(cls: type[E], config: Mapping[str, Any]) -> E:
        """Rebuild an endpoint of this class from `to_config()` output.

        Secrets are not in the configuration: they come back from the
        environment or defaults, as when the endpoint was first created.
        Masked values (``***``) are left out, so masked headers and query
        parameters are not sent again: give them again if they are needed.
        """
        fields = {f.name: f for f in cls.option_fields()}
        unknown = set(config) - set(fields) - {"endpoint_type"}
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no option(s) {sorted(unknown)}; "
                f"its options are {sorted(fields)}"
            )
        options: dict[str, Any] = {}
        for name, value in config.items():
            field = fields.get(name)
            if field is None or value == MASK:
                continue
            if field.metadata.get(_KIND) == "url" and isinstance(value, str) and MASK in value:
                value = _unmask_url(value)
            options[field.alias or name] = _without_masks(value)
        return cls(**options)
