"""Every provider from the command line: the flags that set one option each, runs against the
simulated server through each API, and the demo through each API."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from llmeter_trio import Endpoint, InvocationResponse, Result
from llmeter_trio.cli import main
from llmeter_trio.cli._endpoints import build_endpoint, flag_options
from llmeter_trio.sim import SimConfig, hide_aws_settings, plan

from ._support.threaded_sim import served_in_thread

SIM = SimConfig(ttft_base=0.05, ttft_per_input_token=0.002, itl=0.005, output_tokens=12)
PROMPT = "one two three four"  # four input tokens, as the simulated server counts them
ACCESS_KEY = "AKIDCLITEST0001"
SECRET_KEY = "cli/test+secret-key-0f-the-provider-runs"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS setting of the machine the tests run on is seen (credentials, region, profile)."""
    hide_aws_settings(monkeypatch, tmp_path)


@pytest.fixture
def aws_keys(no_aws_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Made-up AWS credentials in the environment, where botocore's chain finds them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)


def check_against_the_sim(folder: Path, *, requests: int, output_tokens: int) -> Result:
    """The saved run measured what the server's plan says, on the real clock: every token it
    sent, and each time no shorter than the plan made it."""
    result = Result.load(str(folder))
    assert result.total_requests == requests
    assert result.stats["failed_requests"] == 0
    for record in result.responses:
        assert record.num_tokens_input == len(PROMPT.split())
        truth = plan(SIM, random.Random(0), input_tokens=len(PROMPT.split()), token_cap=64)
        assert record.num_tokens_output == truth.output_tokens == output_tokens
        assert record.time_to_first_token is not None and record.time_to_last_token is not None
        assert record.time_to_first_token >= truth.chunks[0].at
        assert record.time_to_last_token >= truth.duration
        assert record.time_to_first_token < record.time_to_last_token
    return result


def run_args(endpoint: str, folder: Path, *more: str) -> list[str]:
    return ["run", "--endpoint", endpoint, "--prompt", PROMPT, "--max-tokens", "64",
            "--clients", "2", "--n-requests", "2", "--output", str(folder), *more]  # fmt: skip


def saved_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


class TestOptionFlags:
    """--model, --base-url, --region and --profile each set one option of the endpoint."""

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["--endpoint", "openai-chat", "--region", "us-east-1"],
             "--region: endpoint 'openai-chat' has no option 'region'"),
            (["--endpoint", "anthropic-messages", "--profile", "prod"],
             "--profile: endpoint 'anthropic-messages' has no option 'profile'"),
            (["--endpoint", "fake", "--base-url", "http://127.0.0.1:9/v1"],
             "--base-url: endpoint 'fake' has no option 'base_url'"),
        ],
    )  # fmt: skip
    def test_a_flag_the_endpoint_lacks_is_one_line_and_status_2(
        self, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A flag whose option the chosen endpoint does not have is refused before anything
        runs, in one line naming the flag, the endpoint and the option."""
        assert main(["run", *arguments, "--prompt", "hi", "--n-requests", "1"]) == 2
        err = capsys.readouterr().err
        assert err == f"llmeter-trio run: error: {message}\n"

    def test_the_class_names_the_options_of_model_and_base_url(self) -> None:
        """An endpoint class says which options --model and --base-url set; --region and
        --profile set the options of those names."""

        @attrs.define(kw_only=True)
        class Gateway(Endpoint):
            endpoint_type = "gateway"
            model_option: ClassVar[str] = "deployment"
            base_url_option: ClassVar[str] = "gateway_url"
            deployment: str = ""
            gateway_url: str = ""
            region: str | None = None

            async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
                raise NotImplementedError

        given = {"--model": "gpt-x", "--base-url": "http://gw", "--region": "eu", "--profile": None}
        options = flag_options(Gateway, given)
        assert options == {"deployment": "gpt-x", "gateway_url": "http://gw", "region": "eu"}
        with pytest.raises(ValueError, match="--profile: endpoint 'gateway' has no option"):
            flag_options(Gateway, {"--profile": "prod"})

    def test_built_in_endpoints_take_model_and_base_url(self) -> None:
        """For the built-in endpoints --model is model_id and --base-url is base_url."""
        endpoint = build_endpoint(
            "anthropic-messages", {}, {"--model": "m", "--base-url": "http://127.0.0.1:9"}
        )
        assert (endpoint.model_id, getattr(endpoint, "base_url", None)) == (
            "m",
            "http://127.0.0.1:9",
        )

    @pytest.mark.plugins  # run again by .ci/run once plugins/ are installed
    @pytest.mark.usefixtures("no_aws_environment")
    def test_aws_endpoints_take_region_and_base_url_as_endpoint_url(self) -> None:
        """--base-url is an AWS endpoint's endpoint_url; for SageMaker --model names the
        endpoint to invoke."""
        pytest.importorskip("llmeter_trio_aws")
        flags = {"--model": "my-tgi", "--base-url": "http://127.0.0.1:9", "--region": "eu-west-3"}
        sagemaker = build_endpoint("sagemaker", {}, flags)
        assert sagemaker.to_config()["endpoint_name"] == "my-tgi"
        assert sagemaker.to_config()["endpoint_url"] == "http://127.0.0.1:9"
        assert sagemaker.to_config()["region"] == "eu-west-3"
        bedrock = build_endpoint("bedrock-converse", {}, {**flags, "--model": CLAUDE})
        assert bedrock.model_id == CLAUDE
        assert bedrock.to_config()["endpoint_url"] == "http://127.0.0.1:9"


@pytest.mark.realtime  # the simulated server, on the real clock, in a thread
class TestRunsAgainstTheSimulatedServer:
    def test_anthropic_messages(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """`run --endpoint anthropic-messages --base-url ORIGIN --model ...` measures the
        server's truth; the key, from ANTHROPIC_API_KEY, is not saved."""
        key = "sk-ant-cli-provider-test-0123"
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        folder = tmp_path / "anthropic"
        with served_in_thread(SIM) as origin:
            args = run_args("anthropic-messages", folder, "--base-url", origin, "--model", "m")
            assert main(args) == 0
        result = check_against_the_sim(folder, requests=4, output_tokens=12)
        assert result.run_config is not None
        assert result.run_config.endpoint_config["base_url"] == origin
        assert key.encode() not in saved_bytes(folder)

    @pytest.mark.plugins  # run again by .ci/run once plugins/ are installed
    @pytest.mark.usefixtures("aws_keys")
    def test_bedrock_converse(self, tmp_path: Path) -> None:
        """`run --endpoint bedrock-converse --region R --base-url ORIGIN --model ID`, with
        credentials from the environment: the server's truth measured, no secret saved."""
        pytest.importorskip("llmeter_trio_aws")
        folder = tmp_path / "bedrock"
        with served_in_thread(SIM) as origin:
            more = ("--region", "eu-west-3", "--base-url", origin, "--model", CLAUDE)
            assert main(run_args("bedrock-converse", folder, *more)) == 0
        result = check_against_the_sim(folder, requests=4, output_tokens=12)
        assert result.run_config is not None
        config = result.run_config.endpoint_config
        assert (config["region"], config["endpoint_url"]) == ("eu-west-3", origin)
        assert SECRET_KEY.encode() not in saved_bytes(folder)

    @pytest.mark.plugins  # run again by .ci/run once plugins/ are installed
    def test_sagemaker_with_a_profile(
        self, tmp_path: Path, no_aws_environment: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`run --endpoint sagemaker --profile P --model ENDPOINT`: the region and the
        credentials come from the profile; --model names the SageMaker endpoint."""
        pytest.importorskip("llmeter_trio_aws")
        (tmp_path / "config").write_text("[profile bench]\nregion = ap-south-1\n")
        (tmp_path / "credentials").write_text(
            f"[bench]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        folder = tmp_path / "sagemaker"
        with served_in_thread(SIM) as origin:
            more = ("--profile", "bench", "--base-url", origin, "--model", "my-tgi")
            assert main(run_args("sagemaker", folder, *more)) == 0
        result = check_against_the_sim(folder, requests=4, output_tokens=12)
        assert result.run_config is not None
        config = result.run_config.endpoint_config
        assert (config["profile"], config["region"]) == ("bench", "ap-south-1")
        assert config["endpoint_name"] == "my-tgi"
        assert SECRET_KEY.encode() not in saved_bytes(folder)


DEMO_APIS = [
    "openai-chat",
    "anthropic-messages",
    *(pytest.param(api, marks=pytest.mark.plugins) for api in ("bedrock-converse", "sagemaker")),
]
DEMO_TITLES = {
    "openai-chat": "OpenAI-compatible",
    "anthropic-messages": "Anthropic Messages",
    "bedrock-converse": "Amazon Bedrock (Converse)",
    "sagemaker": "SageMaker (a TGI container)",
}


@pytest.mark.realtime  # the demo serves the simulated server on the real clock
@pytest.mark.usefixtures("no_aws_environment")
@pytest.mark.parametrize("api", DEMO_APIS)
def test_demo_through_each_api(
    api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`demo --api API` measures the simulated server through that API: every request
    answered with the demo's 48 tokens, no sooner than its 150 ms to the first one."""
    if api in ("bedrock-converse", "sagemaker"):
        pytest.importorskip("llmeter_trio_aws")
    folder = tmp_path / api
    assert main(["demo", "--api", api, "--clients", "1", "--n-requests", "1",
                 "--output", str(folder)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"simulated {DEMO_TITLES[api]} server at http://127.0.0.1:" in out
    result = Result.load(str(folder))
    assert result.run_config is not None
    assert result.run_config.endpoint_config["endpoint_type"] == api
    assert result.total_requests == 1 and result.stats["failed_requests"] == 0
    record = result.responses[0]
    assert record.num_tokens_output == 48
    assert record.time_to_first_token is not None and record.time_to_first_token >= 0.15


def test_demo_without_the_aws_plugin_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the AWS plugin absent, `demo --api sagemaker` is one line saying how to install it."""
    from llmeter_trio import plugins

    monkeypatch.setenv(plugins.PLUGINS_ENV_VAR, "")
    monkeypatch.setattr(plugins, "_manager", None)
    assert main(["demo", "--api", "sagemaker"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("llmeter-trio demo: error: --api sagemaker needs its plugin: ")
    assert "pip install ./plugins/llmeter-trio-aws" in err and err.count("\n") == 1


def test_demo_refuses_an_unknown_api(capsys: pytest.CaptureFixture[str]) -> None:
    """--api takes the APIs the simulated server speaks, and says which when given another."""
    assert main(["demo", "--api", "nope"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and "sagemaker" in err
