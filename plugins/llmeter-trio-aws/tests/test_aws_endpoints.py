"""The endpoint classes' options, credentials and requests (answers from `httpx.MockTransport`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
import trio
from aws_sim import CLAUDE, LLAMA
from botocore.credentials import Credentials
from conftest import ACCESS_KEY, SECRET_KEY, SECRETS, SESSION_TOKEN
from llmeter_trio_aws import (
    AwsSigner,
    BedrockConverseEndpoint,
    BedrockInvokeEndpoint,
    CredentialsError,
    SageMakerInvokeEndpoint,
)

from llmeter_trio.endpoints import ErrorClass, InvocationResponse

CREDENTIALS: dict[str, Any] = {
    "aws_access_key_id": ACCESS_KEY,
    "aws_secret_access_key": SECRET_KEY,
    "aws_session_token": SESSION_TOKEN,
}
CONVERSE_ANSWER = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hi there"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
}


class Capture:
    """An `httpx.MockTransport` handler that keeps each request and answers `status`, `body`."""

    def __init__(
        self, status: int = 200, body: Any = CONVERSE_ANSWER, headers: dict[str, str] | None = None
    ) -> None:
        self.requests: list[httpx.Request] = []
        self.status, self.body, self.headers = status, body, headers or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body, headers=self.headers)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def invoke(endpoint: Any, payload: dict[str, Any]) -> InvocationResponse:
    """One request through the endpoint's own session."""

    async def main() -> InvocationResponse:
        async with endpoint.open_session(1):
            response: InvocationResponse = await endpoint.invoke(endpoint.prepare_payload(payload))
            return response

    return trio.run(main)


class TestWhereRequestsGo:
    def test_region_from_the_profile_is_saved(self, aws_profile: str) -> None:
        """The region botocore finds is the one used and saved; the URL is not an option."""
        endpoint = BedrockConverseEndpoint(model_id=CLAUDE, profile=aws_profile)
        assert endpoint.region == "us-west-2"
        assert endpoint.base_url == "https://bedrock-runtime.us-west-2.amazonaws.com"
        config = endpoint.to_config()
        assert config["region"] == "us-west-2" and config["profile"] == "llmeter"
        assert "base_url" not in config
        assert BedrockConverseEndpoint.from_config(config) == endpoint

    def test_region_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        endpoint = SageMakerInvokeEndpoint(endpoint_name="my-tgi")
        assert endpoint.base_url == "https://runtime.sagemaker.eu-west-1.amazonaws.com"

    def test_no_region_is_one_clear_error(self) -> None:
        with pytest.raises(CredentialsError, match="no AWS region: pass region="):
            BedrockConverseEndpoint(model_id=CLAUDE)

    def test_unknown_profile_is_one_clear_error(self) -> None:
        with pytest.raises(CredentialsError, match="cannot read the AWS configuration"):
            BedrockConverseEndpoint(model_id=CLAUDE, profile="no-such-profile")

    def test_endpoint_url_replaces_the_regional_one(self) -> None:
        endpoint = BedrockInvokeEndpoint(
            model_id=CLAUDE, region="us-east-1", endpoint_url="http://127.0.0.1:9/"
        )
        assert endpoint.base_url == "http://127.0.0.1:9/"
        assert endpoint.to_config()["endpoint_url"] == "http://127.0.0.1:9/"

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"endpoint_url": "ftp://example.com"}, "endpoint_url must start with http"),
            ({"region": ""}, "region must be a region name"),
            ({"model_id": ""}, "model_id is required"),
            ({"aws_access_key_id": ACCESS_KEY}, "give both aws_access_key_id"),
            ({"family": "gpt"}, "unknown model format 'gpt'; the presets are: anthropic"),
            ({"text_path": "a[?"}, "invalid JMESPath expression 'a\\[\\?'"),
        ],
    )
    def test_bad_options_are_refused(self, options: dict[str, Any], message: str) -> None:
        settings = {"model_id": CLAUDE, "region": "us-east-1", **options}
        with pytest.raises(ValueError, match=message):
            BedrockInvokeEndpoint(**settings)

    def test_sagemaker_needs_an_endpoint_name(self) -> None:
        with pytest.raises(ValueError, match="endpoint_name is required"):
            SageMakerInvokeEndpoint(region="us-east-1")


