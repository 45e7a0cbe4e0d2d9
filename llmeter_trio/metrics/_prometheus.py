"""Reading a Prometheus text page (``GET /metrics``) into samples, with prometheus-client."""

from __future__ import annotations

import attrs

__all__ = ["MetricSample", "parse_metrics"]


@attrs.frozen
class MetricSample:
    """One sample of a metrics page: ``vllm:num_requests_running{model_name="m"} 3``."""

    metric: str  # the sample's name as the page writes it (counters keep ``_total``)
    labels: dict[str, str]
    value: float


def parse_metrics(text: str) -> list[MetricSample]:
    """Every sample of a Prometheus text-format page, in page order.

    Needs the ``metrics`` extra (``pip install 'llmeter-trio[metrics]'``). A
    page that is not in the text format is a ValueError.
    """
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading server metrics needs prometheus-client: pip install 'llmeter-trio[metrics]'"
        ) from None
    try:
        return [
            MetricSample(sample.name, dict(sample.labels), float(sample.value))
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]
    except (ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"not a Prometheus metrics page ({exc})") from None
