"""`AwsEndpoint`: what the Bedrock and SageMaker endpoints share on top of `HttpEndpoint`.

Where requests go (the service's public regional endpoint, or `endpoint_url`),
who signs them (an `AwsSigner`, made once, before the run), and what an error
answer means (`http_error_response`). Requests go over httpx on trio through
the run's one session (llmeter-trio's lean transport by default), each signed
right before it is handed to the transport, outside the time measured.

Credentials come from botocore's standard chain (environment variables, the
shared config and credentials files and the `profile` named, SSO, the
container or instance role, ...), or from the `aws_access_key_id`,
`aws_secret_access_key` and `aws_session_token` options. None of them is ever
saved with a run, shown in a repr or left in an error message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import attrs
import httpx
from botocore.credentials import Credentials  # type: ignore[import-untyped]

from llmeter_trio.endpoints import HttpEndpoint, InvocationResponse, secret_field, url_field
from llmeter_trio.endpoints._base_url import check_base_url

from ._errors import http_error_response
from ._signing import AwsSigner, CredentialsError, resolve_region

__all__ = ["AwsEndpoint", "required_text"]

_STREAM_HEADERS = {"Content-Type": "application/json"}
_WHOLE_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def required_text(what: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """A validator of an option that must be given, as a non-blank string: `what` it is."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{attribute.name} is required: {what}")

    return check


def _check_endpoint_url(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_base_url(value, attribute.name)


def _check_region(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"region must be a region name such as us-east-1, not {value!r}")


@attrs.define(kw_only=True)
class AwsEndpoint(HttpEndpoint):
    """An AWS runtime API over HTTP, signed with SigV4 (base of the Bedrock and SageMaker ones).

    - `region`: the AWS region (``us-east-1``); when not given, the one
      botocore finds (``AWS_DEFAULT_REGION``, the profile's), else
      ``AWS_REGION``. The region found is the one saved with the run.
    - `profile`: a profile of the shared AWS config and credentials files
      (else ``AWS_PROFILE``, else the default one).
    - `endpoint_url`: where to send the requests instead of the service's
      public regional endpoint (a VPC endpoint, a proxy, the simulated server).
    - `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`:
      credentials to use instead of the standard chain (never saved nor shown).

    The options of `HttpEndpoint` (`http_transport`, `verify`,
    `max_response_chars`, `extra_headers`, ...) apply too.
    """

    region: str | None = attrs.field(default=None, validator=_check_region)
    profile: str | None = None
    endpoint_url: str | None = url_field(default=None, validator=_check_endpoint_url)
    aws_access_key_id: str | None = secret_field()
    aws_secret_access_key: str | None = secret_field()
    aws_session_token: str | None = secret_field()
    # Where the requests go: `endpoint_url`, or the regional endpoint (not an option).
    base_url: str = attrs.field(default="", init=False, repr=False)
    # botocore credentials you hold (a boto3 session's or client's), instead of the chain.
    _credentials: Any = attrs.field(default=None, repr=False, eq=False, alias="credentials")
    _signer: AwsSigner | None = attrs.field(default=None, init=False, repr=False, eq=False)

    service: ClassVar[str] = ""  # the signing name: "bedrock", "sagemaker"
    base_url_option = "endpoint_url"  # what `llmeter-trio run --base-url` sets

    def __attrs_post_init__(self) -> None:
        self.region = resolve_region(self.region, self.profile)
        self.base_url = self.endpoint_url or self.regional_url(self.region)
        keys = (self.aws_access_key_id, self.aws_secret_access_key)
        if any(keys) and not all(keys):
            raise CredentialsError(
                "give both aws_access_key_id and aws_secret_access_key, or neither "
                "(then credentials come from the environment or the AWS profile)"
            )
        super().__attrs_post_init__()

    @staticmethod
    def regional_url(region: str) -> str:
        """The service's public endpoint in `region` (each service says)."""
        raise NotImplementedError

    # -- credentials ----------------------------------------------------------------

    def signer(self) -> AwsSigner:
        """The run's signer, made (and the credentials resolved) the first time it is asked for."""
        if self._signer is None:
            credentials = self._credentials
            if self.aws_access_key_id and self.aws_secret_access_key:
                credentials = Credentials(
                    self.aws_access_key_id, self.aws_secret_access_key, self.aws_session_token
                )
            self._signer = AwsSigner.create(
                self.service, region=self.region, profile=self.profile, credentials=credentials
            )
        return self._signer

    def secret_values(self) -> frozenset[str]:
        """The credentials' secret key and session token too (the engine scrubs them from
        every error text), along with every credential option."""
        frozen = self.signer().credentials_snapshot()
        found = {frozen.secret_key, frozen.token} - {None, ""}
        return HttpEndpoint.secret_values(self) | found

    @asynccontextmanager
    async def open_session(self, concurrency: int) -> AsyncIterator[None]:
        """The run's HTTP client; the credentials are resolved first, before the clock starts."""
        self.signer()
        async with HttpEndpoint.open_session(self, concurrency):
            yield

    # -- the request ----------------------------------------------------------------

    def request_headers(self, streaming: bool) -> Mapping[str, str]:
        return _STREAM_HEADERS if streaming else _WHOLE_HEADERS

    def sign(self, request: httpx.Request) -> None:
        """SigV4 (``Authorization``, ``X-Amz-Date``, the session token), right before sending."""
        (self._signer or self.signer()).sign(request)

    @staticmethod
    def answer_id(headers: httpx.Headers) -> str | None:
        """The request id AWS gives every answer (``x-amzn-RequestId``), LLMeter's record id."""
        return headers.get("x-amzn-requestid") or None

    def error_answer(
        self, status: int, headers: httpx.Headers, body: bytes, reason: str = ""
    ) -> InvocationResponse:
        """The AWS error named in the answer, classified by its name (see `http_error_response`)."""
        return http_error_response(status, headers, body)