class TestCredentials:
    def test_explicit_credentials_are_never_saved_nor_shown(self) -> None:
        endpoint = BedrockConverseEndpoint(model_id=CLAUDE, region="us-east-1", **CREDENTIALS)
        shown = repr(endpoint) + orjson.dumps(endpoint.to_config()).decode()
        for value in CREDENTIALS.values():
            assert value not in shown
        assert set(SECRETS) <= endpoint.secret_values()

    def test_credentials_from_the_profile_are_scrubbed(self, aws_profile: str) -> None:
        """The secret key and session token the chain found are what the scrubber masks."""
        endpoint = SageMakerInvokeEndpoint(endpoint_name="my-tgi", profile=aws_profile)
        assert set(SECRETS) <= endpoint.secret_values()
        assert SECRET_KEY not in repr(endpoint.signer())

    def test_credentials_are_resolved_when_needed(self) -> None:
        """Making an endpoint (as loading a saved run does) needs no credentials; using it
        without any is one clear error."""
        endpoint = BedrockConverseEndpoint(model_id=CLAUDE, region="us-east-1")
        with pytest.raises(CredentialsError, match="no AWS credentials found"):
            endpoint.secret_values()

    def test_botocore_credentials_given(self) -> None:
        """Credentials held by the caller (a boto3 session's) are used as they are."""
        held = Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
        endpoint = BedrockConverseEndpoint(model_id=CLAUDE, region="us-east-1", credentials=held)
        assert endpoint.signer().credentials_snapshot().token == SESSION_TOKEN
        assert "credentials" not in endpoint.to_config()


def whole_converse(capture: Capture) -> BedrockConverseEndpoint:
    """A Converse endpoint (not streamed, ``maxTokens`` 5) whose requests `capture` answers."""
    return BedrockConverseEndpoint(
        model_id=CLAUDE,
        region="us-east-1",
        stream=False,
        inference_config={"maxTokens": 5},
        transport=capture.transport,
        **CREDENTIALS,
    )


class TestRequests:
    def test_converse_request_is_signed_for_bedrock(self) -> None:
        """Path, headers and body as boto3 sends them, signed with the session token."""
        capture = Capture()
        endpoint = whole_converse(capture)
        payload = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "modelId": "x"}
        record = invoke(endpoint, payload)
        assert (record.error, record.response_text, record.num_tokens_output) == (
            None,
            "Hi there",
            2,
        )
        (request,) = capture.requests
        assert request.url.raw_path == b"/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        assert request.url.host == "bedrock-runtime.us-east-1.amazonaws.com"
        assert orjson.loads(request.content) == {
            "messages": payload["messages"],
            "inferenceConfig": {"maxTokens": 5},
        }
        assert request.headers["x-amz-security-token"] == SESSION_TOKEN
        authorization = request.headers["authorization"]
        assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
        assert "/us-east-1/bedrock/aws4_request" in authorization
        assert record.input_prompt == "Hi"

    def test_signature_is_botocores(self) -> None:
        """Signing the request again at its own instant gives the same signature."""
        capture = Capture()
        endpoint = BedrockConverseEndpoint(
            model_id=CLAUDE, region="us-east-1", transport=capture.transport, **CREDENTIALS
        )
        invoke(endpoint, BedrockConverseEndpoint.create_payload("Hi"))
        (request,) = capture.requests
        signed_at = datetime.datetime.strptime(
            request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ"
        ).replace(tzinfo=datetime.timezone.utc)
        again = httpx.Request("POST", request.url, headers=request.headers, content=request.content)
        held = Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
        AwsSigner("bedrock", "us-east-1", held).sign(again, now=signed_at)
        assert again.headers["authorization"] == request.headers["authorization"]

    async def test_a_payload_given_to_invoke_is_prepared(self) -> None:
        """Sent without `prepare_payload`, a payload is prepared all the same."""
        capture = Capture()
        endpoint = whole_converse(capture)
        record = await endpoint.invoke({"messages": [], "modelId": CLAUDE})
        assert record.error is None
        assert orjson.loads(capture.requests[0].content) == {
            "messages": [],
            "inferenceConfig": {"maxTokens": 5},
        }

    def test_converse_payload_takes_no_stream_flag(self) -> None:
        endpoint = BedrockConverseEndpoint(model_id=CLAUDE, region="us-east-1")
        with pytest.raises(ValueError, match="the endpoint's stream option chooses"):
            endpoint.prepare_payload({"messages": [], "stream": True})

    @pytest.mark.parametrize(
        ("payload", "path", "sent_stream"),
        [
            ({"inputs": "Hi"}, "/endpoints/my-tgi/invocations-response-stream", True),
            ({"inputs": "Hi", "stream": False}, "/endpoints/my-tgi/invocations", False),
        ],
    )
    def test_sagemaker_body_stream_flag_chooses(
        self, payload: dict[str, Any], path: str, sent_stream: bool
    ) -> None:
        """The body's own flag picks the API; a body without one streams (the default)."""
        capture = Capture(
            424, {"ErrorCode": "x", "Message": "no"}, {"x-amzn-ErrorType": "ModelError"}
        )
        endpoint = SageMakerInvokeEndpoint(
            endpoint_name="my-tgi",
            region="us-east-1",
            inference_component="ic-1",
            transport=capture.transport,
            **CREDENTIALS,
        )
        record = invoke(endpoint, payload)
        assert record.error_class is ErrorClass.SERVER and record.status_code == 424
        (request,) = capture.requests
        assert request.url.path == path
        assert orjson.loads(request.content)["stream"] is sent_stream
        assert request.headers["x-amzn-sagemaker-inference-component"] == "ic-1"
        assert "/us-east-1/sagemaker/aws4_request" in request.headers["authorization"]

    @pytest.mark.parametrize(
        ("stream", "payload", "path", "body"),
        [
            (
                False,
                {"inputs": "Hi", "stream": True},
                "invocations",
                {"inputs": "Hi", "stream": False},
            ),
            (False, {"inputs": "Hi"}, "invocations", {"inputs": "Hi"}),
            (True, {"inputs": "Hi", "stream": False}, "invocations-response-stream", None),
        ],
    )
    def test_sagemaker_stream_option_forces(
        self, stream: bool, payload: dict[str, Any], path: str, body: dict[str, Any] | None
    ) -> None:
        """stream=True or False: every request streams, or none does, whatever the body said
        (a body without a flag, not streamed, is sent as it is)."""
        capture = Capture(400, {"message": "no"}, {"x-amzn-ErrorType": "ValidationError"})
        endpoint = SageMakerInvokeEndpoint(
            endpoint_name="my-tgi",
            region="us-east-1",
            stream=stream,
            transport=capture.transport,
            **CREDENTIALS,
        )
        record = invoke(endpoint, payload)
        assert record.error_class is ErrorClass.CLIENT
        (request,) = capture.requests
        assert request.url.path == f"/endpoints/my-tgi/{path}"
        assert orjson.loads(request.content) == (body or {**payload, "stream": True})

    def test_model_not_ready_is_a_server_error(self) -> None:
        """Bedrock's ModelNotReadyException comes with HTTP 429, but is no throttling."""
        capture = Capture(
            429, {"message": "Model is not ready"}, {"x-amzn-ErrorType": "ModelNotReadyException"}
        )
        endpoint = BedrockInvokeEndpoint(
            model_id=LLAMA, region="us-east-1", transport=capture.transport, **CREDENTIALS
        )
        record = invoke(endpoint, BedrockInvokeEndpoint.create_payload("Hi", family="meta"))
        assert record.error_class is ErrorClass.SERVER
        assert record.error == "HTTP 429 ModelNotReadyException: Model is not ready"


