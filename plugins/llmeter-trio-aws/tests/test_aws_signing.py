"""SigV4 signing: the same signature as botocore's, accepted by the simulator, no secret shown."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Any

import botocore.auth
import httpx
import pytest
from aws_sim import CLAUDE, exchange
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials
from llmeter_trio_aws import (
    AwsSigner,
    CredentialsError,
    bedrock_path,
    bedrock_runtime_url,
    converse_payload,
    sagemaker_path,
    sagemaker_runtime_url,
)

from llmeter_trio.sim import SimConfig

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"
NOW = datetime.datetime(2025, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)
BODY = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'


def request(url: str, **headers: str) -> httpx.Request:
    """A request as an endpoint builds it: JSON body, httpx's default headers."""
    client = httpx.Client()
    built = client.build_request(
        "POST", url, content=BODY, headers={"Content-Type": "application/json", **headers}
    )
    client.close()
    return built


def botocore_authorization(
    url: str, headers: dict[str, str], credentials: Credentials, service: str, region: str
) -> tuple[str, AWSRequest]:
    """botocore's own SigV4Auth.add_auth on the same request, at the same instant."""
    aws_request = AWSRequest(method="POST", url=url, headers=headers, data=BODY)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: NOW.replace(tzinfo=None)
    try:
        botocore.auth.SigV4Auth(credentials, service, region).add_auth(aws_request)
    finally:
        botocore.auth.get_current_datetime = original
    return aws_request.headers["Authorization"], aws_request


class TestSameAsBotocore:
    @pytest.mark.parametrize("token", [None, TOKEN])
    @pytest.mark.parametrize(
        ("url", "service", "region"),
        [
            (
                bedrock_runtime_url("us-east-1") + bedrock_path(CLAUDE, "converse-stream"),
                "bedrock",
                "us-east-1",
            ),
            (
                bedrock_runtime_url("eu-west-3")
                + bedrock_path("arn:aws:bedrock:eu-west-3::foundation-model/meta.llama3", "invoke"),
                "bedrock",
                "eu-west-3",
            ),
            (
                sagemaker_runtime_url("us-west-2") + sagemaker_path("my-endpoint", stream=True),
                "sagemaker",
                "us-west-2",
            ),
            ("http://127.0.0.1:8080/model/x/invoke?b=two&a=1", "bedrock", "us-east-1"),
        ],
    )
    def test_authorization_matches(
        self, url: str, service: str, region: str, token: str | None
    ) -> None:
        """Same canonical request, same signature, for the headers boto3 signs."""
        credentials = Credentials("AKIDEXAMPLE", SECRET, token)
        ours = request(url, Accept="application/vnd.amazon.eventstream")
        AwsSigner(service, region, credentials).sign(ours, now=NOW)
        signed_by_us = {
            k: v for k, v in ours.headers.items() if k.lower() in ("content-type", "accept", "host")
        }
        expected, theirs = botocore_authorization(url, signed_by_us, credentials, service, region)
        assert ours.headers["Authorization"] == expected
        assert ours.headers["X-Amz-Date"] == theirs.headers["X-Amz-Date"] == "20250304T050607Z"
        assert ours.headers.get("X-Amz-Security-Token") == token
        assert "connection" not in expected.lower() and "user-agent" not in expected.lower()

    def test_signing_again_replaces_the_signature(self) -> None:
        """A request signed twice (a retry) carries one signature, of the second time."""
        signer = AwsSigner("bedrock", "us-east-1", Credentials("AKIDEXAMPLE", SECRET, TOKEN))
        url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke"
        once = request(url)
        twice = request(url, **{"x-amz-date": "20250304T050000Z", "x-amz-security-token": "old"})
        signer.sign(once, now=NOW)
        signer.sign(twice, now=NOW)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            assert twice.headers.get_list(name) == once.headers.get_list(name), name

    def test_what_boto3_sends(self) -> None:
        """boto3's bedrock-runtime client signs a Converse call exactly as we do."""
        boto3 = pytest.importorskip("boto3")
        from botocore.awsrequest import AWSResponse

        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key=SECRET,
            aws_session_token=TOKEN,
        )
        sent: dict[str, Any] = {}

        def capture(request: Any, **_: Any) -> AWSResponse:
            sent.update(url=request.url, headers=dict(request.headers), body=request.body)
            return AWSResponse(request.url, 500, {}, None)  # no network

        client.meta.events.register("before-send", capture)
        original = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda: NOW.replace(tzinfo=None)
        try:
            with pytest.raises(Exception):  # noqa: B017  (the fake answer is not parsed)
                client.converse(
                    modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "hi"}]}]
                )
        finally:
            botocore.auth.get_current_datetime = original
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in sent["headers"].items()}
        ours = httpx.Request(
            "POST",
            sent["url"],
            content=sent["body"],
            headers={"Content-Type": headers["Content-Type"], "User-Agent": "llmeter-trio"},
        )
        assert sent["url"] == bedrock_runtime_url("us-east-1") + bedrock_path(CLAUDE, "converse")
        AwsSigner("bedrock", "us-east-1", Credentials("AKIDEXAMPLE", SECRET, TOKEN)).sign(
            ours, now=NOW
        )
        assert ours.headers["Authorization"] == headers["Authorization"]


