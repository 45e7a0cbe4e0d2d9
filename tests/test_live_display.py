"""The rich live display, its throttle, and when Runner.run draws it (in virtual time)."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from rich.console import Console

from llmeter_trio import FakeEndpoint, LiveProgress, Runner
from llmeter_trio.cli import main
from llmeter_trio.experiments._load_test import LoadTest
from llmeter_trio.experiments._quota import Quota
from llmeter_trio.experiments._sweep import Sweep
from llmeter_trio.live import (
    DEFAULT_DISPLAY_STATS,
    MAX_SHARE,
    _Throttle,
    display_label,
    display_wanted,
    run_with_progress,
)

from ._support.notebooks import executed

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich not installed (no `live` extra): the plain display."""
    monkeypatch.setitem(sys.modules, "rich.console", None)


def endpoint() -> FakeEndpoint:
    return FakeEndpoint(time_to_first_token=1.0, inter_token_latency=0.0, output_tokens=2)


def frames(text: str) -> list[list[str]]:
    """What each redraw of rich's live display showed, as plain lines."""
    shown = []
    for frame in re.split(r"(?:\x1b\[2K\x1b\[1A)*\x1b\[2K", text):
        lines = [line for line in ESCAPE.sub("", frame).replace("\r", "").split("\n") if line]
        if lines:
            shown.append(lines)
    return shown


async def rich_run(width: int, **run_options: Any) -> list[list[str]]:
    """Two clients, 10 one-second requests each, drawn on a fake terminal of `width`."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, color_system=None)
    progress = LiveProgress()

    async def run() -> None:
        await Runner(endpoint()).run(
            payload={"prompt": "x"}, clients=2, n_requests=10, progress=progress, **run_options
        )

    await run_with_progress(run, progress, console=console, label="level 1/3:  2 clients")
    return frames(out.getvalue())


class TestRichDisplay:
    async def test_bar_figures_and_statistics(self, autojump_clock: trio.testing.MockClock) -> None:
        """The level, the bar, requests done, in flight, then LLMeter's default statistics."""
        shown = await rich_run(120, progress_bar_stats=DEFAULT_DISPLAY_STATS)
        final = shown[-1]
        assert final[0].startswith("level 1/3:  2 clients ━")
        assert "20/20 req" in final[0] and "0 errors" in final[0] and "0 in flight" in final[0]
        assert any("2 in flight" in frame[0] for frame in shown[:-1])
        statistics = " ".join(final[1:])
        for label in DEFAULT_DISPLAY_STATS:
            assert f"{label}=" in statistics
        assert "p50_ttft=1.000 s" in statistics and "fail=0" in statistics

    async def test_fits_the_terminal_width(self, autojump_clock: trio.testing.MockClock) -> None:
        """No line is wider than the terminal, narrow or wide."""
        for width in (60, 100):
            shown = await rich_run(width, progress_bar_stats=DEFAULT_DISPLAY_STATS)
            assert max(len(line) for frame in shown for line in frame) <= width

    async def test_redraws_are_throttled(self, autojump_clock: trio.testing.MockClock) -> None:
        """A 10 s run redrawn at most every 0.25 s: at most 40 redraws, the final one, and
        rich's own as it stops."""
        shown = await rich_run(100)
        assert 20 <= len(shown) <= 42


class TestThrottle:
    def test_a_costly_redraw_waits_longer(self) -> None:
        """A redraw that cost 0.1 s waits 0.1 / MAX_SHARE before the next one."""
        throttle = _Throttle(0.25)
        throttle.spent(now=5.0, cost=0.1)
        assert not throttle.due(5.0 + 0.1 / MAX_SHARE - 0.01)
        assert throttle.due(5.0 + 0.1 / MAX_SHARE)

    def test_a_cheap_redraw_waits_the_interval(self) -> None:
        throttle = _Throttle(0.25)
        throttle.spent(now=1.0, cost=0.0001)
        assert not throttle.due(1.2) and throttle.due(1.25)


