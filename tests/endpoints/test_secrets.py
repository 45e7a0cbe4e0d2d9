"""Credentials never reach disk, logs, a repr or an error message."""

from __future__ import annotations

import base64
import json
import string
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import httpx
import orjson
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import Runner
from llmeter_trio.cli import main
from llmeter_trio.cli._endpoints import describe_endpoints
from llmeter_trio.endpoints import (
    AnthropicMessagesEndpoint,
    Endpoint,
    ErrorClass,
    FakeEndpoint,
    InvocationResponse,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    headers_field,
    secret_field,
)
from llmeter_trio.endpoints._base import MASK, mask_url, scrubber, url_field
from llmeter_trio.engine import EndpointUnreachable

ALL = [
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    AnthropicMessagesEndpoint,
]
KEY = "sk-test-0123456789abcdef"
PAYLOAD = OpenAIChatEndpoint.create_payload("hi")


def echo_headers(request: httpx.Request) -> httpx.Response:
    """A server that answers 401 with every request header and the URL in its body."""
    body = {
        "error": {"message": "bad key", "headers": dict(request.headers), "url": str(request.url)}
    }
    return httpx.Response(401, json=body)


def saved_text(folder: Path) -> str:
    return "".join(f.read_text() for f in folder.rglob("*") if f.is_file())


class TestUrlCredentials:
    """A base_url carrying credentials is saved and shown with them masked."""

    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("https://user:pa55word@h.example/v1", "https://***:***@h.example/v1"),
            ("https://tok3n-only@h.example/v1", "https://***@h.example/v1"),
            ("https://h.example/v1?api_key=k3y1&api-version=2", "https://h.example/v1?api_key=***&api-version=2"),
            ("https://h.example/v1?key=k3y1", "https://h.example/v1?key=***"),
            ("https://h.example/v1?sv=1&sig=s1gnature", "https://h.example/v1?sv=1&sig=***"),
            ("https://h.example/v1?token=t0ken", "https://h.example/v1?token=***"),
            ("https://h.example/v1?access_token=t0ken", "https://h.example/v1?access_token=***"),
            ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ],
    )  # fmt: skip
    def test_masked_in_config_and_repr(self, url: str, shown: str) -> None:
        """to_config and repr show the URL with its credentials masked, the rest as given."""
        endpoint = OpenAIChatEndpoint(base_url=url)
        assert mask_url(url) == shown
        assert endpoint.to_config()["base_url"] == shown
        assert repr(shown) in repr(endpoint)
        for secret in ("pa55word", "tok3n-only", "k3y1", "s1gnature", "t0ken"):
            assert secret not in repr(endpoint)
            assert secret not in json.dumps(endpoint.to_config())

    @pytest.mark.parametrize(
        "url", ["http://u:s3cr3t@host:notaport/v1", "ftp://u:s3cr3t@host/v1", "s3cr3t"]
    )
    def test_a_bad_url_is_refused_masked(self, url: str) -> None:
        """A URL that cannot be used is refused when the endpoint is made, credentials masked."""
        with pytest.raises(ValueError, match="base_url") as caught:
            OpenAIChatEndpoint(base_url=url)
        assert "s3cr3t" not in str(caught.value)
        shown = traceback.format_exception(type(caught.value), caught.value, None)
        assert "s3cr3t" not in "".join(shown)  # nor in a chained exception

    def test_reloaded_without_the_masked_parts(self) -> None:
        """A rebuilt endpoint does not send '***' as credentials: masked parts are left out."""
        endpoint = OpenAIChatEndpoint(base_url="https://u:p4ss@h.example/v1?api-version=2&key=k3y1")
        rebuilt = OpenAIChatEndpoint.from_config(endpoint.to_config())
        assert rebuilt.base_url == "https://h.example/v1?api-version=2"

    async def test_user_info_is_sent_as_basic_auth(self) -> None:
        """Over either transport path, URL credentials go out as httpx sends them: Basic auth."""
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]})

        endpoint = OpenAIChatEndpoint(
            base_url="http://us3r:p4ss@127.0.0.1:9/v1", transport=httpx.MockTransport(answer)
        )
        record = await endpoint.invoke({**PAYLOAD, "stream": False})
        assert record.error is None
        expected = "Basic " + base64.b64encode(b"us3r:p4ss").decode()
        assert seen[0].headers["authorization"] == expected
        assert "p4ss" not in str(seen[0].url)


