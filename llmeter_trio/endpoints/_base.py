"""The Endpoint contract every adapter, built-in or third-party, fulfils.

An endpoint is an attrs class: its fields are its configuration, which is what
gets saved with a run and what `Endpoint.from_config` rebuilds it from. Fields
made with `secret_field()` (API keys, auth headers) are never part of that
configuration and never appear in a repr, so they cannot reach disk or logs.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar, TypeVar

import attrs

from ._response import InvocationResponse

__all__ = ["Endpoint", "headers_field", "scrub_secrets", "secret_field"]

_SECRET = "llmeter_trio_secret"
_SECRET_KEY_PARTS = (
    "authorization", "api_key", "api-key", "apikey", "secret", "password", "passwd", "cookie",
    "credential", "bearer", "access_token", "access-token", "auth_token", "auth-token",
    "session_token", "session-token", "refresh_token",
)  # fmt: skip

E = TypeVar("E", bound="Endpoint")


def secret_field(default: Any = None) -> Any:
    """An attrs field for a credential: kept out of the saved configuration and the repr."""
    return attrs.field(default=default, repr=False, metadata={_SECRET: True})


def headers_field() -> Any:
    """An attrs field for extra HTTP headers: credentials in it never show in a repr.

    (They are also scrubbed from the saved configuration, like every entry
    whose key names a credential.)
    """
    return attrs.field(factory=dict, repr=lambda value: repr(scrub_secrets(value)))


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    if lowered.endswith("_env"):  # names an environment variable, e.g. api_key_env
        return False
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def scrub_secrets(value: Any) -> Any:
    """A copy of `value` with every entry whose key names a credential removed.

    The last line of defence before anything is written: applied to whole
    configuration documents, so a header dict such as
    ``{"Authorization": "Bearer ..."}`` loses its credential wherever it sits.
    """
    if isinstance(value, Mapping):
        return {k: scrub_secrets(v) for k, v in value.items() if not _is_secret_key(str(k))}
    if isinstance(value, list | tuple):
        return [scrub_secrets(v) for v in value]
    return value


@attrs.define(kw_only=True)
class Endpoint(abc.ABC):
    """Sends one request to an LLM and reports what happened.

    Subclasses are attrs classes (decorate them with ``@attrs.define``) and
    implement `invoke`. `prepare_payload` and `open_session` are optional:

    - `prepare_payload` turns a user payload into what `invoke` sends; the
      runner calls it before starting the timer, so encoding work is never
      counted as latency.
    - `open_session` is where an adapter opens what it shares across the run,
      such as one `httpx.AsyncClient` sized to the run's concurrency. The run
      enters it inside its own nursery scope, so it is always closed.
    """

    endpoint_type: ClassVar[str] = ""  # the name it is registered under
    endpoint_name: str = ""
    model_id: str = ""
    provider: str = ""

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as it will be sent (runs outside the timed region)."""
        return payload

    @asynccontextmanager
    async def open_session(self, concurrency: int) -> AsyncIterator[None]:
        """Hold run-wide resources (connections, clients) for `concurrency` clients."""
        yield

    @abc.abstractmethod
    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        """Send one request and return its record, success or failure.

        Take timestamps with `StreamRecorder` where bytes move. Raising is fine
        too: the runner turns any exception into a classified error record.
        """

    @classmethod
    def create_payload(
        cls, user_message: str, max_tokens: int = 256, **kwargs: Any
    ) -> dict[str, Any]:
        """A payload asking this endpoint for a reply to `user_message`."""
        return {"prompt": user_message, "max_tokens": max_tokens, **kwargs}

    @classmethod
    def option_fields(cls) -> list[attrs.Attribute[Any]]:
        """The fields a user sets: public init fields, secrets included."""
        return [f for f in attrs.fields(cls) if f.init and not f.name.startswith("_")]

    @staticmethod
    def is_secret(field: attrs.Attribute[Any]) -> bool:
        """Whether a field holds a credential (made with `secret_field`)."""
        return bool(field.metadata.get(_SECRET))

    def to_config(self) -> dict[str, Any]:
        """The configuration to save: every option except secrets."""
        config: dict[str, Any] = {"endpoint_type": self.endpoint_type}
        for field in self.option_fields():
            if not self.is_secret(field):
                config[field.name] = getattr(self, field.name)
        return scrub_secrets(config)  # type: ignore[no-any-return]

    @classmethod
    def from_config(cls: type[E], config: Mapping[str, Any]) -> E:
        """Rebuild an endpoint of this class from `to_config()` output.

        Secrets are not in the configuration: they come back from the
        environment or defaults, as when the endpoint was first created.
        """
        names = {f.name for f in attrs.fields(cls) if f.init}
        unknown = set(config) - names - {"endpoint_type"}
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no option(s) {sorted(unknown)}; "
                f"its options are {sorted(names)}"
            )
        return cls(**{k: v for k, v in config.items() if k in names})
