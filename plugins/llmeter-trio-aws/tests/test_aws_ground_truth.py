"""Ground truth, end to end: `Runner` runs of each AWS endpoint against the simulated server.

The simulated server (Bedrock's and SageMaker's runtime APIs, with their binary event
streams) runs in the test's own trio run, on 127.0.0.1, under an autojumping MockClock:
server and client share the virtual clock, so the truth is the server's own plan
(`llmeter_trio.sim.plan`), never eyeballed. The requests go the way they go in a real run:
signed by `AwsSigner`, over httpx and llmeter-trio's lean transport. The bounds are those
of the OpenAI ground-truth tests (tests/test_ground_truth.py): every measured time at or
above the truth, its p50 at most `LATE` above it, inter-token latency within `GAP` (mean)
and `GAP_P50` (p50), token counts exact. (In virtual time the measurements are in fact exact.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from aws_sim import CLAUDE, LLAMA
from conftest import ACCESS_KEY, SECRETS, SESSION_TOKEN
from llmeter_trio_aws import (
    AwsEndpoint,
    BedrockConverseEndpoint,
    BedrockInvokeEndpoint,
    SageMakerInvokeEndpoint,
    converse_payload,
    invoke_payload,
    sagemaker_chat_payload,
    sagemaker_tgi_payload,
)

from llmeter_trio import Result, Runner
from llmeter_trio.endpoints import ChunkKind, ErrorClass, TokenCountSource
from llmeter_trio.sim import CONTENT_WORD, Faults, Plan, SimConfig, plan, simulated_server

LATE = 0.015  # seconds a p50 may be above the truth (as for the OpenAI endpoints)
GAP = 0.002  # seconds the mean inter-token latency may be off
GAP_P50 = 0.004  # seconds its p50 may be off
INPUT_WORDS = 20  # the simulated server counts one token per whitespace-separated word
PROMPT = " ".join(["word"] * INPUT_WORDS)
CONFIG = SimConfig(ttft_base=0.15, ttft_per_input_token=0.001, itl=0.025, output_tokens=12)
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}

Make = Callable[..., AwsEndpoint]


def _converse(url: str, **options: Any) -> AwsEndpoint:
    return BedrockConverseEndpoint(model_id=CLAUDE, endpoint_url=url, **options)


def _invoke_claude(url: str, **options: Any) -> AwsEndpoint:
    return BedrockInvokeEndpoint(model_id=CLAUDE, endpoint_url=url, **options)


def _invoke_llama(url: str, **options: Any) -> AwsEndpoint:
    return BedrockInvokeEndpoint(model_id=LLAMA, endpoint_url=url, **options)


def _sagemaker_tgi(url: str, **options: Any) -> AwsEndpoint:
    return SageMakerInvokeEndpoint(endpoint_name="tgi-endpoint", endpoint_url=url, **options)


def _sagemaker_chat(url: str, **options: Any) -> AwsEndpoint:
    return SageMakerInvokeEndpoint(
        endpoint_name="lmi-endpoint", family="openai", endpoint_url=url, **options
    )


# name: (endpoint maker, payload); no output limit below the sim's 12 tokens
CASES: dict[str, tuple[Make, dict[str, Any]]] = {
    "converse": (_converse, converse_payload(PROMPT, None)),
    "invoke-anthropic": (_invoke_claude, invoke_payload("anthropic", PROMPT, 100)),
    "invoke-meta": (_invoke_llama, invoke_payload("meta", PROMPT, None)),
    "sagemaker-tgi": (_sagemaker_tgi, sagemaker_tgi_payload(PROMPT, None)),
    "sagemaker-chat": (_sagemaker_chat, sagemaker_chat_payload(PROMPT, None)),
}
STOP_REASONS = {  # each API's word for an answer that ended by itself
    "converse": "end_turn",
    "invoke-anthropic": "end_turn",
    "invoke-meta": "stop",
    "sagemaker-tgi": "eos_token",
    "sagemaker-chat": "stop",
}
BEDROCK = ["converse", "invoke-anthropic", "invoke-meta"]
SAGEMAKER = ["sagemaker-tgi", "sagemaker-chat"]


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region from the environment, as botocore's chain reads them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS[0])
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


async def run_case(
    case: str,
    config: SimConfig = CONFIG,
    *,
    payload: dict[str, Any] | None = None,
    n_requests: int = 2,
    output_path: str | None = None,
    **options: Any,
) -> tuple[Result, AwsEndpoint]:
    """A Runner run of the `case` endpoint (2 clients) against a simulated server."""
    make, default_payload = CASES[case]
    async with simulated_server(config) as base_url:
        endpoint = make(base_url.removesuffix("/v1"), **options)
        runner = Runner(endpoint, output_path=output_path)
        result = await runner.run(
            payload=[payload or default_payload],
            clients=2,
            n_requests=n_requests,
            timeout=10.0,
            seed=1,
            run_name="aws" if output_path else None,
        )
    return result, endpoint


def truth(config: SimConfig = CONFIG, *, reasoning: bool = False) -> Plan:
    return plan(config, random.Random(0), input_tokens=INPUT_WORDS, reasoning=reasoning)


def files_holding(folder: Path, secrets: Sequence[str]) -> list[tuple[str, str]]:
    """(file, secret) for each secret found in a file saved under `folder` (which has some)."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert files
    return [
        (path.name, secret)
        for path in files
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]