class TestHeaderValues:
    """Only allow-listed header values are saved; names are kept so a reader sees what was sent."""

    def test_allow_list(self) -> None:
        """X-Custom-Auth matches no credential pattern, yet its value is masked."""
        headers = {"X-Custom-Auth": "s3cret-value", "Accept-Language": "en", "User-Agent": "me"}
        endpoint = OpenAIChatEndpoint(extra_headers=headers)
        assert endpoint.to_config()["extra_headers"] == {
            "X-Custom-Auth": MASK, "Accept-Language": "en", "User-Agent": "me",
        }  # fmt: skip
        assert "s3cret-value" not in repr(endpoint)
        assert "X-Custom-Auth" in repr(endpoint)

    def test_any_endpoint_gets_it_from_the_base(self) -> None:
        """A third-party endpoint declaring headers_field/url_field/secret_field is covered too."""

        @attrs.define
        class Gateway(FakeEndpoint):
            token: str | None = secret_field()
            headers: dict[str, str] = headers_field()
            url: str = url_field(default="https://a:b1b2b3@gw.example/?sig=s1s2s3")

        endpoint = Gateway(token="t0k3n-t0k3n", headers={"X-Tenant-Auth": "h3h3h3h3"})
        config = endpoint.to_config()
        assert "token" not in config
        assert config["headers"] == {"X-Tenant-Auth": MASK}
        assert config["url"] == "https://***:***@gw.example/?sig=***"
        secrets = endpoint.secret_values()
        assert {"t0k3n-t0k3n", "h3h3h3h3", "b1b2b3", "s1s2s3"} <= secrets
        text = json.dumps(config) + repr(endpoint)
        assert not any(secret in text for secret in secrets if len(secret) >= 4)


class TestRefusedBeforeTheRun:
    """A key or header HTTP cannot carry is refused when the endpoint is made, value unshown."""

    @pytest.mark.parametrize("bad", [KEY + "\n", KEY + "\r\nX: y", "sk-é-" + KEY, " " + KEY])
    def test_api_key(self, bad: str) -> None:
        with pytest.raises(ValueError, match="api_key") as caught:
            OpenAIChatEndpoint(api_key=bad)
        assert KEY not in str(caught.value)
        assert "sk-" not in str(caught.value)

    def test_api_key_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The message names the variable the key came from."""
        monkeypatch.setenv("OPENAI_API_KEY", KEY + "\n")
        with pytest.raises(ValueError, match=r"\$OPENAI_API_KEY.*line break") as caught:
            OpenAIChatEndpoint()
        assert KEY not in str(caught.value)

    @pytest.mark.parametrize(
        "headers",
        [
            {"X-Auth": KEY + "\n"},
            {"X-Auth": "é" + KEY},
            {"Bad Name " + KEY: "v"},
            {"X:" + KEY: "v"},
        ],
    )
    def test_headers(self, headers: dict[str, str]) -> None:
        with pytest.raises(ValueError, match="extra_headers") as caught:
            OpenAIChatEndpoint(extra_headers=headers)
        assert KEY not in str(caught.value)

    def test_headers_set_later_are_checked_too(self) -> None:
        endpoint = OpenAIChatEndpoint()
        with pytest.raises(ValueError, match="extra_headers"):
            endpoint.extra_headers = {"X-Auth": KEY + "\n"}

    def test_cli_exit_2_one_line(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """At the command line: exit status 2, one line, no key."""
        monkeypatch.setenv("OPENAI_API_KEY", KEY + "\n")
        code = main(["run", "--endpoint", "openai-chat", "--base-url", "http://127.0.0.1:9/v1",
                     "--prompt", "hi", "--n-requests", "1"])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2
        assert len(err.strip().splitlines()) == 1
        assert "api_key" in err and KEY not in err


class TestPrivateOptions:
    """The test-only transport hook is no option a user sees."""

    def test_not_listed(self) -> None:
        listing = describe_endpoints()
        assert "transport " not in listing.replace("http_transport", "")
        assert "_session " not in listing  # (aws_session_token, an installed plugin's, is fine)

    def test_not_accepted_nor_named_in_errors(self) -> None:
        with pytest.raises(ValueError, match="no option") as caught:
            OpenAIChatEndpoint.from_config({"transport": None, "_transport": None})
        assert "'_transport'" not in str(caught.value).split("its options are")[1]


class TestScrubbedErrors:
    """Known secret values are scrubbed from every saved error text."""

    def test_scrubber(self) -> None:
        scrub = scrubber(["abcd1234", 'q"uote\\d', "ab"])
        assert scrub("key abcd1234 and abcd1234!") == "key *** and ***!"
        assert scrub(json.dumps({"h": 'q"uote\\d'})) == '{"h": "***"}'
        assert scrub("about") == "about"  # too short to tell from ordinary text
        assert scrubber([])("text") == "text"

    async def test_echoed_headers_never_saved(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A server echoing the request's headers and URL: its records keep none of the secrets."""
        endpoint = OpenAIChatEndpoint(
            base_url="http://127.0.0.1:9/v1?api_key=query-s3cret",
            api_key=KEY,
            extra_headers={"X-Custom-Auth": "custom-s3cret", "Accept": "application/json"},
            transport=httpx.MockTransport(echo_headers),
        )
        result = await Runner(endpoint, output_path=str(tmp_path)).run(
            payload=PAYLOAD, n_requests=2, run_name="r"
        )
        (record, _) = result.responses
        assert record.error_class is ErrorClass.CLIENT
        assert "Bearer ***" in (record.error or "")
        assert "x-custom-auth" in (record.error or "")  # the header's name is still there
        text = saved_text(tmp_path)
        for secret in (KEY, "custom-s3cret", "query-s3cret"):
            assert secret not in text
            assert all(secret not in (r.error or "") for r in result.responses)

    async def test_exceptions_are_scrubbed(self, autojump_clock: trio.testing.MockClock) -> None:
        """An adapter exception quoting its key (the runner's `except Exception` path)."""

        @attrs.define
        class Leaky(FakeEndpoint):
            api_key: str | None = secret_field()

            async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
                raise RuntimeError(f"Illegal header value b'Bearer {self.api_key}'")

        result = await Runner(Leaky(api_key=KEY)).run(payload={"prompt": "x"}, n_requests=1)
        (record,) = result.responses
        assert record.error == "RuntimeError: Illegal header value b'Bearer ***'"


