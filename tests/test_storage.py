"""Saving and loading through fsspec: round trips, segments, crashes, secrets, S3."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import fsspec
import pytest
import trio
import trio.testing
from hypothesis import given

from llmeter_trio import FakeEndpoint, InvocationResponse, Result, Runner
from llmeter_trio.endpoints import headers_field, secret_field
from llmeter_trio.storage import (
    SCHEMA_VERSION,
    SegmentedSink,
    converter,
    iter_responses,
    loads,
    read_json,
    resolve,
    response_line,
    write_json,
)

from ._support.storage import forbid_whole_jsonl_reads
from .strategies import invocation_responses


def memory_url() -> str:
    return f"memory://runs-{uuid.uuid4().hex}"


class TestRecordRoundTrip:
    @given(invocation_responses())
    def test_any_record_survives_a_line(self, response: InvocationResponse) -> None:
        """Every field, chunk timeline and bytes payload value comes back equal."""
        back = converter.structure(loads(response_line(response)), InvocationResponse)
        assert attrs.asdict(back) == attrs.asdict(response)

    def test_bytes_in_payloads_stay_bytes(self) -> None:
        """Binary payload values (images, audio) are saved and restored as bytes."""
        response = InvocationResponse(input_payload={"image": b"\x00\xff", "nested": [{"b": b"z"}]})
        back = converter.structure(loads(response_line(response)), InvocationResponse)
        assert back.input_payload == {"image": b"\x00\xff", "nested": [{"b": b"z"}]}

    def test_timestamps_keep_microseconds(self) -> None:
        """Wall times are saved with full microsecond precision."""
        from datetime import datetime, timezone

        when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
        line = response_line(InvocationResponse(request_time=when))
        assert b"2026-01-02T03:04:05.678901+00:00" in line


class TestRunFolders:
    @pytest.mark.parametrize("where", ["local", "memory"])
    async def test_result_loads_back_whole(
        self, tmp_path: Path, where: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Summary, stats, configuration and records load back equal, local or memory://."""
        parent = str(tmp_path) if where == "local" else memory_url()
        payload = {"prompt": "a b c", "image": b"\x00\xffbytes"}
        result = await Runner(FakeEndpoint(output_tokens=5), output_path=parent).run(
            payload=payload, clients=3, n_requests=4, run_name="r1", run_description="round trip"
        )
        loaded = Result.load(f"{parent}/r1")
        assert loaded.stats == result.stats
        assert loaded.summary() == result.summary()
        assert loaded.run_config == result.run_config
        assert loaded.run_config is not None
        assert loaded.run_config.payload == [payload]
        assert loaded.run_config.endpoint() == FakeEndpoint(output_tokens=5)
        assert [attrs.asdict(r) for r in loaded.responses] == [
            attrs.asdict(r) for r in result.responses
        ]
        assert loaded.responses[0].input_payload == payload

    async def test_object_store_gets_segments_and_manifest(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Non-local storage receives numbered segments, then a complete manifest."""
        monkeypatch.setattr(SegmentedSink, "__init__", _small_segments(SegmentedSink.__init__))
        parent = memory_url()
        await Runner(FakeEndpoint(), output_path=parent).run(
            payload={"prompt": "x"}, clients=2, n_requests=5, run_name="seg"
        )
        fs, folder = resolve(f"{parent}/seg")
        names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{folder}/responses", detail=False))
        assert names == ["manifest.json", *[f"segment-{i:05d}.jsonl" for i in range(4)]]
        manifest = read_json(fs, f"{folder}/responses/manifest.json")
        assert manifest["complete"] is True
        assert [s["records"] for s in manifest["segments"]] == [3, 3, 3, 1]
        assert len(list(iter_responses(fs, folder))) == 10


def _small_segments(init: Any) -> Any:
    def patched(self: SegmentedSink, fs: Any, folder: str, **_: Any) -> None:
        init(self, fs, folder, records_per_segment=3)

    return patched


class TestCrashRecovery:
    async def _killed_run(self, parent: str) -> str:
        """A run folder as a crash leaves it: no summary, no stats."""
        result = await Runner(FakeEndpoint(), output_path=parent).run(
            payload={"prompt": "x"}, clients=2, n_requests=3, run_name="killed"
        )
        assert result.output_path is not None
        fs, folder = resolve(result.output_path)
        fs.rm(f"{folder}/summary.json")
        fs.rm(f"{folder}/stats.json")
        return result.output_path

    async def test_folder_without_summary_loads_as_interrupted(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Whatever records reached storage load, with the run marked interrupted."""
        folder = await self._killed_run(str(tmp_path))
        loaded = Result.load(folder)
        assert loaded.interrupted
        assert loaded.total_requests == 6 == len(loaded.responses)
        assert loaded.clients == 2
        assert loaded.stats["time_to_first_token-p50"] == pytest.approx(0.05)
        low = Result.load(folder, load_responses=False)
        assert low.responses == []
        assert low.stats["total_requests"] == 6

    async def test_truncated_last_line_is_skipped(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A record cut short by a crash is dropped; the others load."""
        folder = await self._killed_run(str(tmp_path))
        path = Path(folder) / "responses.jsonl"
        path.write_bytes(path.read_bytes() + b'{"response_text": "cut sho')
        assert Result.load(folder).total_requests == 6

    async def test_corrupt_line_names_file_and_line(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A damaged record in the middle is an error saying where it is."""
        folder = await self._killed_run(str(tmp_path))
        path = Path(folder) / "responses.jsonl"
        lines = path.read_bytes().split(b"\n")
        lines[2] = b"not json"
        path.write_bytes(b"\n".join(lines))
        with pytest.raises(ValueError, match=r"responses.jsonl, line 3"):
            Result.load(folder)

    def test_nothing_there_is_file_not_found(self, tmp_path: Path) -> None:
        """Loading a folder with no run in it says so."""
        with pytest.raises(FileNotFoundError):
            Result.load(str(tmp_path))

    def test_newer_schema_is_refused_clearly(self, tmp_path: Path) -> None:
        """A document from a newer llmeter-trio asks for an upgrade."""
        fs, folder = resolve(str(tmp_path))
        write_json(fs, f"{folder}/summary.json", {})
        with fs.open(f"{folder}/summary.json", "wb") as f:
            f.write(b'{"schema_version": %d}' % (SCHEMA_VERSION + 1))
        with pytest.raises(ValueError, match="Upgrade llmeter-trio"):
            Result.load(str(tmp_path))


@attrs.define
class KeyedEndpoint(FakeEndpoint):
    """A fake endpoint holding credentials, as real adapters do."""

    api_key: str | None = secret_field()
    extra_headers: dict[str, str] = headers_field()


class TestSecrets:
    async def test_credentials_never_reach_disk(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """API keys and auth headers appear in no saved file and no repr."""
        secret = "sk-SECRET-" + uuid.uuid4().hex
        endpoint = KeyedEndpoint(
            api_key=secret,
            extra_headers={
                "Authorization": f"Bearer {secret}",
                "X-Api-Key": secret,
                "X-Trace": "ok",
            },
        )
        assert secret not in repr(endpoint)
        result = await Runner(endpoint, output_path=str(tmp_path)).run(
            payload={"prompt": "x"}, run_name="s"
        )
        files = list((tmp_path / "s").rglob("*"))
        assert {f.name for f in files} >= {
            "run_config.json",
            "responses.jsonl",
            "summary.json",
            "stats.json",
        }
        for file in files:
            assert secret.encode() not in file.read_bytes(), file
        assert result.run_config is not None
        assert result.run_config.endpoint_config["extra_headers"] == {
            "Authorization": "***",
            "X-Api-Key": "***",
            "X-Trace": "***",
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_bucket() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with one bucket, wired into fsspec's s3 defaults."""
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = dict(fsspec.config.conf.get("s3", {}))
    fsspec.config.conf["s3"] = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    try:
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket="llmeter-test")
        yield "s3://llmeter-test"
    finally:
        fsspec.config.conf["s3"] = saved
        server.stop()


@pytest.mark.s3
class TestS3:
    async def test_run_streams_to_s3_and_loads_back(self, s3_bucket: str) -> None:
        """A run saved to s3:// (a local moto server) loads back with equal stats."""
        endpoint = FakeEndpoint(
            time_to_first_token=0.001, inter_token_latency=0.001, output_tokens=4
        )
        result = await Runner(endpoint, output_path=f"{s3_bucket}/runs").run(
            payload={"prompt": "x y"}, clients=2, n_requests=3, run_name="s3run"
        )
        loaded = Result.load(f"{s3_bucket}/runs/s3run")
        assert loaded.stats == result.stats
        assert len(loaded.responses) == 6
        fs, folder = resolve(f"{s3_bucket}/runs/s3run")
        assert fs.exists(f"{folder}/responses/manifest.json")


def _record(seconds: float) -> InvocationResponse:
    return InvocationResponse(
        response_text="ok", time_to_first_token=seconds, time_to_last_token=2 * seconds
    )


class Counted:
    """Counts RunStats computations: building from records (`of`) and sorting into a dict."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from llmeter_trio.stats import RunStats

        self.built = self.summarized = 0
        of, to_dict = RunStats.of.__func__, RunStats.to_dict  # type: ignore[attr-defined]

        def counted_of(cls: type[RunStats], *args: Any, **kwargs: Any) -> RunStats:
            self.built += 1
            return of(cls, *args, **kwargs)  # type: ignore[no-any-return]

        def counted_to_dict(stats: RunStats, *args: Any) -> dict[str, Any]:
            self.summarized += 1
            return to_dict(stats, *args)

        monkeypatch.setattr(RunStats, "of", classmethod(counted_of))
        monkeypatch.setattr(RunStats, "to_dict", counted_to_dict)

    @property
    def counts(self) -> tuple[int, int]:
        return self.built, self.summarized


class TestStatsAreComputedOnce:
    def test_repeated_access_computes_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Four reads of `stats` (what one CLI run does) sort the columns once."""
        counted = Counted(monkeypatch)
        result = Result(responses=[_record(0.1), _record(0.3)], total_test_time=1.0)
        first = result.stats
        assert [result.stats for _ in range(3)] == [first] * 3
        assert counted.counts == (1, 1)

    def test_changing_the_records_is_noticed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Appending or assigning records recomputes; a change in place waits for refresh_stats."""
        counted = Counted(monkeypatch)
        result = Result(responses=[_record(0.1)])
        assert result.stats["total_requests"] == 1
        result.responses.append(_record(0.2))
        assert result.stats["total_requests"] == 2
        result.responses = [_record(0.5)]
        assert result.stats["time_to_first_token-p50"] == 0.5
        assert counted.counts == (3, 3)
        result.responses[0] = _record(0.7)
        assert result.stats["time_to_first_token-p50"] == 0.5  # not noticed: same length
        result.refresh_stats()
        assert result.stats["time_to_first_token-p50"] == 0.7
        assert counted.counts == (4, 4)

    def test_a_new_total_test_time_summarizes_again_without_recounting(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Rates depend on the run's duration: a new one re-summarizes the same counts."""
        counted = Counted(monkeypatch)
        result = Result(responses=[_record(0.1)], total_test_time=1.0)
        rate = result.stats["requests_per_minute"]
        result.total_test_time = 2.0
        assert result.stats["requests_per_minute"] == rate / 2
        assert counted.counts == (1, 2)

    async def test_a_result_without_records_keeps_its_statistics(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """low_memory results have nothing to recount: refresh_stats leaves their numbers."""
        live = await Runner(FakeEndpoint(), output_path=str(tmp_path)).run(
            payload={"prompt": "x"}, n_requests=3, run_name="low", low_memory=True
        )
        loaded = Result.load(str(tmp_path / "low"), load_responses=False)
        for result in (live, loaded):
            before = result.stats
            result.refresh_stats()
            assert result.stats == before and before["total_requests"] == 3

    async def test_a_live_run_summarizes_once(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The engine's counts are kept: reading the stats of a run never recounts its records."""
        counted = Counted(monkeypatch)
        result = await Runner(FakeEndpoint()).run(payload={"prompt": "x"}, n_requests=4)
        for _ in range(4):
            assert result.stats["total_requests"] == 4
        assert counted.counts == (0, 1)  # the engine's health check read the same stats


class TestRecordsAreStreamed:
    async def test_records_are_read_line_by_line(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """No whole-file read of a JSONL file: loading works with `read()` of .jsonl forbidden."""
        await Runner(FakeEndpoint(), output_path=str(tmp_path)).run(
            payload={"prompt": "x"}, clients=2, n_requests=3, run_name="r"
        )
        forbid_whole_jsonl_reads(monkeypatch)
        assert len(Result.load(str(tmp_path / "r")).responses) == 6
        assert Result.load(str(tmp_path / "r"), load_responses=False, slos=[]).total_requests == 6


def test_only_results_sets_a_results_private_fields() -> None:
    """One place assembles a Result: no other module writes its private fields."""
    import re

    import llmeter_trio

    package = Path(llmeter_trio.__file__).parent
    private = re.compile(r"\._(run_stats|saved_stats|stats_cache|stats_records)\b")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if path.name != "results.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if private.search(line)
    ]
    assert offenders == []