class TestPayloads:
    @pytest.mark.parametrize(
        ("make", "expected"),
        [
            (
                lambda: BedrockInvokeEndpoint.create_payload("Hi", 9),
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 9},
            ),
            (
                lambda: BedrockInvokeEndpoint.create_payload("Hi", 9, family="meta"),
                {"prompt": "Hi", "max_gen_len": 9},
            ),
            (
                lambda: BedrockInvokeEndpoint(model_id=LLAMA, region="us-east-1").create_payload(
                    "Hi", 9
                ),
                {"prompt": "Hi", "max_gen_len": 9},
            ),
            (
                lambda: SageMakerInvokeEndpoint.create_payload("Hi", 9),
                {"inputs": "Hi", "parameters": {"details": True, "max_new_tokens": 9}},
            ),
            (
                lambda: SageMakerInvokeEndpoint(
                    endpoint_name="lmi", region="us-east-1", family="openai"
                ).create_payload("Hi", 9),
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 9},
            ),
        ],
    )
    def test_create_payload_follows_the_family(
        self, make: Callable[[], dict[str, Any]], expected: dict[str, Any]
    ) -> None:
        """On an endpoint, its own family's body; on the class, the family asked for."""
        assert make() == expected

    def test_family_comes_from_the_model_id_and_is_saved(self) -> None:
        llama = BedrockInvokeEndpoint(
            model_id=f"arn:aws:bedrock:us-east-1::{LLAMA}", region="us-east-1"
        )
        assert llama.to_config()["family"] == "meta"
        unknown = BedrockInvokeEndpoint(model_id="acme.model-v1", region="us-east-1")
        assert unknown.family == "openai"  # as LLMeter's defaults

    def test_own_paths_replace_the_presets(self) -> None:
        endpoint = BedrockInvokeEndpoint(
            model_id=CLAUDE, region="us-east-1", text_path="completion", stop_reason_path="stop"
        )
        assert endpoint.model_format.stream.text == endpoint.model_format.body.text == "completion"
        assert endpoint.model_format.stream.input_tokens == "message.usage.input_tokens"
