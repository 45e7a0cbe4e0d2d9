"""`Quota`: the requests and tokens per minute an endpoint lets through before it throttles.

A managed API (Bedrock, OpenAI, Anthropic, Azure) enforces a quota, requests
and tokens per minute, as token buckets: a bucket holds up to a minute of
budget and refills at the budget's pace, and a request it cannot cover gets
429. `Quota` offers an open-loop rate that grows step by step
(`start_requests_per_minute`, times `growth`, ...) until the share of 429s in
a step passes `threshold`. In that step the buckets are empty from the first
429 on, so what the endpoint admitted from then to the step's last request
*is* the refill pace: the sustainable requests and tokens per minute.

A bucket starts with a minute of budget, so a step a little above the quota
is throttled only once that minute is spent; the steps run back to back (one
run each, saved as ``{output_path}/{test_name}/step-NN-{rpm}rpm/``, with
``quota.json`` beside them), so the buckets drain over the steps. When the
first 429 came in the second half of the step, the window is short: the same
rate runs once more, throttled from its start, and that step is measured.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Literal

import attrs

from .._checks import check_number
from .._loops import runs_on_any_loop
from ..callbacks._experiment import open_experiment
from ..endpoints import Endpoint, ErrorClass, InvocationResponse
from ..engine import LiveProgress, Runner
from ..engine._payloads import PayloadInput
from ..live import display_label, run_with_progress
from ..plugins import schedule_from_config
from ..results import Result
from ..schedules import OpenLoopSchedule
from ..storage import exists, read_json, resolve, write_json
from ..tokenizers import Tokenizer
from ._names import experiments

__all__ = ["Quota", "QuotaResult", "QuotaStep", "Throttled", "admitted_once_throttled"]

QUOTA_FILE = "quota.json"


def _is_throttled(response: InvocationResponse) -> bool:
    return response.status_code == 429 or response.error_class is ErrorClass.THROTTLED


def _tokens(response: InvocationResponse) -> int:
    return (response.num_tokens_input or 0) + (response.num_tokens_output or 0)


@attrs.frozen
class Throttled:
    """What an endpoint admitted from its first 429 to the last request of a run."""

    requests_per_minute: float
    tokens_per_minute: float
    seconds: float  # how long the window was


def admitted_once_throttled(responses: Sequence[InvocationResponse]) -> Throttled | None:
    """Requests and tokens per minute admitted from the first 429 to the last request sent.

    None when no request was throttled, or they span no time.
    """
    sent = sorted(
        (r for r in responses if r.send_time is not None), key=lambda r: r.send_time or 0.0
    )
    first = next((r for r in sent if _is_throttled(r)), None)
    if first is None:
        return None
    start, end = first.send_time, sent[-1].send_time
    assert start is not None and end is not None
    if end <= start:
        return None
    window = [r for r in sent if r.send_time is not None and start <= r.send_time < end]
    admitted = [r for r in window if not r.failed]
    minutes = (end - start) / 60.0
    return Throttled(
        requests_per_minute=len(admitted) / minutes,
        tokens_per_minute=sum(_tokens(r) for r in admitted) / minutes,
        seconds=end - start,
    )


@attrs.define
class QuotaStep:
    """One offered rate and what came of it."""

    requests_per_minute: float  # offered
    throttled_share: float  # 429s among the step's requests
    admitted_requests_per_minute: float  # what got through, over the whole step
    result: Result


@attrs.define
class Quota:
    """Raises the offered rate until the endpoint throttles; reports what it sustains.

    Each step offers `requests_per_minute` (open loop, a `schedule` by name:
    ``constant`` by default) for `step_duration` seconds; the next step offers
    `growth` times more, up to `max_requests_per_minute`. The first step whose
    share of 429s passes `threshold` ends the search (repeated once when it was
    throttled only in its second half), and the requests and tokens per minute
    the endpoint admitted once it throttled are the quota
    (`QuotaResult.requests_per_minute`, `QuotaResult.tokens_per_minute`).
    Each step shows a live display on stderr when it is a terminal (or in a
    notebook); ``show_progress=True`` shows it anywhere, ``False`` never:

        quota = Quota(endpoint, payload, start_requests_per_minute=60)
        result = await quota.run(output_path="outputs")
        print(result.summary())
    """

    endpoint: Endpoint
    payload: PayloadInput
    start_requests_per_minute: float = 60.0
    growth: float = 1.5
    max_requests_per_minute: float = 60_000.0
    step_duration: float = 60.0
    threshold: float = 0.05
    schedule: str = "constant"
    output_path: str | os.PathLike[str] | None = None
    test_name: str | None = None
    tokenizer: Tokenizer | None = None
    timeout: float = 60.0
    seed: int = 0
    show_progress: bool | None = None
    workers: int | Literal["auto"] | None = None  # worker processes per step (`Runner`'s)
    executor: Literal["local", "ray"] = "local"  # where the workers run (`Runner`'s)
    ray_address: str | None = None
    ray_resources: Mapping[str, float] | None = None
    callbacks: Sequence[Any] | None = None  # given to every step's run

    def __attrs_post_init__(self) -> None:
        check_number("start_requests_per_minute", self.start_requests_per_minute)
        check_number("growth", self.growth, above=1)
        check_number(
            "max_requests_per_minute",
            self.max_requests_per_minute,
            at_least=self.start_requests_per_minute,
        )
        check_number("step_duration", self.step_duration)
        check_number("threshold", self.threshold, at_least=0, at_most=1)
        check_number("timeout", self.timeout)
        schedule_from_config({"schedule": self.schedule, "rate": 1.0})  # a schedule by rate

    def rates(self) -> list[float]:
        """The offered requests per minute of each step, if none throttles."""
        rates, rate = [], self.start_requests_per_minute
        while rate < self.max_requests_per_minute:
            rates.append(rate)
            rate *= self.growth
        return [*rates, self.max_requests_per_minute]

    @runs_on_any_loop
    async def run(self, output_path: str | os.PathLike[str] | None = None) -> QuotaResult:
        """Step up until throttled (or the highest rate); every step is saved as it ends."""
        name = self.test_name or datetime.now().strftime("%Y%m%d-%H%M%S")
        parent = output_path if output_path is not None else self.output_path
        folder = None if parent is None else posixpath.join(os.fspath(parent), name)
        runner = experiments().Runner(
            self.endpoint,
            output_path=folder,
            tokenizer=self.tokenizer,
            seed=self.seed,
            workers=self.workers,
            executor=self.executor,
            ray_address=self.ray_address,
            ray_resources=self.ray_resources,
        )
        steps: list[QuotaStep] = []
        settings = {"start_requests_per_minute": self.start_requests_per_minute,
                    "growth": self.growth, "max_requests_per_minute": self.max_requests_per_minute,
                    "step_duration": self.step_duration, "threshold": self.threshold,
                    "schedule": self.schedule, "seed": self.seed}  # fmt: skip
        async with open_experiment("quota", name, folder, settings):
            for rate in self.rates():
                steps.append(await self._step(runner, rate, len(steps)))
                if steps[-1].throttled_share > self.threshold:
                    window = admitted_once_throttled(steps[-1].result.responses)
                    if window is None or window.seconds < self.step_duration / 2:
                        # throttled late in the step: measure again, throttled from the start
                        steps.append(await self._step(runner, rate, len(steps)))
                    break
        quota = QuotaResult.from_steps(steps, self.threshold, name, folder)
        if folder is not None:
            quota.save_index()
        return quota

    async def _step(self, runner: Runner, rate: float, number: int) -> QuotaStep:
        """One step: `rate` requests per minute for `step_duration` seconds."""
        schedule = schedule_from_config({"schedule": self.schedule, "rate": rate / 60.0})
        assert isinstance(schedule, OpenLoopSchedule)
        progress = LiveProgress()
        step = partial(
            runner.run,
            payload=self.payload,
            schedule=schedule,
            run_duration=self.step_duration,
            run_name=f"step-{number:02d}-{rate:g}rpm",
            timeout=self.timeout,
            progress=progress,
            progress_bar_stats={},
            callbacks=self.callbacks,
        )
        label = f"step {number + 1}: {rate:,.1f} rpm"
        if self.show_progress:
            result: Result = await run_with_progress(step, progress, label=label)
        else:
            with display_label(label):
                result = await step(show_progress=self.show_progress)
        return _summarize_step(rate, result, self.step_duration)


def _summarize_step(rate: float, result: Result, duration: float) -> QuotaStep:
    responses = result.responses
    total = len(responses)
    throttled = sum(_is_throttled(r) for r in responses)
    admitted = sum(not r.failed for r in responses)
    return QuotaStep(
        requests_per_minute=rate,
        throttled_share=throttled / total if total else 0.0,
        admitted_requests_per_minute=admitted / duration * 60.0,
        result=result,
    )


@attrs.define
class QuotaResult:
    """The steps of a `Quota` search, and the quota it found.

    `requests_per_minute` and `tokens_per_minute` are what the endpoint
    admitted once it throttled (None when no step passed the threshold: the
    quota lies above the highest rate offered).
    """

    steps: list[QuotaStep]
    threshold: float
    test_name: str
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    output_path: str | None = None

    @classmethod
    def from_steps(
        cls, steps: list[QuotaStep], threshold: float, test_name: str, output_path: str | None
    ) -> QuotaResult:
        """The result of `steps`, the quota measured in the last one if it throttled."""
        found = None
        if steps and steps[-1].throttled_share > threshold:
            found = admitted_once_throttled(steps[-1].result.responses)
        return cls(
            steps=steps,
            threshold=threshold,
            test_name=test_name,
            requests_per_minute=found.requests_per_minute if found else None,
            tokens_per_minute=found.tokens_per_minute if found else None,
            output_path=output_path,
        )

    @property
    def highest_unthrottled(self) -> float | None:
        """The highest offered requests per minute with 429s at or under the threshold."""
        rates = [s.requests_per_minute for s in self.steps if s.throttled_share <= self.threshold]
        return max(rates) if rates else None

    def summary(self) -> str:
        """A table of the steps and the quota, for people."""
        lines = [f"{'offered rpm':>12} {'admitted rpm':>13} {'429s':>7}"]
        for step in self.steps:
            lines.append(
                f"{step.requests_per_minute:>12,.1f} {step.admitted_requests_per_minute:>13,.1f} "
                f"{step.throttled_share:>7.1%}"
            )
        if self.requests_per_minute is None:
            highest = self.steps[-1].requests_per_minute if self.steps else 0.0
            lines.append(
                f"no throttling up to {highest:,.1f} requests per minute "
                "(raise max_requests_per_minute to look further)"
            )
        else:
            tokens = self.tokens_per_minute or 0.0
            lines.append(
                f"sustainable: {self.requests_per_minute:,.1f} requests per minute, "
                f"{tokens:,.0f} tokens per minute"
            )
        return "\n".join(lines)

    def plot(
        self,
        output_path: str | os.PathLike[str] | None = None,
        format: Literal["html", "png"] = "html",
    ) -> dict[str, Any]:
        """Admitted against offered requests per minute, the 429 share, the quota marked."""
        from ._quota_plot import quota_figures

        figures = quota_figures(self)
        if output_path is not None:
            from ..plotting._files import save_figures

            save_figures(figures, os.fspath(output_path), format)
        return figures

    def save_index(self) -> None:
        """Write ``quota.json``: the steps, their folders, and the quota found."""
        assert self.output_path is not None
        fs, folder = resolve(self.output_path)
        document = {
            "test_name": self.test_name,
            "threshold": self.threshold,
            "requests_per_minute": self.requests_per_minute,
            "tokens_per_minute": self.tokens_per_minute,
            "steps": [
                {
                    "requests_per_minute": s.requests_per_minute,
                    "throttled_share": s.throttled_share,
                    "admitted_requests_per_minute": s.admitted_requests_per_minute,
                    "run_name": s.result.run_name,
                }
                for s in self.steps
            ],
        }
        write_json(fs, posixpath.join(folder, QUOTA_FILE), document)

    @classmethod
    def load(cls, path: str | os.PathLike[str], load_responses: bool = False) -> QuotaResult:
        """Load a saved quota search (its steps' results too)."""
        url = os.fspath(path)
        fs, folder = resolve(url)
        index_path = posixpath.join(folder, QUOTA_FILE)
        if not exists(fs, index_path):
            raise FileNotFoundError(f"{url} holds no {QUOTA_FILE}: not a quota folder")
        index = read_json(fs, index_path)
        try:
            steps = [
                QuotaStep(
                    requests_per_minute=s["requests_per_minute"],
                    throttled_share=s["throttled_share"],
                    admitted_requests_per_minute=s["admitted_requests_per_minute"],
                    result=Result.load(
                        posixpath.join(url, s["run_name"]), load_responses=load_responses
                    ),
                )
                for s in index["steps"]
            ]
            return cls(
                steps=steps,
                threshold=index["threshold"],
                test_name=index["test_name"],
                requests_per_minute=index["requests_per_minute"],
                tokens_per_minute=index["tokens_per_minute"],
                output_path=url,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{index_path}: not a quota index ({exc!r})") from None
