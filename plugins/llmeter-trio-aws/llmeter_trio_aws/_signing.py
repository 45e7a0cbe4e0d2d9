"""SigV4 signatures for httpx requests, by botocore's signer and credential chain.

AWS refuses unsigned requests. A SigV4 signature covers the method, the
path, the signed headers, a hash of the body and the time (``X-Amz-Date``),
and is valid for five minutes, so it cannot be made when payloads are
prepared before a run: `AwsSigner.sign` is called on each request right
before it is sent, outside the time measured (it costs tens of microseconds,
see the README). What is slow happens once, when the signer is made:
botocore resolves the credentials through its standard chain (explicit
values, environment variables, the shared profile, SSO, the container or
instance role, ...) and the region.

Refreshable credentials (roles, SSO) are read per request as a frozen
snapshot, which is how botocore itself keeps them current. The signer never
shows credentials: not in its repr, not in its errors.

The signed headers are those boto3 signs: ``host``, ``content-type``,
``accept`` and every ``x-amz-*`` header (hop-by-hop headers such as
``Connection``, which a proxy may change, stay out of the signature).
"""

from __future__ import annotations

import datetime
import os
from hashlib import sha256
from typing import Any

import httpx
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped]
from botocore.session import Session  # type: ignore[import-untyped]

__all__ = ["AwsSigner", "CredentialsError", "resolve_region"]

_SIGNED = frozenset({"host", "content-type", "accept"})
_ADDED = frozenset({"x-amz-date", "x-amz-security-token"})  # replaced when signing again


class CredentialsError(ValueError):
    """No usable AWS credentials or region: what was missing and how to give it."""


def _signed_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SIGNED or (lowered.startswith("x-amz") and lowered not in _ADDED)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class _SigV4(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4 signer, hashing the body it is given as bytes.

    (botocore's own `payload` reads the body through `AWSRequest.body`, which
    rebuilds the request's headers each time: half the cost of a signature.)
    """

    def payload(self, request: Any) -> str:
        body: bytes = request.context["llmeter_body"]
        return sha256(body).hexdigest()


class AwsSigner:
    """Signs requests to one AWS service (``bedrock``, ``sagemaker``) in one region.

    Make it once per run, with `AwsSigner.create` (the standard credential
    chain, or a named `profile`) or with botocore `credentials` you hold.
    """

    __slots__ = ("_credentials", "profile", "region", "service")

    def __init__(
        self, service: str, region: str, credentials: Any, *, profile: str | None = None
    ) -> None:
        if credentials is None:
            raise CredentialsError(_no_credentials(profile))
        self.service = service
        self.region = region
        self.profile = profile
        self._credentials = credentials

    @classmethod
    def create(
        cls,
        service: str,
        *,
        region: str | None = None,
        profile: str | None = None,
        credentials: Any = None,
    ) -> AwsSigner:
        """A signer with credentials and region from botocore's standard chain.

        `credentials` (botocore ``Credentials``) skip the chain; `profile` names
        a shared-config profile (else ``AWS_PROFILE`` or the default one);
        `region` defaults to what botocore finds (``AWS_DEFAULT_REGION``, the
        profile's), else ``AWS_REGION``. Raises `CredentialsError` when either
        is missing.
        """
        try:
            session = Session(profile=profile)
            region = region or _session_region(session)
            if credentials is None:
                credentials = session.get_credentials()
        except BotoCoreError as exc:  # e.g. ProfileNotFound, a broken config file
            raise CredentialsError(f"cannot read the AWS configuration: {exc}") from None
        if not region:
            raise CredentialsError(_NO_REGION)
        return cls(service, region, credentials, profile=profile)

    def credentials_snapshot(self) -> Any:
        """The credentials as they are now (botocore ``ReadOnlyCredentials``: access key,
        secret key, token), e.g. to tell the scrubber what must never be written."""
        return self._credentials.get_frozen_credentials()

    def sign(self, request: httpx.Request, *, now: datetime.datetime | None = None) -> None:
        """Add ``Authorization``, ``X-Amz-Date`` (and ``X-Amz-Security-Token``) to `request`.

        The body must be read already (``httpx.Request(content=...)``); the
        headers signed must not change after this. `now` is for tests.
        """
        frozen = self._credentials.get_frozen_credentials()
        stamp = (now or _now()).strftime(SIGV4_TIMESTAMP)
        headers = {name: value for name, value in request.headers.items() if _signed_header(name)}
        headers["X-Amz-Date"] = stamp
        if frozen.token:
            headers["X-Amz-Security-Token"] = frozen.token
        aws_request = AWSRequest(
            method=request.method, url=str(request.url), headers=headers, data=request.content
        )
        aws_request.context["timestamp"] = stamp
        aws_request.context["llmeter_body"] = request.content
        # botocore's SigV4Auth.add_auth does these steps too, but logs the canonical
        # request (session token included) at DEBUG level; these calls do not log.
        auth = _SigV4(frozen, self.service, self.region)
        canonical = auth.canonical_request(aws_request)
        signature = auth.signature(auth.string_to_sign(aws_request, canonical), aws_request)
        signed = auth.signed_headers(auth.headers_to_sign(aws_request))
        request.headers["X-Amz-Date"] = stamp
        if frozen.token:
            request.headers["X-Amz-Security-Token"] = frozen.token
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={auth.scope(aws_request)}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )

    def __repr__(self) -> str:
        return (
            f"AwsSigner(service={self.service!r}, region={self.region!r}, profile={self.profile!r})"
        )


_NO_REGION = (
    "no AWS region: pass region= (--region at the command line), or set AWS_REGION, "
    "AWS_DEFAULT_REGION or a region in the AWS profile"
)


def _session_region(session: Any) -> str | None:
    region: str | None = session.get_config_variable("region") or os.environ.get("AWS_REGION")
    return region or None


def resolve_region(region: str | None = None, profile: str | None = None) -> str:
    """`region`, else the one botocore finds (``AWS_DEFAULT_REGION``, the `profile`'s), else
    ``AWS_REGION``; `CredentialsError` when there is none. Reads no credentials."""
    if region:
        return region
    try:
        found = _session_region(Session(profile=profile))
    except BotoCoreError as exc:
        raise CredentialsError(f"cannot read the AWS configuration: {exc}") from None
    if not found:
        raise CredentialsError(_NO_REGION)
    return found


def _no_credentials(profile: str | None) -> str:
    where = f"the AWS profile {profile!r}" if profile else "the environment or the AWS profile"
    return (
        f"no AWS credentials found in {where}: configure them as for the AWS CLI "
        "(aws configure, AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, a role)"
    )