def check_late(result: Result, name: str, expected: float) -> None:
    """`name` is never below `expected`, and its p50 at most `LATE` above it."""
    values = [getattr(record, name) for record in result.responses]
    assert all(value is not None and value >= expected - 1e-9 for value in values), values
    assert result.stats[f"{name}-p50"] - expected < LATE


class TestTimingsAndCounts:
    @pytest.mark.parametrize("case", list(CASES))
    async def test_streams_match_the_plan(
        self, case: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        """TTFT (with its per-input-token part), time to last token, ITL and token counts."""
        timeline = truth()
        assert timeline.chunks[0].at == pytest.approx(0.17)
        result, _ = await run_case(case)
        assert result.stats["failed_requests"] == 0, result.stats["errors_by_class"]
        check_late(result, "time_to_first_token", timeline.chunks[0].at)
        check_late(result, "time_to_first_content_token", timeline.chunks[0].at)
        check_late(result, "time_to_last_token", timeline.chunks[-1].at)
        assert result.stats["inter_token_latency-average"] == pytest.approx(CONFIG.itl, abs=GAP)
        assert result.stats["inter_token_latency-p50"] == pytest.approx(CONFIG.itl, abs=GAP_P50)
        assert result.stats["total_output_tokens"] == 4 * 12
        for record in result.responses:
            assert (record.num_tokens_input, record.num_tokens_output) == (INPUT_WORDS, 12)
            assert record.num_tokens_output_source is TokenCountSource.SERVER
            assert record.response_text == CONTENT_WORD * 12
            assert record.stop_reason == STOP_REASONS[case]
            assert len(record.chunks) == len(timeline.chunks)
            assert {chunk.kind for chunk in record.chunks} == {ChunkKind.CONTENT}

    @pytest.mark.parametrize("case", list(CASES))
    async def test_whole_answers_match_the_plan(
        self, case: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Converse, InvokeModel, InvokeEndpoint: time to last token is the answer's end."""
        payload = {k: v for k, v in CASES[case][1].items() if k not in ("stream", "stream_options")}
        result, _ = await run_case(case, payload=payload, stream=False)
        assert result.stats["failed_requests"] == 0, result.stats["errors_by_class"]
        check_late(result, "time_to_last_token", truth().duration)
        for record in result.responses:
            assert (record.num_tokens_input, record.num_tokens_output) == (INPUT_WORDS, 12)
            assert record.stop_reason == STOP_REASONS[case]
            assert record.chunks == []

    @pytest.mark.parametrize(
        ("case", "payload"),
        [
            ("converse", converse_payload(PROMPT, None, additionalModelRequestFields=THINKING)),
            (
                "invoke-anthropic",
                invoke_payload("anthropic", PROMPT, 100, thinking=THINKING["thinking"]),
            ),
        ],
    )
    async def test_reasoning_comes_first(
        self, case: str, payload: dict[str, Any], autojump_clock: trio.testing.MockClock
    ) -> None:
        """Thinking: the first token (reasoning) comes before the first content token."""
        config = SimConfig(ttft_base=0.15, itl=0.025, output_tokens=12, reasoning_tokens=3)
        timeline = plan(config, random.Random(0), input_tokens=INPUT_WORDS, reasoning=True)
        result, _ = await run_case(case, config, payload=payload)
        assert result.stats["failed_requests"] == 0, result.stats["errors_by_class"]
        check_late(result, "time_to_first_token", timeline.chunks[0].at)
        check_late(result, "time_to_first_content_token", timeline.chunks[3].at)
        for record in result.responses:
            kinds = [chunk.kind for chunk in record.chunks]
            assert kinds == [ChunkKind.REASONING] * 3 + [ChunkKind.CONTENT] * 9
            assert record.num_tokens_output == 12


class TestErrors:
    @pytest.mark.parametrize(
        ("case", "faults", "error_class", "status", "name"),
        [
            *[
                (case, Faults(throttle_rate=1.0), ErrorClass.THROTTLED, 429, "ThrottlingException")
                for case in BEDROCK
            ],
            *[
                (case, Faults(throttle_rate=1.0), ErrorClass.THROTTLED, 400, "ThrottlingException")
                for case in SAGEMAKER
            ],
            *[
                (
                    case,
                    Faults(server_error_rate=1.0, server_error_codes=(503,)),
                    ErrorClass.SERVER,
                    503,
                    "ServiceUnavailable",
                )
                for case in BEDROCK + SAGEMAKER
            ],
            (
                "sagemaker-tgi",
                Faults(server_error_rate=1.0, server_error_codes=(500,)),
                ErrorClass.SERVER,
                424,
                "ModelError",
            ),
        ],
    )
    async def test_error_answers_are_classified(
        self,
        case: str,
        faults: Faults,
        error_class: ErrorClass,
        status: int,
        name: str,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Throttling as each API reports it (SageMaker: HTTP 400), service unavailable,
        a container's failure relayed by SageMaker."""
        config = SimConfig(ttft_base=0.15, itl=0.025, output_tokens=12, faults=faults)
        result, _ = await run_case(case, config)
        assert result.stats["errors_by_class"] == {error_class.value: 4}
        for record in result.responses:
            assert record.status_code == status
            assert record.error is not None and f"HTTP {status} {name}" in record.error

    @pytest.mark.parametrize(
        ("case", "code", "error_class", "name"),
        [
            ("converse", 429, ErrorClass.THROTTLED, "throttlingException"),
            ("invoke-anthropic", 500, ErrorClass.SERVER, "modelStreamErrorException"),
            ("invoke-meta", 503, ErrorClass.SERVER, "serviceUnavailableException"),
            ("sagemaker-tgi", 500, ErrorClass.SERVER, "ModelStreamError"),
            ("sagemaker-chat", 429, ErrorClass.THROTTLED, "ModelStreamError"),
        ],
    )
    async def test_exceptions_inside_the_stream_are_classified(
        self,
        case: str,
        code: int,
        error_class: ErrorClass,
        name: str,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """An exception message after 3 chunks: the record keeps the chunks and the class."""
        faults = Faults(
            stream_error_rate=1.0, stream_error_codes=(code,), stream_error_after_chunks=3
        )
        config = SimConfig(ttft_base=0.15, itl=0.025, output_tokens=12, faults=faults)
        result, _ = await run_case(case, config)
        assert result.stats["errors_by_class"] == {error_class.value: 4}
        timeline = truth(config)
        for record in result.responses:
            assert record.status_code == 200
            assert record.error is not None and record.error.startswith(name), record.error
            assert len(record.chunks) == 3
            assert record.time_to_first_token == pytest.approx(timeline.chunks[0].at)

    @pytest.mark.parametrize(
        ("case", "payload", "name"),
        [
            (
                "invoke-anthropic",
                {"messages": [{"role": "user", "content": "hi"}]},
                "ValidationException",
            ),
            ("sagemaker-tgi", {"prompt": "hi"}, "ValidationError"),
        ],
    )
    async def test_validation_errors_are_client_errors(
        self, case: str, payload: dict[str, Any], name: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        result, _ = await run_case(case, payload=payload, n_requests=1)
        for record in result.responses:
            assert (record.error_class, record.status_code) == (ErrorClass.CLIENT, 400)
            assert record.error is not None and record.error.startswith(f"HTTP 400 {name}: ")


class TestSavedRuns:
    @pytest.mark.parametrize("case", ["converse", "invoke-meta", "sagemaker-chat"])
    async def test_saved_run_loads_back_without_secrets(
        self,
        case: str,
        aws_profile: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Credentials from a temporary AWS profile (with a session token): the run loads
        back with its configuration, and no saved file holds the secret key or the token."""
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
        ):
            monkeypatch.delenv(name)
        faults = Faults(throttle_rate=0.5)  # some errors too, so error texts are written
        config = SimConfig(ttft_base=0.15, itl=0.025, output_tokens=12, faults=faults)
        result, endpoint = await run_case(
            case, config, output_path=str(tmp_path / "runs"), profile=aws_profile
        )
        assert endpoint.region == "us-west-2"
        loaded = Result.load(str(tmp_path / "runs" / "aws"))
        assert loaded.run_config is not None
        assert loaded.run_config.endpoint() == endpoint
        assert loaded.run_config.endpoint_config["profile"] == aws_profile
        assert loaded.stats["total_requests"] == result.stats["total_requests"] == 4
        assert files_holding(tmp_path / "runs", SECRETS) == []

    async def test_a_token_echoed_by_the_server_is_scrubbed(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A server that echoes the session token in its error: the saved error masks it."""

        def echo(request: httpx.Request) -> httpx.Response:
            token = request.headers["x-amz-security-token"]
            body = {"message": f"The security token {token} is expired"}
            return httpx.Response(
                403, json=body, headers={"x-amzn-ErrorType": "ExpiredTokenException"}
            )

        endpoint = BedrockConverseEndpoint(model_id=CLAUDE, transport=httpx.MockTransport(echo))
        result = await Runner(endpoint, output_path=str(tmp_path)).run(
            payload=converse_payload("Hi"), n_requests=1, run_name="echo"
        )
        (record,) = result.responses
        assert record.error == "HTTP 403 ExpiredTokenException: The security token *** is expired"
        assert record.error_class is ErrorClass.CLIENT
        assert files_holding(tmp_path, [SESSION_TOKEN]) == []