class TestSimulatorAccepts:
    def test_signed_request_is_served(self) -> None:
        """The simulated Bedrock's SigV4 check passes a request we signed."""
        path = bedrock_path(CLAUDE, "converse")
        ours = request("http://127.0.0.1" + path)
        AwsSigner("bedrock", "us-east-1", Credentials("AKIDEXAMPLE", SECRET)).sign(ours)
        headers = {k: v for k, v in ours.headers.items()}
        answer = exchange(
            SimConfig(output_tokens=2), path, converse_payload("hi"), "x", headers=headers
        )
        assert answer.status == 200, answer.body

    def test_signed_for_the_wrong_service_is_refused(self) -> None:
        path = bedrock_path(CLAUDE, "converse")
        ours = request("http://127.0.0.1" + path)
        AwsSigner("sagemaker", "us-east-1", Credentials("AKIDEXAMPLE", SECRET)).sign(ours)
        headers = {k: v for k, v in ours.headers.items()}
        answer = exchange(SimConfig(), path, converse_payload("hi"), "x", headers=headers)
        assert answer.status == 403


def write_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text("[profile loadtest]\nregion = ap-southeast-2\n")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[loadtest]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {SECRET}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))


class TestCredentialChain:
    def test_profile_from_a_config_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A named profile gives the keys and the region."""
        write_profile(tmp_path, monkeypatch)
        signer = AwsSigner.create("bedrock", profile="loadtest")
        assert signer.region == "ap-southeast-2"
        ours = request("https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/m/converse")
        signer.sign(ours, now=NOW)
        assert ours.headers["Authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIDPROFILE/20250304/ap-southeast-2/bedrock/aws4_request, "
            "SignedHeaders=accept;content-type;host;x-amz-date, Signature="
        )

    def test_environment_and_explicit_region(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
        signer = AwsSigner.create("sagemaker", region="us-west-2")
        ours = request("https://runtime.sagemaker.us-west-2.amazonaws.com/endpoints/e/invocations")
        signer.sign(ours)
        assert "Credential=AKIDENV/" in ours.headers["Authorization"]
        assert "x-amz-security-token" in ours.headers["Authorization"]
        assert ours.headers["X-Amz-Security-Token"] == TOKEN

    @pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
    def test_region_from_the_environment(
        self, variable: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(variable, "ca-central-1")
        signer = AwsSigner.create("bedrock", credentials=Credentials("AKIDEXAMPLE", SECRET))
        assert signer.region == "ca-central-1"

    def test_no_credentials(self) -> None:
        with pytest.raises(CredentialsError, match="no AWS credentials found"):
            AwsSigner.create("bedrock", region="us-east-1")

    def test_no_region(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        with pytest.raises(CredentialsError, match="no AWS region"):
            AwsSigner.create("bedrock")

    def test_unknown_profile(self) -> None:
        with pytest.raises(CredentialsError, match="nope"):
            AwsSigner.create("bedrock", region="us-east-1", profile="nope")

    def test_refreshable_credentials_are_read_per_request(self) -> None:
        """Expired role credentials are refreshed when a request is signed."""
        now = datetime.datetime.now(datetime.timezone.utc)
        issued = iter([("AKIDFIRST", now), ("AKIDSECOND", now + datetime.timedelta(hours=1))])

        def refresh() -> dict[str, str]:
            key, expiry = next(issued)  # the first is expired at once
            return {
                "access_key": key,
                "secret_key": SECRET,
                "token": TOKEN,
                "expiry_time": expiry.isoformat(),
            }

        credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, method="test")
        signer = AwsSigner("bedrock", "us-east-1", credentials)
        ours = request("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse")
        signer.sign(ours)
        assert "Credential=AKIDSECOND/" in ours.headers["Authorization"]


class TestNoSecretShown:
    def test_repr(self) -> None:
        signer = AwsSigner("bedrock", "us-east-1", Credentials("AKIDEXAMPLE", SECRET, TOKEN))
        assert repr(signer) == "AwsSigner(service='bedrock', region='us-east-1', profile=None)"

    def test_debug_logs(self, caplog: pytest.LogCaptureFixture) -> None:
        """Nothing logged while signing holds the secret key or the session token."""
        signer = AwsSigner("bedrock", "us-east-1", Credentials("AKIDEXAMPLE", SECRET, TOKEN))
        with caplog.at_level(logging.DEBUG):
            signer.sign(request("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke"))
        assert SECRET not in caplog.text and TOKEN not in caplog.text

    def test_errors(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write_profile(tmp_path, monkeypatch)
        with pytest.raises(CredentialsError) as raised:
            AwsSigner.create("bedrock", region="", profile="missing")
        assert SECRET not in str(raised.value)
