"""Scraping a server's Prometheus endpoint every second while a run goes on.

A scrape that fails (no answer, an error status, a page that does not parse)
is recorded as a row with an ``error`` and counted, and the next one is tried
on time: server metrics never fail a run. The URL is saved masked (no user
info, no credential-named query values), and errors never repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import trio

from .._checks import check_number
from ..endpoints._base import _url_credentials, mask_url, scrubber
from ._known import server_of
from ._prometheus import parse_metrics
from ._series import SeriesFile
from ._summary import RoleSeries, role_values, summarise_roles

__all__ = ["SERVER_METRICS_FILE", "ServerMetricsScraper", "check_server_metrics"]

SERVER_METRICS_FILE = "server_metrics.jsonl"
_MAX_ERRORS_KEPT = 5  # distinct error messages kept in the summary
# A page larger than this is parsed in a worker thread: vLLM's, with its histograms, can hold
# thousands of samples (about 30 µs each), enough to hold up the event loop's timestamps
LARGE_PAGE = 32_000  # characters
LAST_SCRAPE_TIMEOUT = 2.0  # seconds the scrape at the end of the load may take


def check_server_metrics(url: object, interval: object) -> None:
    """Refuse a metrics URL or interval no scrape could use, before the run starts.

    The message never repeats the URL, which may carry credentials.
    """
    if not isinstance(url, str):
        raise TypeError(f"server_metrics must be a URL string, not {type(url).__name__}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"server_metrics is not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(
            "server_metrics must be an http(s) URL with a host, e.g. http://127.0.0.1:8000/metrics"
        )
    check_number("server_metrics_interval", interval, above=0)


class ServerMetricsScraper:
    """Scrapes `url` every `interval` seconds until cancelled; keeps what explains a knee.

    Every sample goes to `series` (``server_metrics.jsonl``: ``time``,
    ``metric``, ``labels``, ``value``; a failed scrape is ``time`` and
    ``error``), timed in seconds on the run's clock (`clock` gives them). The
    known gauges and counters (`llmeter_trio.metrics.KNOWN_METRICS`) are kept
    in memory for `summary`.
    """

    def __init__(
        self,
        url: str,
        interval: float,
        clock: Callable[[], float],
        series: SeriesFile | None = None,
    ) -> None:
        self.url = url
        self.interval = interval
        self.clock = clock
        self.series = series
        self.scrapes = 0
        self.failed_scrapes = 0
        self.errors: list[str] = []
        self.roles: RoleSeries = {}
        self.server: str | None = None
        self._scrub = scrubber(_url_credentials(url))

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Scrape on time, each scrape bounded by the interval (at least one second).

        Started with ``nursery.start``, it reports started once the first scrape is
        done, so a run scrapes before its load begins and the counters cover all of it.
        """
        timeout = max(self.interval, 1.0)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            due = trio.current_time()
            while True:
                with trio.move_on_after(timeout):
                    await self.scrape(client)
                task_status.started()
                task_status = trio.TASK_STATUS_IGNORED
                due += self.interval
                now = trio.current_time()
                if due < now:  # a slow scrape: skip the instants it overran
                    due += (now - due) // self.interval * self.interval + self.interval
                await trio.sleep_until(due)

    async def last_scrape(self) -> None:
        """One more scrape as the load ends (bounded by the interval, at most
        `LAST_SCRAPE_TIMEOUT`), so the counters' rates and the prefix-cache hit rate cover
        the whole run, however short it was."""
        timeout = min(max(self.interval, 1.0), LAST_SCRAPE_TIMEOUT)
        with trio.move_on_after(timeout):
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
                await self.scrape(client)

    async def scrape(self, client: httpx.AsyncClient) -> None:
        """One scrape: its samples saved and the known ones kept, or its failure recorded."""
        at = self.clock()
        self.scrapes += 1
        try:
            response = await client.get(self.url)
            if response.status_code != 200:
                raise _Failed(f"HTTP {response.status_code} {response.reason_phrase}")
            text = response.text
            if len(text) > LARGE_PAGE:
                samples = await trio.to_thread.run_sync(parse_metrics, text)
            else:
                samples = parse_metrics(text)
        except (httpx.HTTPError, ValueError, _Failed) as exc:
            self._failed(at, exc)
            return
        except trio.Cancelled:
            self.scrapes -= 1  # cut short by the end of the run: not a failure
            raise
        if self.server is None:
            self.server = server_of({sample.metric for sample in samples})
        for role, value in role_values(samples).items():
            self.roles.setdefault(role, []).append((at, value))
        if self.series is not None:
            self.series.add(
                {"time": at, "metric": s.metric, "labels": s.labels, "value": s.value}
                for s in samples
            )

    def _failed(self, at: float, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, _Failed) else f"{type(exc).__name__}: {exc}"
        message = self._scrub(message)
        self.failed_scrapes += 1
        if message not in self.errors and len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(message)
        if self.series is not None:
            self.series.add([{"time": at, "error": message}])

    def summary(self) -> dict[str, Any]:
        """The scrape counts, the server recognised, the first errors, and the gauges."""
        return {
            "url": mask_url(self.url),
            "interval": self.interval,
            "server": self.server,
            "scrapes": self.scrapes,
            "failed_scrapes": self.failed_scrapes,
            "errors": list(self.errors),
            "gauges": summarise_roles(self.roles),
        }


class _Failed(Exception):
    """A scrape that got an answer, but not a metrics page."""
