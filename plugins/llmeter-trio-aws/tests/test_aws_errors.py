"""Error answers from the simulated Bedrock and SageMaker, and AWS error names, classified."""

from __future__ import annotations

import httpx
import orjson
import pytest
from aws_sim import CLAUDE, exchange
from llmeter_trio_aws import (
    converse_payload,
    describe_http_error,
    http_error_response,
    sagemaker_tgi_payload,
)

from llmeter_trio.endpoints import ErrorClass
from llmeter_trio.sim import SimConfig

CONFIG = SimConfig(output_tokens=3)
CONVERSE = f"/model/{CLAUDE}/converse"
TGI = "/endpoints/tgi/invocations"


class TestSimulatedAnswers:
    @pytest.mark.parametrize(
        ("path", "body", "service", "fault", "status", "error_class", "name"),
        [
            (CONVERSE, converse_payload("hi"), "bedrock", "429", 429, ErrorClass.THROTTLED,
             "ThrottlingException"),
            (CONVERSE, converse_payload("hi"), "bedrock", "503", 503, ErrorClass.SERVER,
             "ServiceUnavailableException"),
            (CONVERSE, converse_payload("hi"), "bedrock", "500", 500, ErrorClass.SERVER,
             "InternalServerException"),
            (CONVERSE, {"messages": []}, "bedrock", None, 400, ErrorClass.CLIENT,
             "ValidationException"),
            # SageMaker throttles with HTTP 400, and relays a container's 5xx as a 424.
            (TGI, sagemaker_tgi_payload("hi"), "sagemaker", "429", 400, ErrorClass.THROTTLED,
             "ThrottlingException"),
            (TGI, sagemaker_tgi_payload("hi"), "sagemaker", "500", 424, ErrorClass.SERVER,
             "ModelError"),
            (TGI, sagemaker_tgi_payload("hi"), "sagemaker", "503", 503, ErrorClass.SERVER,
             "ServiceUnavailable"),
            (TGI, {"prompt": "hi"}, "sagemaker", None, 400, ErrorClass.CLIENT, "ValidationError"),
        ],
    )  # fmt: skip
    def test_error_answer(
        self,
        path: str,
        body: dict[str, object],
        service: str,
        fault: str | None,
        status: int,
        error_class: ErrorClass,
        name: str,
    ) -> None:
        answer = exchange(CONFIG, path, body, service, fault=fault)
        assert answer.status == status
        response = http_error_response(status, httpx.Headers(answer.headers), answer.body)
        assert response.error_class is error_class
        assert response.status_code == status
        assert response.error is not None and response.error.startswith(f"HTTP {status} {name}: ")

    def test_model_error_keeps_the_original_status(self) -> None:
        answer = exchange(CONFIG, TGI, sagemaker_tgi_payload("hi"), "sagemaker", fault="500")
        response = http_error_response(424, httpx.Headers(answer.headers), answer.body)
        assert response.error is not None and "OriginalStatusCode 500" in response.error

    def test_unsigned_request_is_a_client_error(self) -> None:
        answer = exchange(CONFIG, CONVERSE, converse_payload("hi"), "bedrock", headers={})
        response = http_error_response(answer.status, httpx.Headers(answer.headers), answer.body)
        assert response.error_class is ErrorClass.CLIENT and answer.status == 403
        assert response.error is not None and "MissingAuthenticationToken" in response.error


class TestNames:
    @pytest.mark.parametrize(
        ("status", "error_type", "body", "error_class", "name"),
        [
            # Bedrock reports a model that is not ready with a 429: a server problem.
            (429, "ModelNotReadyException", {"message": "warming"}, ErrorClass.SERVER,
             "ModelNotReadyException"),
            (403, "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/",
             {"message": "no"}, ErrorClass.CLIENT, "AccessDeniedException"),
            (400, None, {"__type": "com.amazon.coral#ThrottlingException", "message": "slow"},
             ErrorClass.THROTTLED, "ThrottlingException"),
            (400, None, {"__type": "ServiceQuotaExceededException", "message": "quota"},
             ErrorClass.THROTTLED, "ServiceQuotaExceededException"),
            (502, None, {"message": "bad gateway"}, ErrorClass.SERVER, None),
            (418, None, {"message": "teapot"}, ErrorClass.CLIENT, None),
            (429, "SomethingNewException", {"message": "hm"}, ErrorClass.THROTTLED,
             "SomethingNewException"),
            (503, "SomethingNewException", {"Message": "hm"}, ErrorClass.SERVER,
             "SomethingNewException"),
        ],
    )  # fmt: skip
    def test_name_then_status(
        self,
        status: int,
        error_type: str | None,
        body: dict[str, str],
        error_class: ErrorClass,
        name: str | None,
    ) -> None:
        found, message = describe_http_error(status, error_type, orjson.dumps(body))
        assert found is error_class
        prefix = f"HTTP {status} {name}: " if name else f"HTTP {status}: "
        assert message.startswith(prefix)
        assert message.endswith(next(iter(v for k, v in body.items() if k != "__type")))

    def test_body_that_is_not_json(self) -> None:
        found, message = describe_http_error(502, None, b"<html>Bad Gateway</html>")
        assert found is ErrorClass.SERVER and message == "HTTP 502: <html>Bad Gateway</html>"

    def test_message_is_bounded(self) -> None:
        _, message = describe_http_error(500, None, b"x" * 10_000)
        assert len(message) <= 2048
