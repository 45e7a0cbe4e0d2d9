"""JMESPath-style paths: the fast ones agree with jmespath, the others are jmespath."""

from __future__ import annotations

from typing import Any

import jmespath
import pytest
from hypothesis import given
from hypothesis import strategies as st
from llmeter_trio_aws import JsonPath

KEYS = st.sampled_from(["a", "b", "generation", "amazon-bedrock-invocationMetrics", "x y"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


def key_text(key: str) -> str:
    return key if key.isidentifier() else '"' + key + '"'


@st.composite
def simple_paths(draw: st.DrawFn) -> str:
    steps = draw(st.lists(st.one_of(KEYS, st.integers(-3, 3)), min_size=1, max_size=4))
    text = ""
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += ("." if text else "") + key_text(step)
    return text


class TestAgreesWithJmespath:
    @given(simple_paths(), JSON)
    def test_simple_paths(self, expression: str, value: Any) -> None:
        path = JsonPath(expression)
        assert path.simple
        assert path.search(value) == jmespath.search(expression, value)

    @given(simple_paths(), simple_paths(), JSON)
    def test_alternatives(self, first: str, second: str, value: Any) -> None:
        expression = f"{first} || {second}"
        assert JsonPath(expression).search(value) == jmespath.search(expression, value)

    @pytest.mark.parametrize(
        "expression", ["content[].text", "content[?type=='text'].text", "length(content)"]
    )
    def test_other_expressions_use_jmespath(self, expression: str) -> None:
        value = {"content": [{"type": "text", "text": "a"}, {"type": "thinking"}]}
        path = JsonPath(expression)
        assert not path.simple
        assert path.search(value) == jmespath.search(expression, value)


def test_llmeter_paths() -> None:
    """LLMeter's default InvokeModel paths read as it reads them."""
    chunk = {"amazon-bedrock-invocationMetrics": {"outputTokenCount": 7}}
    assert JsonPath('"amazon-bedrock-invocationMetrics".outputTokenCount').search(chunk) == 7
    body = {"choices": [{"message": {"content": "hi"}}]}
    assert JsonPath("choices[0].message.content").search(body) == "hi"


def test_invalid_expression() -> None:
    with pytest.raises(ValueError, match=r"invalid JMESPath expression 'a\[': "):
        JsonPath("a[")
