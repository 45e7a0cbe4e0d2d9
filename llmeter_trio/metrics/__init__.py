"""Server metrics during a run: a Prometheus endpoint scraped every second.

``Runner(..., server_metrics="http://127.0.0.1:8000/metrics")`` scrapes the
server's metrics page while the load runs and saves every sample beside the
records (``server_metrics.jsonl``); `Result.server_metrics` summarises the
gauges that explain a knee (requests running and waiting, KV-cache use, tokens
per second) for vLLM, TGI, SGLang, llama.cpp and the simulated server, and
`Result.stats` has them as ``server_requests_running-max`` and so on;
`read_server_metrics` reads the saved samples back.
Needs the ``metrics`` extra: ``pip install 'llmeter-trio[metrics]'``.
"""

from ._known import KNOWN_METRICS as KNOWN_METRICS
from ._known import Role as Role
from ._prometheus import MetricSample as MetricSample
from ._prometheus import parse_metrics as parse_metrics
from ._read import read_server_metrics as read_server_metrics
from ._scraper import SERVER_METRICS_FILE as SERVER_METRICS_FILE
from ._scraper import ServerMetricsScraper as ServerMetricsScraper
from ._scraper import check_server_metrics as check_server_metrics
from ._summary import describe_server_metrics as describe_server_metrics
from ._summary import role_series as role_series
from ._summary import role_values as role_values
from ._summary import server_stats as server_stats
from ._summary import summarise_roles as summarise_roles

__all__ = [
    "KNOWN_METRICS",
    "MetricSample",
    "Role",
    "SERVER_METRICS_FILE",
    "ServerMetricsScraper",
    "check_server_metrics",
    "describe_server_metrics",
    "parse_metrics",
    "read_server_metrics",
    "role_series",
    "role_values",
    "server_stats",
    "summarise_roles",
]
