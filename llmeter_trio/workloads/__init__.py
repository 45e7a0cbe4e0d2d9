"""Workloads that look like production: length distributions, synthetic prompts, datasets,
shared prefixes and multi-turn sessions.

What a workload asked of each request (its input and output lengths, its
prefix group, ...) rides in the payload under `WORKLOAD_KEY` and ends up on
the request's record, beside what the server served.
"""

from ._distributions import Distribution as Distribution
from ._distributions import Empirical as Empirical
from ._distributions import Fixed as Fixed
from ._distributions import LogNormal as LogNormal
from ._distributions import Normal as Normal
from ._distributions import Uniform as Uniform
from ._distributions import distribution_from_config as distribution_from_config
from ._distributions import parse_distribution as parse_distribution
from ._metadata import WORKLOAD_KEY as WORKLOAD_KEY
from ._metadata import keep_workload as keep_workload
from ._metadata import split_workload as split_workload
from ._metadata import with_workload as with_workload
from ._sessions import Sessions as Sessions
from ._sessions import sessions_from_config as sessions_from_config

__all__ = [
    "WORKLOAD_KEY",
    "Distribution",
    "Empirical",
    "Fixed",
    "LogNormal",
    "Normal",
    "Sessions",
    "Uniform",
    "distribution_from_config",
    "keep_workload",
    "parse_distribution",
    "sessions_from_config",
    "split_workload",
    "with_workload",
]
