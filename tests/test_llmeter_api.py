"""LLMeter's Result, InvocationResponse and Endpoint methods and json_utils, as documented."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.endpoints import (
    Chunk,
    Endpoint,
    ErrorClass,
    InvocationResponse,
    OpenAIChatEndpoint,
)
from llmeter_trio.json_utils import llmeter_bytes_decoder, llmeter_default_serializer

FIXTURES = Path(__file__).parent / "fixtures" / "llmeter"
SECRET = "sk-test-0123456789abcdef"
UTC = timezone.utc

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


class TestJsonUtils:
    @given(json_values)
    def test_bytes_round_trip(self, value: Any) -> None:
        """dumps(default=serializer) then loads(object_hook=decoder) gives the value back."""
        text = json.dumps(value, default=llmeter_default_serializer)
        assert json.loads(text, object_hook=llmeter_bytes_decoder) == value

    def test_llmeter_docstring_examples(self) -> None:
        """The examples of LLMeter's json_utils docstrings."""
        assert json.loads(
            '{"__llmeter_bytes__": "/9j/4A=="}', object_hook=llmeter_bytes_decoder
        ) == (b"\xff\xd8\xff\xe0")
        assert json.dumps({"ts": datetime(2024, 1, 1)}, default=llmeter_default_serializer) == (
            '{"ts": "2024-01-01T00:00:00"}'
        )

    def test_each_type(self) -> None:
        """Aware datetimes in UTC with Z to the second; dates, times, paths; str() otherwise."""
        aware = datetime(2024, 1, 1, 12, 0, 0, 999, tzinfo=timezone(timedelta(hours=2)))
        assert llmeter_default_serializer(aware) == "2024-01-01T10:00:00Z"
        assert llmeter_default_serializer(date(2024, 2, 3)) == "2024-02-03"
        assert llmeter_default_serializer(time(4, 5)) == "04:05:00"
        assert llmeter_default_serializer(PurePosixPath("a/b")) == "a/b"
        assert llmeter_default_serializer(b"hi") == {"__llmeter_bytes__": "aGk="}
        assert llmeter_default_serializer(ErrorClass.THROTTLED) == "ErrorClass.THROTTLED"
        assert llmeter_bytes_decoder({"__llmeter_bytes__": "aGk=", "x": 1}) == {
            "__llmeter_bytes__": "aGk=",
            "x": 1,
        }

    def test_to_dict_objects(self) -> None:
        """Objects with to_dict() are written as that dict; anything else from it is refused."""

        class Good:
            def to_dict(self) -> dict[str, int]:
                return {"a": 1}

        class Bad:
            def to_dict(self) -> str:
                return "nope"

        assert json.dumps(Good(), default=llmeter_default_serializer) == '{"a": 1}'
        with pytest.raises(TypeError, match="to_dict"):
            llmeter_default_serializer(Bad())


def record(**fields: Any) -> InvocationResponse:
    return InvocationResponse(
        request_time=datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC),
        input_payload={"image": {"bytes": b"\xff\xd8"}},
        chunks=[Chunk(0.25, tokens=1)],
        **fields,
    )


class TestInvocationResponse:
    def test_to_json_round_trip(self) -> None:
        """to_json writes LLMeter's bytes marker and UTC time; from_json restores the record."""
        original = record(time_to_first_token=0.25, error_class=ErrorClass.THROTTLED, error="429")
        text = original.to_json()
        document = json.loads(text)
        assert document["input_payload"]["image"]["bytes"] == {"__llmeter_bytes__": "/9g="}
        assert document["request_time"] == "2025-01-15T10:00:00Z"
        assert document["time_to_first_token"] == 0.25
        assert InvocationResponse.from_json(text) == original

    def test_to_json_passes_kwargs(self) -> None:
        """Keyword arguments go to json.dumps, as in LLMeter."""
        assert record().to_json(indent=2, sort_keys=True).startswith('{\n  "annotations"')


