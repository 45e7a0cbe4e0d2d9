"""Storage that fails: full disks, lost permissions, damaged documents, folders in use.

`FullDisk` is a local filesystem (``fulldisk://``) that fills up after a number
of records: the record that does not fit is written in part, then every write
fails with ENOSPC (or another errno), as a real disk does.
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import orjson
import pytest
import trio
import trio.testing
from fsspec.implementations.local import LocalFileSystem

from llmeter_trio import FakeEndpoint, InvocationResponse, LiveProgress, Result, Runner
from llmeter_trio.cli import main
from llmeter_trio.storage import OutputLocationError, read_json, resolve, write_json

ENDPOINT = FakeEndpoint(time_to_first_token=0.001, inter_token_latency=0.0, output_tokens=3)


class _FillingFile:
    """A file on a `FullDisk`: its writes spend the disk's room."""

    def __init__(self, file: Any, path: str) -> None:
        self._file = file
        self._path = path

    def write(self, data: bytes) -> int:
        FullDisk.spend(self._file, self._path, data)
        return int(self._file.write(data))

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class FullDisk(LocalFileSystem):
    """A local disk with room for `records_room` more records in ``responses.jsonl``
    (other files are small: they fit until the records' room is spent)."""

    protocol = "fulldisk"
    records_room: ClassVar[int | None] = None  # None: room for everything
    error: ClassVar[int] = errno.ENOSPC
    full: ClassVar[bool] = False

    @classmethod
    def reset(cls, records_room: int | None, error: int = errno.ENOSPC) -> None:
        cls.records_room, cls.error, cls.full = records_room, error, records_room == 0

    @classmethod
    def spend(cls, file: Any, path: str, data: bytes) -> None:
        """Once the records' room is spent, the next write of any kind fills the disk."""
        is_record = path.endswith("responses.jsonl")
        if not cls.full and cls.records_room is not None:
            if cls.records_room == 0:
                cls.full = True
                if is_record:
                    file.write(data[: len(data) // 2])  # the record that does not fit, in part
                    file.flush()
            elif is_record:
                cls.records_room -= 1
        if cls.full:
            raise OSError(cls.error, os.strerror(cls.error), path)

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        file = super()._open(path, mode, *args, **kwargs)
        writing = any(m in mode for m in "wax")
        return _FillingFile(file, self._strip_protocol(path)) if writing else file

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        if self.full and not self.isdir(path):
            raise OSError(self.error, os.strerror(self.error), path)
        super().makedirs(path, exist_ok=exist_ok)


@pytest.fixture
def full_disk() -> type[FullDisk]:
    fsspec.register_implementation("fulldisk", FullDisk, clobber=True)
    FullDisk.reset(None)
    return FullDisk


def leftovers(folder: Path) -> list[str]:
    """Temporary files an atomic write left behind (none, ever)."""
    return sorted(p.name for p in folder.rglob("*.tmp"))


class TestAtomicDocuments:
    def test_a_failed_write_keeps_the_previous_document(
        self, tmp_path: Path, full_disk: type[FullDisk]
    ) -> None:
        """A disk that fills up mid-write leaves the old document whole, and no temporary file."""
        fs = FullDisk()
        path = f"{tmp_path}/summary.json"
        write_json(fs, path, {"total_requests": 1})
        full_disk.reset(0)
        with pytest.raises(OSError, match="No space left"):
            write_json(fs, path, {"total_requests": 2, "padding": "x" * 10_000})
        assert read_json(LocalFileSystem(), path)["total_requests"] == 1
        assert leftovers(tmp_path) == []

    def test_a_failed_first_write_leaves_no_file(
        self, tmp_path: Path, full_disk: type[FullDisk]
    ) -> None:
        """No 0-byte or half document: a document that could not be written is absent."""
        full_disk.reset(0)
        with pytest.raises(OSError):
            write_json(FullDisk(), f"{tmp_path}/stats.json", {"a": 1})
        assert list(tmp_path.iterdir()) == []

    async def test_every_json_document_of_a_run_goes_through_the_atomic_writer(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Configuration, summary, stats, segment manifest and heatmap: all written whole."""
        from llmeter_trio import storage
        from llmeter_trio.experiments import LatencyHeatmap
        from llmeter_trio.prompts import SAMPLE_TEXT_FILE

        written: list[str] = []
        original = storage.open_atomic

        def recording(fs: Any, path: str) -> Any:
            written.append(path)
            return original(fs, path)

        monkeypatch.setattr(storage, "open_atomic", recording)
        parent = f"memory://atomic-{uuid.uuid4().hex}"
        heatmap = LatencyHeatmap(
            ENDPOINT, SAMPLE_TEXT_FILE, clients=2, output_path=parent, input_lengths=[5],
            output_lengths=[4], seed=1, run_name="h",
        )  # fmt: skip
        await heatmap.run()
        fs, folder = resolve(f"{parent}/h")
        documents = {p for p in fs.find(folder) if p.endswith(".json")}
        assert {posixpath_name(p) for p in documents} == {
            "run_config.json", "summary.json", "stats.json", "manifest.json", "heatmap.json"
        }  # fmt: skip
        assert documents <= set(written)


def posixpath_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


class TestFailureDuringTheRun:
    @pytest.mark.parametrize("error", [errno.ENOSPC, errno.EACCES])
    async def test_storage_failure_stops_the_run_and_keeps_the_first_error(
        self,
        tmp_path: Path,
        full_disk: type[FullDisk],
        error: int,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """The sink's error is raised, not the summary's; the folder loads what was written."""
        full_disk.reset(records_room=5, error=error)
        progress = LiveProgress()
        runner = Runner(ENDPOINT, output_path=f"fulldisk://{tmp_path}")
        with pytest.raises(OSError) as raised:
            await runner.run(
                payload={"prompt": "x"}, clients=2, n_requests=50, run_name="full",
                progress=progress,
            )  # fmt: skip
        assert raised.value.errno == error
        assert raised.value.filename.endswith("responses.jsonl")  # not summary.json's error
        assert progress.started < 100  # the load stopped
        folder = tmp_path / "full"
        assert not (folder / "summary.json").exists()  # saving it failed too, and left nothing
        assert leftovers(tmp_path) == []
        loaded = Result.load(str(folder))
        assert loaded.interrupted
        assert len(loaded.responses) == loaded.total_requests == 5  # the 6th was cut short

    async def test_a_run_that_fails_only_at_the_end_raises_the_saving_error(
        self, tmp_path: Path, full_disk: type[FullDisk], autojump_clock: trio.testing.MockClock
    ) -> None:
        """Every record fitted, the summary did not: that error is raised, nothing is half."""
        full_disk.reset(records_room=4)
        with pytest.raises(OSError, match="No space left") as raised:
            await Runner(ENDPOINT, output_path=f"fulldisk://{tmp_path}").run(
                payload={"prompt": "x"}, clients=2, n_requests=2, run_name="end"
            )
        assert not raised.value.filename.endswith("responses.jsonl")
        loaded = Result.load(str(tmp_path / "end"))
        assert loaded.interrupted and loaded.total_requests == 4
        assert leftovers(tmp_path) == []

    @pytest.mark.realtime
    def test_cli_says_so_in_one_line(
        self, tmp_path: Path, full_disk: type[FullDisk], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`llmeter-trio run` on a disk that fills up: one error line, no traceback, exit 1."""
        full_disk.reset(records_room=3)
        code = main(
            ["run", "--endpoint", "fake", "--prompt", "x", "--clients", "2", "--n-requests",
             "50", "--option", "time_to_first_token=0.001", "--option", "inter_token_latency=0",
             "--output", f"fulldisk://{tmp_path}/cli"]
        )  # fmt: skip
        err = capsys.readouterr().err
        assert code == 1
        assert "Traceback" not in err
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1, err
        assert "No space left on device" in errors[0]
        assert f"{tmp_path}/cli keeps what was saved so far" in errors[0]
        loaded = Result.load(str(tmp_path / "cli"))
        assert loaded.interrupted and loaded.total_requests == 3


class Counting(FakeEndpoint):
    sent: ClassVar[int] = 0

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        Counting.sent += 1
        return await super().invoke(payload)


class TestOutputCheckedFirst:
    @pytest.mark.parametrize("where", ["under a file", "full disk", "no permission"])
    async def test_unwritable_output_is_refused_before_any_request(
        self,
        tmp_path: Path,
        full_disk: type[FullDisk],
        where: str,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Not a folder, a full disk, no permission: an OutputLocationError, nothing sent."""
        (tmp_path / "file.txt").write_text("not a folder")
        output = {
            "under a file": str(tmp_path / "file.txt"),
            "full disk": f"fulldisk://{tmp_path}",
            "no permission": f"fulldisk://{tmp_path}",
        }[where]
        full_disk.reset(0, errno.EACCES if where == "no permission" else errno.ENOSPC)
        Counting.sent = 0
        with pytest.raises(OutputLocationError, match="cannot write the run folder") as raised:
            await Runner(Counting(), output_path=output).run(payload={"prompt": "x"}, run_name="r")
        assert isinstance(raised.value, ValueError)
        assert "no request was sent" in str(raised.value)
        assert Counting.sent == 0

    @pytest.mark.realtime
    @pytest.mark.parametrize("where", ["under a file", "full disk"])
    def test_cli_refuses_it_in_one_line_with_exit_2(
        self,
        tmp_path: Path,
        full_disk: type[FullDisk],
        capsys: pytest.CaptureFixture[str],
        where: str,
    ) -> None:
        """`llmeter-trio run --output file.txt/run`: one clear line, exit 2, no progress line."""
        (tmp_path / "file.txt").write_text("not a folder")
        if where == "full disk":
            full_disk.reset(0)
            output = f"fulldisk://{tmp_path}/run"
        else:
            output = str(tmp_path / "file.txt" / "run")
        code = main(["run", "--endpoint", "fake", "--prompt", "x", "--output", output])
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1 and err.startswith("llmeter-trio run: error: cannot write")
        assert "req/s" not in err  # no progress line: the run never started


class TestFoldersInUse:
    async def _run(self, parent: str, name: str, n_requests: int) -> Result:
        return await Runner(ENDPOINT, output_path=parent).run(
            payload={"prompt": name}, n_requests=n_requests, run_name=name
        )

    async def test_save_into_another_runs_folder_is_refused(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Result.save never mixes two runs' files: FileExistsError, the folder untouched."""
        first = await self._run(str(tmp_path), "a", 2)
        second = await self._run(str(tmp_path), "b", 3)
        before = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
        with pytest.raises(FileExistsError, match="already holds another run"):
            second.save(tmp_path / "a")
        assert {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()} == before
        assert Result.load(str(tmp_path / "a")).stats == first.stats

    async def test_overwrite_replaces_the_other_run(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """overwrite=True: the folder then holds only the saved result's run."""
        await self._run(str(tmp_path), "a", 4)
        second = await self._run(str(tmp_path), "b", 3)
        second.save(tmp_path / "a", overwrite=True)
        loaded = Result.load(str(tmp_path / "a"))
        assert loaded.total_requests == len(loaded.responses) == 3
        assert loaded.run_config == second.run_config

    async def test_saving_a_run_into_its_own_folder_again_is_allowed(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The same run (same run_config.json) may be saved again, live or loaded back."""
        result = await self._run(str(tmp_path), "a", 2)
        result.save()
        Result.load(str(tmp_path / "a")).save()
        low = Result.load(str(tmp_path / "a"), load_responses=False)
        low.save(tmp_path / "a")
        assert Result.load(str(tmp_path / "a")).stats == result.stats

    @pytest.mark.parametrize("document", ["run_config.json", "summary.json", "stats.json"])
    async def test_a_run_is_refused_a_folder_holding_any_run_document(
        self, tmp_path: Path, document: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Not only records: any run document in the folder refuses a new run, before sending."""
        (tmp_path / "r").mkdir()
        (tmp_path / "r" / document).write_bytes(b"{}")
        Counting.sent = 0
        with pytest.raises(FileExistsError, match="already holds a run"):
            await Runner(Counting(), output_path=str(tmp_path)).run(
                payload={"prompt": "x"}, run_name="r"
            )
        assert Counting.sent == 0

    @pytest.mark.realtime
    def test_cli_refuses_a_folder_holding_a_summary(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`llmeter-trio run --output DIR` where DIR holds a summary.json: exit 2, one line."""
        (tmp_path / "r").mkdir()
        (tmp_path / "r" / "summary.json").write_bytes(b"{}")
        assert (
            main(["run", "--endpoint", "fake", "--prompt", "x", "--output", f"{tmp_path}/r"]) == 2
        )
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "already holds a run" in err


class TestDamagedDocuments:
    async def _finished_run(self, tmp_path: Path) -> Path:
        await Runner(ENDPOINT, output_path=str(tmp_path)).run(
            payload={"prompt": "x"}, clients=2, n_requests=3, run_name="run"
        )
        return tmp_path / "run"

    @pytest.mark.parametrize("damage", ["missing", "empty", "not json", "a list"])
    @pytest.mark.parametrize("load_responses", [True, False])
    async def test_damaged_stats_are_recomputed_with_a_warning(
        self,
        tmp_path: Path,
        damage: str,
        load_responses: bool,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """A missing or damaged stats.json beside good records: recomputed, with a warning."""
        folder = await self._finished_run(tmp_path)
        expected = Result.load(str(folder)).stats
        stats = folder / "stats.json"
        if damage == "missing":
            stats.unlink()
        else:
            stats.write_bytes({"empty": b"", "not json": b'{"cut', "a list": b"[]"}[damage])
        with pytest.warns(UserWarning, match=r"stats.json.*recomputed from the records"):
            loaded = Result.load(str(folder), load_responses=load_responses)
        assert loaded.stats == expected
        assert not loaded.interrupted

    @pytest.mark.parametrize("name", ["summary.json", "run_config.json"])
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "an empty file"),
            (b'{"total_requests": ', "not JSON"),
            (b'{"schema_version": "1"}', "schema_version must be a whole number"),
            (b'{"schema_version": 1, "clients": "many", "endpoint_config": {}}', "not a run"),
        ],
    )
    async def test_other_damaged_documents_are_errors_naming_the_file(
        self,
        tmp_path: Path,
        name: str,
        content: bytes,
        message: str,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """A 0-byte, cut or ill-typed document: a ValueError naming the file and the problem."""
        folder = await self._finished_run(tmp_path)
        (folder / name).write_bytes(content)
        with pytest.raises(ValueError, match=rf"{name}: {message}") as raised:
            Result.load(str(folder))
        assert str(folder / name) in str(raised.value)

    async def test_a_bad_record_names_file_and_line_and_a_cut_last_one_is_skipped(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Records are read line by line: line numbers in errors, a crash-cut last line dropped."""
        folder = await self._finished_run(tmp_path)
        records = folder / "responses.jsonl"
        lines = records.read_bytes().splitlines(keepends=True)
        records.write_bytes(b"".join(lines) + lines[0][:20])  # a crash mid-record
        assert len(Result.load(str(folder)).responses) == 6
        lines[1] = orjson.dumps({"time_to_first_token": "soon"}) + b"\n"
        records.write_bytes(b"".join(lines))
        with pytest.raises(ValueError, match=r"responses.jsonl, line 2: not a response record"):
            Result.load(str(folder))

    @pytest.mark.parametrize(
        ("name", "load"),
        [
            ("heatmap.json", "llmeter_trio.experiments:LatencyHeatmapResult"),
            ("sweep.json", "llmeter_trio.experiments:SweepResult"),
        ],
    )
    def test_damaged_experiment_documents_name_the_file(
        self, tmp_path: Path, name: str, load: str
    ) -> None:
        """A heatmap layout or sweep index missing its fields: a ValueError naming the file."""
        import importlib

        module, cls = load.split(":")
        (tmp_path / name).write_bytes(b'{"schema_version": 1, "steps": [{}]}')
        with pytest.raises(ValueError, match=rf"{tmp_path}/{name}: not a"):
            getattr(importlib.import_module(module), cls).load(str(tmp_path))
