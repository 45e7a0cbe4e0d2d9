"""`Sweep`: the highest request rate (or concurrency) an endpoint holds within its SLOs.

The search is monotone: a short baseline at `start`, then the load grows by
`growth` while every SLO is met, then `refine_steps` bisections between the
last load that met the SLOs and the first that did not. Each step is an
ordinary run, saved as ``{output_path}/{test_name}/step-NN-{mode}-{load}/``;
``sweep.json`` beside them records the steps and the knee. A sweep in which
every step met the SLOs found no knee: only that none lies up to `max_load`.
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from .._checks import check_number
from .._loops import runs_on_any_loop
from ..callbacks._experiment import open_experiment
from ..endpoints import Endpoint
from ..engine import Runner
from ..engine._payloads import PayloadInput
from ..engine._plan import MAX_CLIENTS
from ..live import display_label
from ..plugins import schedule_from_config
from ..results import Result
from ..schedules import ClosedLoop, OpenLoopSchedule
from ..slo import parse_slos
from ..storage import exists, read_json, resolve, write_json
from ..tokenizers import Tokenizer

__all__ = ["Sweep", "SweepResult", "SweepStep"]

SWEEP_FILE = "sweep.json"
Mode = Literal["rate", "concurrency"]


@attrs.define
class SweepStep:
    """One load level of a sweep and whether it met every SLO."""

    load: float
    passed: bool
    result: Result
    generator_bottleneck: bool = False


@attrs.define
class Sweep:
    """Finds the knee: the highest load that still meets every SLO.

    `mode` ``"rate"`` offers open-loop load at `start`, `start * growth`, ...
    requests per second (a `schedule` by name, Poisson by default);
    ``"concurrency"`` runs closed-loop clients instead. Each step sends
    `requests_per_step` requests, or runs `duration_per_step` seconds. A step
    in which the load generator itself fell behind does not count as met:
    its numbers describe the generator, not the endpoint. `callbacks` take
    part in every step's run (`current_experiment()` tells them the sweep).
    """

    endpoint: Endpoint
    payload: PayloadInput
    slos: Sequence[str]
    mode: Mode = "rate"
    start: float = 1.0
    max_load: float = 1024.0
    growth: float = 2.0
    refine_steps: int = 3
    requests_per_step: int | None = 100
    duration_per_step: float | None = None
    schedule: str = "poisson"
    warmup_requests: int | None = None
    output_path: str | os.PathLike[str] | None = None
    test_name: str | None = None
    tokenizer: Tokenizer | None = None
    timeout: float = 60.0
    seed: int = 0
    workers: int | Literal["auto"] | None = None  # worker processes per step (`Runner`'s)
    executor: Literal["local", "ray"] = "local"  # where the workers run (`Runner`'s)
    ray_address: str | None = None
    ray_resources: Mapping[str, float] | None = None
    callbacks: Sequence[Any] | None = None  # given to every step's run
    # each step's live display (`Runner`'s show_progress): by default on a terminal or notebook
    show_progress: bool | None = None

    def __attrs_post_init__(self) -> None:
        parse_slos(list(self.slos))  # fail early on a bad SLO
        if not self.slos:
            raise ValueError("a sweep needs at least one SLO to find where the endpoint breaks it")
        if (self.requests_per_step is None) == (self.duration_per_step is None):
            raise ValueError("give requests_per_step or duration_per_step (one of them)")
        check_number("start", self.start)
        check_number("growth", self.growth, above=1)
        most = MAX_CLIENTS if self.mode == "concurrency" else None
        check_number("max_load", self.max_load, at_least=self.start, at_most=most)
        check_number("refine_steps", self.refine_steps, whole=True, at_least=0)
        check_number("requests_per_step", self.requests_per_step, whole=True)
        check_number("duration_per_step", self.duration_per_step)
        if self.mode not in ("rate", "concurrency"):
            raise ValueError(f"mode must be 'rate' or 'concurrency', not {self.mode!r}")

    @runs_on_any_loop
    async def run(self, output_path: str | os.PathLike[str] | None = None) -> SweepResult:
        """Search, step by step; returns every step and the knee."""
        name = self.test_name or datetime.now().strftime("%Y%m%d-%H%M%S")
        parent = output_path if output_path is not None else self.output_path
        folder = None if parent is None else posixpath.join(os.fspath(parent), name)
        steps: list[SweepStep] = []

        async def step(load: float) -> bool:
            steps.append(await self._step(load, len(steps), folder))
            return steps[-1].passed

        async with open_experiment("sweep", name, folder, self._settings()) as experiment:
            await self._search(step)
            result = SweepResult(
                steps=steps,
                mode=self.mode,
                slos=list(self.slos),
                test_name=name,
                output_path=folder,
            )
            if folder is not None:
                result.save_index()
            experiment.summary.update(knee=result.knee, highest_met=result.highest_met)
        return result

    def _settings(self) -> dict[str, Any]:
        """The settings an experiment's callbacks see (each run has the endpoint's)."""
        names = ("mode", "start", "max_load", "growth", "refine_steps", "requests_per_step",
                 "duration_per_step", "schedule", "warmup_requests", "timeout", "seed")  # fmt: skip
        return {"slos": list(self.slos)} | {name: getattr(self, name) for name in names}

    async def _search(self, step: Callable[[float], Awaitable[bool]]) -> None:
        """Baseline, growth, then bisection, as the module says; `step` runs one load."""
        load = self._level(self.start)
        passed = await step(load)
        while passed and load < self.max_load:
            higher = self._level(min(load * self.growth, self.max_load))
            if await step(higher):
                load = higher
                continue
            low, high = load, higher  # bisect between the last pass and the first miss
            for _ in range(self.refine_steps):
                middle = self._level((low + high) / 2)
                if middle in (low, high):
                    break
                low, high = (middle, high) if await step(middle) else (low, middle)
            break

    def _level(self, load: float) -> float:
        return float(max(1, round(load))) if self.mode == "concurrency" else load

    async def _step(self, load: float, number: int, folder: str | None) -> SweepStep:
        runner = Runner(
            self.endpoint,
            output_path=folder,
            tokenizer=self.tokenizer,
            seed=self.seed,
            workers=self.workers,
            executor=self.executor,
            ray_address=self.ray_address,
            ray_resources=self.ray_resources,
            callbacks=self.callbacks,
        )
        options: dict[str, Any] = {
            "payload": self.payload,
            "run_name": f"step-{number:02d}-{self.mode}-{load:g}",
            "timeout": self.timeout,
            "slos": list(self.slos),
            "warmup_requests": self.warmup_requests,
            "run_duration": self.duration_per_step,
        }
        if self.mode == "rate":
            schedule = schedule_from_config({"schedule": self.schedule, "rate": load})
            assert isinstance(schedule, OpenLoopSchedule)
            options.update(schedule=schedule, n_requests=self.requests_per_step)
        else:
            clients = int(load)
            per_client = None
            if self.requests_per_step is not None:
                per_client = math.ceil(self.requests_per_step / clients)
            options.update(schedule=ClosedLoop(clients=clients), n_requests=per_client)
        with display_label(f"step {number + 1}: {self.mode} {load:g}"):
            result = await runner.run(**options, show_progress=self.show_progress)
        bottleneck = bool(result.generator.get("bottleneck"))
        passed = bool(result.stats.get("slos_met")) and not bottleneck
        return SweepStep(load=load, passed=passed, result=result, generator_bottleneck=bottleneck)


@attrs.define
class SweepResult:
    """The steps of a sweep, in the order they ran, and the knee they found."""

    steps: list[SweepStep]
    mode: Mode
    slos: list[str]
    test_name: str
    output_path: str | None = None

    @property
    def highest_met(self) -> float | None:
        """The highest load that met every SLO (None: not even the baseline did)."""
        passed = [s.load for s in self.steps if s.passed]
        return max(passed) if passed else None

    @property
    def knee(self) -> float | None:
        """The highest load that met every SLO, when a higher one did not.

        None when not even the baseline met them, and when every step met
        them: then the sweep found no knee up to the highest load it tried.
        """
        if all(s.passed for s in self.steps):
            return None
        return self.highest_met

    def summary(self) -> str:
        """A table of the steps and the knee, for people."""
        unit = "req/s" if self.mode == "rate" else "clients"
        lines = [f"{'load':>10} {unit:<8} met  TTFT p99    e2e p99 from intended"]
        for step in sorted(self.steps, key=lambda s: s.load):
            stats = step.result.stats
            ttft = stats.get("time_to_first_token-p99")
            e2e = stats.get("time_to_last_token_from_intended-p99")
            verdict = "yes" if step.passed else ("gen" if step.generator_bottleneck else "NO")
            lines.append(f"{step.load:>10g} {'':<8} {verdict:<4} {_ms(ttft):>9} {_ms(e2e):>12}")
        lines.append(self._verdict(unit))
        return "\n".join(lines)

    def _verdict(self, unit: str) -> str:
        highest = self.highest_met
        if highest is None:
            return "knee: none (the baseline missed the SLOs)"
        if self.knee is None:
            return (
                f"no knee up to {highest:g} {unit}: every step met the SLOs "
                "(raise max_load to look further)"
            )
        return f"knee: {self.knee:g} {unit}"

    def plot(
        self,
        output_path: str | os.PathLike[str] | None = None,
        format: Literal["html", "png"] = "html",
    ) -> dict[str, Any]:
        """Latency against load, with the SLO thresholds and the knee marked."""
        from ._sweep_plot import sweep_figures

        figures = sweep_figures(self)
        if output_path is not None:
            from ..plotting._files import save_figures

            save_figures(figures, os.fspath(output_path), format)
        return figures

    def save_index(self) -> None:
        """Write ``sweep.json``: the steps, their folders and verdicts."""
        assert self.output_path is not None
        fs, folder = resolve(self.output_path)
        document = {
            "mode": self.mode,
            "slos": self.slos,
            "test_name": self.test_name,
            "knee": self.knee,
            "steps": [
                {
                    "load": s.load,
                    "passed": s.passed,
                    "generator_bottleneck": s.generator_bottleneck,
                    "run_name": s.result.run_name,
                }
                for s in self.steps
            ],
        }
        write_json(fs, posixpath.join(folder, SWEEP_FILE), document)

    @classmethod
    def load(cls, path: str | os.PathLike[str], load_responses: bool = False) -> SweepResult:
        """Load a saved sweep (its steps' results too)."""
        url = os.fspath(path)
        fs, folder = resolve(url)
        index_path = posixpath.join(folder, SWEEP_FILE)
        if not exists(fs, index_path):
            raise FileNotFoundError(f"{url} holds no {SWEEP_FILE}: not a sweep folder")
        index = read_json(fs, index_path)
        try:
            steps = [(s["load"], s["passed"], s["generator_bottleneck"], s["run_name"])
                     for s in index["steps"]]  # fmt: skip
            mode, slos, test_name = index["mode"], index["slos"], index["test_name"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{index_path}: not a sweep index ({exc!r})") from None
        return cls(
            steps=[
                SweepStep(
                    load=load,
                    passed=passed,
                    generator_bottleneck=bottleneck,
                    result=Result.load(posixpath.join(url, name), load_responses=load_responses),
                )
                for load, passed, bottleneck, name in steps
            ],
            mode=mode,
            slos=slos,
            test_name=test_name,
            output_path=url,
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.1f} ms"
