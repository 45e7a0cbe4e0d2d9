"""A run's `Result` from what it measured: one place, for one process and for a coordinator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ..endpoints import Endpoint, InvocationResponse
from ..results import Result
from ..stats import RunStats
from ._plan import RunPlan

__all__ = ["run_result"]


def run_result(
    plan: RunPlan,
    endpoint: Endpoint,
    stats: RunStats,
    responses: Sequence[InvocationResponse],
    *,
    wall_start: datetime,
    total_test_time: float,
    first_send: float,
    last_send: float,
    interrupted: bool,
    stop_reason: str | None,
    generator: dict[str, Any],
    generator_series: list[dict[str, Any]],
    server_metrics: dict[str, Any],
) -> Result:
    """The Result of a run that started at `wall_start` (times in seconds from there).

    `n_requests` is, as in LLMeter, what each client sent (open loop: all)
    when the run was bounded by time or ended early; the setting itself stays
    in `run_config`.
    """
    config = plan.config
    n_requests = config.n_requests
    if config.run_duration is not None or interrupted or stop_reason is not None:
        n_requests = plan.n_requests_sent(stats.total_requests)

    def wall(seconds: float) -> datetime | None:
        return wall_start + timedelta(seconds=seconds) if math.isfinite(seconds) else None

    return Result(
        responses=list(responses),
        total_requests=stats.total_requests,
        clients=config.clients,
        n_requests=n_requests,
        total_test_time=total_test_time,
        model_id=endpoint.model_id,
        output_path=config.output_path,
        endpoint_name=endpoint.endpoint_name,
        provider=endpoint.provider,
        run_name=config.run_name,
        run_description=config.run_description,
        start_time=wall_start,
        first_request_time=wall(first_send),
        last_request_time=wall(last_send),
        end_time=wall(total_test_time),
        interrupted=interrupted,
        stop_reason=stop_reason,
        generator=generator,
        generator_series=generator_series,
        server_metrics=server_metrics,
        run_config=config,
        run_stats=stats,
    )