class TestWhenRunnerDraws:
    async def test_off_a_terminal_nothing_by_default(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        await Runner(endpoint()).run(payload={"prompt": "x"}, n_requests=3)
        assert err.getvalue() == ""

    @pytest.mark.usefixtures("no_rich")
    async def test_on_a_terminal_by_default_from_python(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Runner.run alone draws the display when stderr is a terminal (plain without rich)."""
        err = Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        await Runner(endpoint()).run(payload={"prompt": "x"}, n_requests=3)
        assert "3/3 req" in err.getvalue()

    @pytest.mark.parametrize(
        "option",
        [{"show_progress": False}, {"disable_clients_progress_bar": True}],
    )
    async def test_turned_off(
        self,
        option: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """show_progress=False, or LLMeter's disable_clients_progress_bar=True, hide it."""
        err = Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        await Runner(endpoint()).run(payload={"prompt": "x"}, n_requests=3, **option)
        assert err.getvalue() == ""

    async def test_shown_anywhere_when_asked(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        """show_progress=True off a terminal: a plain line every 5 s and at the end, with
        the label `display_label` gives."""
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        with display_label("step 3: rate 2"):
            await Runner(endpoint(), show_progress=True).run(payload={"prompt": "x"}, n_requests=12)
        lines = err.getvalue().splitlines()
        assert [line.split()[-2] for line in lines[:2]] == ["5.0", "10.0"]
        assert all(line.startswith("step 3: rate 2  [") for line in lines)
        assert "12/12 req" in lines[-1]

    async def test_one_display_for_a_run_inside_another(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Within run_with_progress (the CLI's, a LoadTest's), Runner.run draws no second one."""
        out = io.StringIO()
        progress = LiveProgress()

        async def run() -> None:
            await Runner(endpoint(), show_progress=True).run(
                payload={"prompt": "x"}, n_requests=3, progress=progress
            )

        await run_with_progress(run, progress, stream=out)
        assert len(out.getvalue().splitlines()) == 1

    def test_on_in_a_notebook(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """In a Jupyter kernel the display is on though stderr is no terminal."""
        assert not display_wanted(None, io.StringIO())
        ZMQInteractiveShell = type("ZMQInteractiveShell", (), {})
        fake = types.SimpleNamespace(get_ipython=lambda: ZMQInteractiveShell())
        monkeypatch.setitem(sys.modules, "IPython", fake)
        assert display_wanted(None, io.StringIO())
        assert not display_wanted(False, io.StringIO())


class TestExperimentsShowTheirLevel:
    async def test_sweep_step_label(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        sweep = Sweep(
            endpoint(), {"prompt": "x"}, slos=["ttft_p50<=2s"], start=1, max_load=1,
            requests_per_step=12, schedule="constant", show_progress=True,
        )  # fmt: skip
        await sweep.run()
        assert err.getvalue().splitlines()[-1].startswith("step 1: rate 1  [####")

    async def test_quota_step_label_by_default_on_a_terminal(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        err = Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        monkeypatch.setitem(sys.modules, "rich.console", None)
        quota = Quota(
            endpoint(), {"prompt": "x"}, start_requests_per_minute=60, max_requests_per_minute=60,
            step_duration=6,
        )  # fmt: skip
        await quota.run()
        assert "step 1: 60.0 rpm  [" in err.getvalue()


class FakeHandle:
    def __init__(self, pages: list[str], page: Any) -> None:
        self.pages = pages
        pages.append(page.data)

    def update(self, page: Any) -> None:
        self.pages.append(page.data)


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A Jupyter kernel, as IPython shows it: the pages shown in one output, in order."""
    ZMQInteractiveShell = type("ZMQInteractiveShell", (), {})
    pages: list[str] = []
    shown = types.SimpleNamespace(
        HTML=lambda data: types.SimpleNamespace(data=data),
        display=lambda page, display_id: FakeHandle(pages, page),
    )
    ipython = types.SimpleNamespace(get_ipython=lambda: ZMQInteractiveShell(), display=shown)
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", shown)
    return pages


class TestNotebook:
    async def test_one_output_updated_in_place(
        self,
        notebook: list[str],
        monkeypatch: pytest.MonkeyPatch,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """In a notebook Runner.run shows its display by default, in one output it updates,
        as HTML; nothing goes to stderr."""
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        await Runner(endpoint()).run(
            payload={"prompt": "x"}, n_requests=4, progress_bar_stats={"fail": "failed_requests"}
        )
        assert len(notebook) >= 4 and err.getvalue() == ""
        assert notebook[-1].startswith("<!DOCTYPE html>") or "<pre" in notebook[-1]
        assert "4/4 req" in notebook[-1] and "fail=0" in notebook[-1]

    @pytest.mark.usefixtures("no_rich")
    async def test_plain_without_rich(
        self, notebook: list[str], autojump_clock: trio.testing.MockClock
    ) -> None:
        await Runner(endpoint()).run(payload={"prompt": "x"}, n_requests=4)
        assert notebook[-1].startswith("<pre>[####################]     4/4 req")


class TestLoadTest:
    @pytest.mark.parametrize("option", [{"show_progress": False}, {"progress_bar_stats": {}}])
    async def test_hidden_on_a_terminal(
        self,
        option: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """A LoadTest's display hidden is hidden, though Runner.run would show one there."""
        err = Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        load_test = LoadTest(endpoint(), {"prompt": "x"}, [1, 2], min_requests_per_run=2, **option)
        await load_test.run()
        assert err.getvalue() == ""

    @pytest.mark.usefixtures("no_rich")
    async def test_shows_its_level(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        err = Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        load_test = LoadTest(endpoint(), {"prompt": "x"}, [1, 2], min_requests_per_run=2)
        await load_test.run()
        assert err.getvalue().count("level 2/2:    2 clients  [####################]") == 1


class TestDefaultStatistics:
    async def test_in_place_shows_llmeters_default_set(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """progress_bar_stats=None on a terminal: LLMeter's default statistics."""
        final = (await rich_run(120))[-1]
        assert "rpm=" in " ".join(final[1:]) and "p90_ttlt=" in " ".join(final[1:])

    async def test_an_empty_selection_shows_none(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        assert len((await rich_run(120, progress_bar_stats={}))[-1]) == 1


class TestCommandLine:
    def test_no_progress_hides_the_display(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`llmeter-trio run --no-progress`: the summary, and nothing on stderr."""
        args = ["run", "--endpoint", "fake", "--prompt", "hi", "--n-requests", "3",
                "--option", "time_to_first_token=0", "--option", "inter_token_latency=0",
                "--output", str(tmp_path / "run")]  # fmt: skip
        assert main([*args, "--no-progress"]) == 0
        captured = capsys.readouterr()
        assert "3 requests" in captured.out and captured.err == ""


@pytest.mark.realtime
def test_in_a_real_jupyter_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run in a Jupyter kernel, under trio or awaited on the kernel's asyncio loop, shows
    its display as one HTML output, updated in place."""
    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    code = (
        "import trio\n"
        "from llmeter_trio import FakeEndpoint, Runner\n"
        "runner = Runner(FakeEndpoint(time_to_first_token=0.01, output_tokens=4))\n"
        "result = trio.run(lambda: runner.run(payload={'prompt': 'hi'}, n_requests=5))\n"
    )
    awaited = "result = await runner.run(payload={'prompt': 'hi'}, n_requests=7)\n"  # asyncio
    cells = [nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(awaited)]
    notebook = executed(nbformat.v4.new_notebook(cells=cells), tmp_path, timeout=120)
    for cell, final in zip(notebook.cells, ("5/5 req", "7/7 req"), strict=True):
        shown = [o for o in cell.outputs if o.output_type == "display_data"]
        assert len(shown) == 1  # one output, updated in place to the final display
        assert final in shown[0].data["text/html"]