_TOKEN_CHARS = string.ascii_letters + string.digits + "-_.~+/="
keys = st.text(_TOKEN_CHARS, min_size=12, max_size=40).map(lambda s: "sk-" + s)
header_names = st.sampled_from(["Authorization", "X-Api-Key", "X-Custom-Auth", "X-Team", "Cookie"])


@given(
    key=keys,
    header_values=st.dictionaries(header_names, keys, max_size=3),
    raise_from_transport=st.booleans(),
    cls=st.sampled_from(ALL),
)
def test_a_key_never_reaches_repr_config_or_saved_files(
    tmp_path_factory: pytest.TempPathFactory,
    key: str,
    header_values: dict[str, str],
    raise_from_transport: bool,
    cls: type[Endpoint],
) -> None:
    """Random keys and header values: none appears in repr, to_config, run_config.json or
    responses.jsonl, whether the server echoes them or the transport's error quotes them."""
    secrets = [key, *header_values.values()]

    def answer(request: httpx.Request) -> httpx.Response:
        if raise_from_transport:
            raise httpx.ConnectError(f"cannot send {request.headers.raw!r} to {request.url}")
        return echo_headers(request)

    endpoint = cls(
        api_key=key,
        extra_headers=header_values,
        base_url=f"http://user:{quote(key, safe='')}@127.0.0.1:9/v1?api_key={quote(key, safe='')}",
        transport=httpx.MockTransport(answer),
    )
    folder = tmp_path_factory.mktemp("run")

    stopped: list[str] = []  # a transport that cannot connect: nothing answers at the URL

    async def run() -> None:
        try:
            await Runner(endpoint, output_path=str(folder)).run(
                payload=cls.create_payload("hi"), n_requests=1, run_name="r"
            )
        except EndpointUnreachable as exc:
            stopped.append(str(exc))

    trio.run(run)
    assert bool(stopped) == raise_from_transport
    shown = repr(endpoint) + orjson.dumps(endpoint.to_config()).decode() + "".join(stopped)
    saved = (folder / "r" / "run_config.json").read_text()
    errors = [
        orjson.loads(line)["error"]
        for line in (folder / "r" / "responses.jsonl").read_text().splitlines()
    ]
    assert errors and all(errors)
    for secret in secrets:
        assert secret not in shown
        assert secret not in saved
        assert all(secret not in error for error in errors)
