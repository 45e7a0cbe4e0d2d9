"""Bad input at the command line: one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmeter_trio.cli import main

FAKE = ["run", "--endpoint", "fake", "--prompt", "hi"]
OPENAI = ["run", "--endpoint", "openai-chat", "--prompt", "hi", "--n-requests", "1"]
LOCAL = [*OPENAI, "--base-url", "http://127.0.0.1:9/v1", "--timeout", "2"]


def refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; check it refused with one line and exit 2; return that line."""
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # an empty --base-url used to mean api.openai.com, sending the load and the key there;
        # the endpoint refuses a URL no request could reach (its wording is the endpoint's)
        ([*OPENAI, "--base-url", ""], "base_url"),
        ([*OPENAI, "--base-url", "127.0.0.1:8000/v1"], "base_url"),
        ([*OPENAI, "--base-url", "http://127.0.0.1:99999/v1"], "base_url"),
        ([*OPENAI, "--base-url", "http://127.0.0.1:port/v1"], "base_url"),
        ([*OPENAI, "--base-url", "http:///v1"], "base_url"),
        ([*FAKE, "--duration", "nan"], "run_duration must be a finite number, not nan"),
        # endpoint options of the wrong type are refused when the endpoint is made
        ([*FAKE, "--option", "time_to_first_token=abc"], "time_to_first_token must be a number"),
        ([*FAKE, "--option", "output_tokens=-1"], "output_tokens must be at least 0"),
        ([*LOCAL, "--option", "extra_headers=abc"], "extra_headers must be a mapping"),
        ([*FAKE, "--duration", "inf"], "run_duration must be a finite number, not inf"),
        ([*FAKE, "--duration", "0"], "run_duration must be greater than 0"),
        ([*FAKE, "--timeout", "nan"], "timeout must be a finite number"),
        ([*FAKE, "--timeout", "-1"], "timeout must be greater than 0"),
        ([*FAKE, "--clients", "0"], "clients must be at least 1"),
        ([*FAKE, "--clients", "1000000000"], "scale out over several processes"),
        ([*FAKE, "--clients", "many"], "argument --clients: invalid int value: 'many'"),
        ([*FAKE, "--n-requests", "0"], "n_requests must be at least 1"),
        ([*FAKE, "--max-tokens", "0"], "--max-tokens must be at least 1"),
        ([*FAKE, "--max-error-rate", "nan"], "--max-error-rate must be a finite number"),
        ([*FAKE, "--max-error-rate", "2"], "--max-error-rate must be at most 1"),
        ([*FAKE, "--lag-tolerance", "-1"], "lag_tolerance must be at least 0"),
        ([*FAKE, "--warmup-requests", "-1"], "warmup_requests must be at least 0"),
        ([*FAKE, "--warmup-seconds", "inf"], "warmup_seconds must be a finite number"),
        ([*FAKE, "--cooldown-seconds", "1"], "cooldown_seconds needs a time-bound run"),
        ([*FAKE, "--schedule", "nope"], "no schedule 'nope' is registered"),
        ([*FAKE, "--schedule", "poisson"], "schedule 'poisson' needs option(s) ['rate']"),
        ([*FAKE, "--schedule", "poisson", "--rate", "nan"], "rate must be a finite number"),
        ([*FAKE, "--schedule", "constant", "--rate", "0"], "rate must be greater than 0"),
        (
            [*FAKE, "--schedule", "constant", "--rate", "1", "--max-concurrency", "0"],
            "max_concurrency must be at least 1",
        ),
        (
            [*FAKE, "--schedule", "constant", "--rate", "1", "--max-concurrency", "200000"],
            "max_concurrency must be at most 100000",
        ),
        ([*FAKE, "--rate", "5"], "options ['rate'] need --schedule"),
        ([*FAKE, "--schedule", "trace", "--trace", "/no/trace.jsonl"], "no trace file at"),
        (
            [*FAKE, "--schedule", "constant", "--rate", "1", "--schedule-option", "colour=red"],
            "schedule 'constant' has no option(s) ['colour']",
        ),
        ([*FAKE, "--option", "noequals"], "--option 'noequals': expected KEY=VALUE"),
        ([*FAKE, "--option", "extra={bad"], "--option extra: the value is not valid JSON"),
        ([*FAKE, "--option", "colour=red"], "no option(s) ['colour']"),
        ([*LOCAL, "--option", "http_transport=carrier-pigeon"], "'http_transport' must be in"),
        (["run", "--endpoint", "fake", "--payload", "/no/such/file.jsonl"], "file.jsonl"),
        ([*FAKE, "--slo", "fast please"], "SLO 'fast please': expected"),
        ([*FAKE, "--header", "NoColon"], "--header 'NoColon': expected 'Name: value'"),
        ([*FAKE, "--callback", "nope"], "no callback type 'nope' is registered"),
        ([*FAKE, "--callback", "x:{bad"], "--callback x: the options are not valid JSON"),
        ([*FAKE, "--callback", "x:[1]"], "--callback x: the options must be a JSON object"),
        (["run", "--prompt", "hi"], "the following arguments are required: --endpoint"),
        ([], "the following arguments are required: COMMAND"),
        (["demo", "--clients", "0"], "clients must be at least 1"),
        (["analyze", "/no/such/run"], "/no/such/run"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad input found by probing the CLI is refused before the run, saying what was wrong."""
    assert message in refused(args, capsys)


def test_bad_json_in_a_payload_file_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = tmp_path / "p.jsonl"
    payload.write_text('{"prompt": "ok"}\n{broken\n')
    line = refused(["run", "--endpoint", "fake", "--payload", str(payload)], capsys)
    assert "p.jsonl, line 2" in line


class TestKeysNeverShow:
    """A key the transport cannot send is refused in one line that does not repeat it."""

    def test_non_ascii_api_key_option(self, capsys: pytest.CaptureFixture[str]) -> None:
        line = refused([*LOCAL, "--option", "api_key=sk-ключ-secret"], capsys)
        assert "ключ" not in line and "secret" not in line

    def test_non_ascii_api_key_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-ключ-secret")
        line = refused(LOCAL, capsys)
        assert "ключ" not in line and "secret" not in line

    def test_non_ascii_header_value(self, capsys: pytest.CaptureFixture[str]) -> None:
        line = refused([*LOCAL, "--header", "X-Api-Key: ключ-secret"], capsys)
        assert "ключ" not in line and "secret" not in line

    def test_a_credential_in_a_bad_base_url_is_not_repeated(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = refused([*OPENAI, "--base-url", "https://user:hunter2@127.0.0.1:99999/v1"], capsys)
        assert "hunter2" not in line
