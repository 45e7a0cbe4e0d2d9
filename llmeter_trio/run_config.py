"""`RunConfig`: everything that defines one run, saved as ``run_config.json``."""

from __future__ import annotations

from typing import Any

import attrs

from .endpoints import Endpoint, scrub_secrets
from .endpoints._base import mask_url
from .slo import SLO, parse_slos
from .stats import PercentileMethod, check_percentile_method

__all__ = ["RunConfig"]


@attrs.frozen(kw_only=True)
class RunConfig:
    """The settings of one run, as saved with it and loaded back.

    The endpoint and tokenizer are kept as their saved configurations (never
    with secrets); `endpoint()` rebuilds the endpoint through the plugins.
    """

    endpoint_config: dict[str, Any]
    tokenizer_config: dict[str, Any] | None = None
    clients: int = 1
    n_requests: int | None = None
    run_duration: float | None = None
    timeout: float | None = None
    drain_timeout: float | None = None
    seed: int = 0
    run_name: str | None = None
    run_description: str | None = None
    low_memory: bool = False
    output_path: str | None = None  # the run folder
    payload: list[dict[str, Any]] = attrs.field(factory=list)
    payload_order: str = "shuffle"  # or "once": each payload sent exactly once, in order
    schedule: dict[str, Any] | None = None  # an open-loop schedule's config; None: closed loop
    warmup_requests: int | None = None
    warmup_seconds: float | None = None
    cooldown_requests: int | None = None
    cooldown_seconds: float | None = None
    lag_tolerance: float = 0.025  # seconds of schedule or event-loop lag (p99) before a warning
    rate_tolerance: float = 0.05  # achieved rate below intended by more than this: a warning
    slos: list[str] = attrs.field(factory=list)  # e.g. ["ttft_p99<=500ms"]: goodput in the stats
    preconnect: bool = True  # connections opened before the clock starts (False: cold starts)
    # "linear" (type 7) or "llmeter" (statistics.quantiles' exclusive rule, LLMeter's numbers)
    percentile_method: PercentileMethod = attrs.field(
        default="linear", validator=lambda _i, _a, v: check_percentile_method(v)
    )
    # Ctrl-C / SIGTERM: "raise" RunInterrupted (with the partial result) or "return" the result
    on_interrupt: str = "raise"
    # the Prometheus page scraped during the run, saved masked (no credentials), and how often
    server_metrics: str | None = attrs.field(default=None, converter=mask_url)
    server_metrics_interval: float = 1.0
    # worker processes that sent the load together (None: this process alone)
    workers: int | None = None
    # a retry policy's options (`Retry.to_config`); None: failed requests are not sent again
    retry: dict[str, Any] | None = None
    # a closed-loop client told Retry-After waits that long before its next request
    respect_retry_after: bool = True
    # multi-turn sessions (`llmeter_trio.workloads.Sessions.to_config`); None: single requests
    sessions: dict[str, Any] | None = None

    def parsed_slos(self) -> list[SLO]:
        """The run's SLOs, parsed."""
        return parse_slos(self.slos)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "endpoint_config", scrub_secrets(self.endpoint_config))

    def endpoint(self) -> Endpoint:
        """The endpoint this run used, rebuilt (secrets come from the environment).

        Through `Endpoint.load`: a run read from LLMeter's folder (its class name
        kept as ``"llmeter:<class>"``) is rebuilt by the class of that name here.
        """
        return Endpoint.load(self.endpoint_config)