class TestResult:
    def test_to_dict_and_to_json(self) -> None:
        """to_dict: summary fields with native types; include_responses adds responses and stats."""
        result = Result.load(FIXTURES / "run")
        summary = result.to_dict()
        assert "responses" not in summary and "stats" not in summary
        assert summary["start_time"] == datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)
        assert summary["total_requests"] == 6
        full = result.to_dict(include_responses=True)
        assert len(full["responses"]) == 6 and full["stats"] == result.stats
        assert json.loads(result.to_json())["start_time"] == "2025-01-15T10:00:00Z"
        assert result.to_json(indent=4).startswith('{\n    "total_requests": 6')

    def test_load_responses_later(self) -> None:
        """A result loaded without records reads them on demand; the stats stay the same."""
        lazy = Result.load(FIXTURES / "run", load_responses=False)
        full = Result.load(FIXTURES / "run")
        assert lazy.responses == []
        loaded = lazy.load_responses()
        assert loaded == full.responses == lazy.responses
        assert lazy.stats == full.stats

    def test_load_responses_needs_a_folder(self) -> None:
        """No output_path: ValueError; a folder without records: FileNotFoundError."""
        with pytest.raises(ValueError, match="No output_path set"):
            Result().load_responses()
        stats_only = Result.load(FIXTURES / "stats_only")
        with pytest.raises(FileNotFoundError, match=r"responses\.jsonl"):
            stats_only.load_responses()

    def test_get_dimension(self) -> None:
        """Values of one field across the records, optionally filtered, as LLMeter's."""
        result = Result.load(FIXTURES / "run")
        ttft = result.get_dimension("time_to_first_token")
        assert ttft == [r.time_to_first_token for r in result.responses]
        assert result.get_dimension("time_to_first_token", "error", None) == [
            t for t in ttft if t is not None
        ]
        lazy = Result.load(FIXTURES / "run", load_responses=False)
        assert lazy.get_dimension("time_to_first_token") == ttft  # streamed from the folder
        with pytest.raises(AttributeError, match="no field 'ttft'"):
            result.get_dimension("ttft")

    async def test_low_memory_run(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A low-memory run's records are read back from its folder by load_responses."""
        runner = Runner(FakeEndpoint(), output_path=str(tmp_path), low_memory=True)
        result = await runner.run(payload={"prompt": "hi"}, n_requests=3, run_name="lm")
        assert result.responses == []
        assert len(result.get_dimension("time_to_first_token")) == 3
        assert len(result.load_responses()) == 3


class TestEndpoint:
    def test_to_dict_save_load_without_secrets(self, tmp_path: Path) -> None:
        """save writes to_dict (no key); load rebuilds through the plugin lookup."""
        endpoint = OpenAIChatEndpoint(
            model_id="gpt-x", base_url="http://127.0.0.1:9/v1", api_key=SECRET
        )
        config = endpoint.to_dict()
        assert config["endpoint_type"] == endpoint.endpoint_type
        assert SECRET not in json.dumps(config)
        path = tmp_path / "sub" / "endpoint.json"
        assert endpoint.save(path) == path
        assert SECRET not in path.read_text()
        for source in (path, str(path), config):
            loaded = Endpoint.load(source)
            assert type(loaded) is OpenAIChatEndpoint
            assert loaded.to_dict() == config
        assert Endpoint.load_from_file(path).to_dict() == config
        assert "endpoint_type" in config  # load did not change the dict given

    def test_load_on_a_class_and_any_url(self) -> None:
        """A class's load takes a config without endpoint_type; memory:// works."""
        fake = FakeEndpoint(time_to_first_token=0.5)
        fake.save("memory://endpoints/fake.json")
        assert Endpoint.load("memory://endpoints/fake.json") == fake
        assert FakeEndpoint.load({"time_to_first_token": 0.5}) == fake
        with pytest.raises(ValueError, match="endpoint"):
            Endpoint.load({"time_to_first_token": 0.5})
