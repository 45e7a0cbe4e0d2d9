"""The AWS endpoints from the command line: listed, run, and refused with one clear line."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

import pytest
import trio
from aws_sim import CLAUDE
from conftest import ACCESS_KEY, SECRET_KEY, SESSION_TOKEN
from llmeter_trio_aws import BedrockConverseEndpoint, BedrockInvokeEndpoint, SageMakerInvokeEndpoint

from llmeter_trio import Result, plugins
from llmeter_trio.cli import main
from llmeter_trio.cli._endpoints import describe_endpoints
from llmeter_trio.sim import SimConfig, simulated_server

PLUGIN = Path(__file__).resolve().parent.parent
REGION = ["--option", "region=us-east-1"]
LIMIT = 60  # seconds of real time the subprocess test may take


def test_found_through_the_entry_point() -> None:
    """Through the ``aws`` entry point its pyproject declares, each name finds its class."""
    assert plugins.get_endpoint_type("bedrock-converse") is BedrockConverseEndpoint
    assert plugins.get_endpoint_type("bedrock-invoke") is BedrockInvokeEndpoint
    assert plugins.get_endpoint_type("sagemaker") is SageMakerInvokeEndpoint
    listing = describe_endpoints()
    for name in ("bedrock-converse", "bedrock-invoke", "sagemaker"):
        assert f"\n{name}  (llmeter_trio_aws." in f"\n{listing}"
    assert "aws_secret_access_key    secret: never saved" in listing


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--endpoint", "bedrock-converse", "--model", CLAUDE],
            "no AWS region: pass region= (--region at the command line)",
        ),
        (
            ["--endpoint", "bedrock-converse", "--model", CLAUDE, *REGION],
            "no AWS credentials found in the environment or the AWS profile",
        ),
        (
            ["--endpoint", "bedrock-invoke", "--model", CLAUDE, *REGION, "--option", "family=gpt"],
            "unknown model format 'gpt'; the presets are",
        ),
        (
            ["--endpoint", "sagemaker", *REGION],
            "endpoint_name is required",
        ),
    ],
)
def test_bad_settings_are_one_line_and_status_2(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["run", *arguments, "--prompt", "hi", "--n-requests", "1"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("llmeter-trio run: error: "), err
    assert message in err


def _installed() -> bool:
    points = importlib.metadata.entry_points(group=plugins.ENTRY_POINT_GROUP)
    return any(point.name == "aws" for point in points)


@pytest.mark.realtime  # subprocesses, and the simulated server on the real clock
@pytest.mark.skipif(not _installed(), reason="needs pip install ./plugins/llmeter-trio-aws")
async def test_installed_plugin_lists_and_runs(tmp_path: Path) -> None:
    """``llmeter-trio endpoints`` lists the AWS endpoints; ``llmeter-trio run`` measures the
    simulated Bedrock with credentials from the environment, and saves no secret."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        # this checkout's plugin, whichever copy the installed entry point points to
        "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "llmeter_trio"]
    with trio.fail_after(LIMIT):
        listed = await trio.run_process(
            [*command, "endpoints"], env=env, capture_stdout=True, capture_stderr=True
        )
        listing = listed.stdout.decode()
        for name in ("bedrock-converse", "bedrock-invoke", "sagemaker"):
            assert f"{name}  (llmeter_trio_aws." in listing
        config = SimConfig(ttft_base=0.1, itl=0.01, output_tokens=8)
        async with simulated_server(config) as base_url:
            ran = await trio.run_process(
                [
                    *command,
                    "run",
                    "--endpoint",
                    "bedrock-converse",
                    "--option",
                    f"endpoint_url={base_url.removesuffix('/v1')}",
                    "--option",
                    "region=us-east-1",
                    "--model",
                    CLAUDE,
                    "--prompt",
                    "one two three",
                    "--n-requests",
                    "3",
                    "--output",
                    str(tmp_path / "run"),
                ],
                env=env,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
    assert ran.returncode == 0, ran.stderr.decode()
    result = Result.load(str(tmp_path / "run"))
    assert result.stats["failed_requests"] == 0
    assert result.stats["total_output_tokens"] == 3 * 8
    assert all(r.time_to_first_token >= 0.1 for r in result.responses)  # type: ignore[operator]
    assert result.run_config is not None
    assert result.run_config.endpoint_config["endpoint_type"] == "bedrock-converse"
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes()
            assert SESSION_TOKEN.encode() not in path.read_bytes()
