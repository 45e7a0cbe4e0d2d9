"""An endpoint refuses a base_url no request could reach, when it is made."""

from __future__ import annotations

import pytest

from llmeter_trio.endpoints import OpenAIChatEndpoint


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "base_url is empty"),
        ("   ", "base_url is empty"),
        ("127.0.0.1:8000/v1", "must start with http:// or https://"),
        ("ftp://host/v1", "must start with http:// or https://"),
        ("http:///v1", "names no host"),
        ("http://127.0.0.1:99999/v1", "port 99999"),
        ("http://127.0.0.1:0/v1", "port 0"),
        ("http://127.0.0.1:port/v1", "not a valid URL"),
    ],
)
def test_unusable_base_url_is_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpenAIChatEndpoint(base_url=url)


def test_usable_base_urls_pass() -> None:
    for url in ("http://127.0.0.1:8000/v1", "https://api.example.com/v1", "http://[::1]:80/v1"):
        assert OpenAIChatEndpoint(base_url=url).base_url == url
