"""Payload helpers: the shapes each API documents, accepted by the simulated server."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from aws_sim import CLAUDE, LLAMA, exchange
from llmeter_trio_aws import (
    FORMATS,
    converse_payload,
    invoke_payload,
    parse_converse_body,
    parse_model_body,
    sagemaker_chat_payload,
    sagemaker_tgi_payload,
)
from llmeter_trio_aws._payloads import blobs_as_base64

from llmeter_trio.sim import SimConfig

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4 tiny"
CONFIG = SimConfig(output_tokens=3)


class TestConverse:
    def test_blocks(self, tmp_path: Path) -> None:
        """Text, then image and document blocks with base64 bytes; system and maxTokens."""
        report = tmp_path / "Q3 report.v2.pdf"
        report.write_bytes(PDF)
        payload = converse_payload(
            "one two", 50, system_prompt="be brief", images=[PNG], documents=[report, PDF],
            temperature=0.1,
        )  # fmt: skip
        content = payload["messages"][0]["content"]
        assert content[0] == {"text": "one two"}
        assert content[1] == {
            "image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}
        }
        assert content[2]["document"]["format"] == "pdf"
        assert content[2]["document"]["name"] == "Q3 report v2"
        assert content[3]["document"]["name"] == "document-2"
        assert payload["system"] == [{"text": "be brief"}]
        assert payload["inferenceConfig"] == {"maxTokens": 50}
        assert payload["temperature"] == 0.1

    def test_the_simulator_reads_it(self) -> None:
        payload = converse_payload("one two three", 2, system_prompt="four", images=[PNG])
        answer = exchange(CONFIG, f"/model/{CLAUDE}/converse", payload, "bedrock")
        response = parse_converse_body(answer.body).response()
        assert (response.num_tokens_input, response.num_tokens_output) == (4, 2)

    def test_unsupported_image_format(self, tmp_path: Path) -> None:
        bitmap = tmp_path / "x.bmp"
        bitmap.write_bytes(b"BM" + b"\x00" * 10)
        with pytest.raises(ValueError, match=r"Bedrock takes images as gif, jpeg, png, webp, not"):
            converse_payload("x", images=[bitmap])


class TestInvoke:
    def test_anthropic(self) -> None:
        payload = invoke_payload(
            "anthropic", "one two", 20, system_prompt="three", images=[PNG], documents=[PDF]
        )
        assert payload["anthropic_version"] == "bedrock-2023-05-31"
        assert payload["max_tokens"] == 20 and payload["system"] == "three"
        text, image, document = payload["messages"][0]["content"]
        assert text == {"type": "text", "text": "one two"}
        assert image["source"]["media_type"] == "image/png"
        assert document["type"] == "document"
        assert document["source"]["media_type"] == "application/pdf"
        answer = exchange(CONFIG, f"/model/{CLAUDE}/invoke", payload, "bedrock")
        response = parse_model_body(answer.body, FORMATS["anthropic"]).response()
        assert (response.num_tokens_input, response.num_tokens_output) == (3, 3)

    def test_meta(self) -> None:
        payload = invoke_payload("meta", "a b c", 2)
        assert payload == {"prompt": "a b c", "max_gen_len": 2}
        answer = exchange(CONFIG, f"/model/{LLAMA}/invoke", payload, "bedrock")
        response = parse_model_body(answer.body, FORMATS["meta"]).response()
        assert (response.num_tokens_input, response.num_tokens_output) == (3, 2)

    @pytest.mark.parametrize(
        ("family", "expected"),
        [
            ("titan", {"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 9}}),
            ("mistral", {"prompt": "hi", "max_tokens": 9}),
            ("cohere", {"message": "hi", "max_tokens": 9}),
            ("openai", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 9}),
            (
                "nova",
                {
                    "schemaVersion": "messages-v1",
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "inferenceConfig": {"maxTokens": 9},
                },
            ),
        ],
    )
    def test_other_families(self, family: str, expected: dict[str, object]) -> None:
        assert invoke_payload(family, "hi", 9) == expected

    @pytest.mark.parametrize(
        ("family", "option", "message"),
        [
            ("titan", {"images": [PNG]}, "the titan InvokeModel body has no images"),
            ("meta", {"documents": [PDF]}, "the meta InvokeModel body has no documents"),
            ("mistral", {"system_prompt": "x"}, "no system prompt"),
            ("llama", {}, "no InvokeModel payload for the format 'llama'"),
        ],
    )
    def test_what_a_family_cannot_take(
        self, family: str, option: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            invoke_payload(family, "hi", **option)  # type: ignore[arg-type]


class TestSageMaker:
    def test_tgi(self) -> None:
        payload = sagemaker_tgi_payload("a b", 5, stream=True, temperature=0.5)
        assert payload == {
            "inputs": "a b",
            "parameters": {"details": True, "max_new_tokens": 5, "temperature": 0.5},
            "stream": True,
        }
        answer = exchange(CONFIG, "/endpoints/e/invocations", payload, "sagemaker")
        assert parse_model_body(answer.body, FORMATS["tgi"]).response().num_tokens_output == 3

    def test_chat(self) -> None:
        payload = sagemaker_chat_payload("a b", 2, system_prompt="c", stream=True)
        assert payload["stream"] is True and payload["stream_options"] == {"include_usage": True}
        assert payload["messages"][0] == {"role": "system", "content": "c"}
        whole = sagemaker_chat_payload("a b", 2)
        assert "stream" not in whole
        answer = exchange(CONFIG, "/endpoints/e/invocations", whole, "sagemaker")
        response = parse_model_body(answer.body, FORMATS["openai"]).response()
        assert (response.num_tokens_input, response.num_tokens_output) == (2, 2)


def test_blobs_as_base64() -> None:
    """Bytes at any depth become base64 text in a new body; a body without any is itself."""
    body = {"a": [{"b": PNG}, "x"], "c": {"d": bytearray(PDF)}, "e": 1}
    assert blobs_as_base64(body) == {
        "a": [{"b": base64.b64encode(PNG).decode()}, "x"],
        "c": {"d": base64.b64encode(PDF).decode()},
        "e": 1,
    }
    assert body["a"][0]["b"] == PNG  # type: ignore[index]
    plain = {"a": [{"b": "text"}], "c": {"d": 2}}
    assert blobs_as_base64(plain) is plain
