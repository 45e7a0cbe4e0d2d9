"""Workloads that look like production: length distributions, synthetic prompts, datasets,
shared prefixes and multi-turn sessions.

`SyntheticWorkload` draws each request's input and output lengths from
distributions and cuts its prompt to exactly that input length under the
run's tokenizer; with `SharedPrefixes`, N prefixes each lead M requests, to
test a server's prefix cache.

What a workload asked of each request (its input and output lengths, its
prefix group, ...) rides in the payload under `WORKLOAD_KEY` and ends up on
the request's record, beside what the server served.
"""

from ._asked_served import describe_asked_served as describe_asked_served
from ._datasets import Dataset as Dataset
from ._datasets_read import FORMATS as DATASET_FORMATS
from ._datasets_rows import ColumnMap as ColumnMap
from ._datasets_rows import DatasetRow as DatasetRow
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
from ._prefixes import SharedPrefixes as SharedPrefixes
from ._sessions import Sessions as Sessions
from ._sessions import sessions_from_config as sessions_from_config
from ._synthetic import SyntheticPrompt as SyntheticPrompt
from ._synthetic import SyntheticWorkload as SyntheticWorkload

__all__ = [
    "DATASET_FORMATS",
    "WORKLOAD_KEY",
    "ColumnMap",
    "Dataset",
    "DatasetRow",
    "Distribution",
    "Empirical",
    "Fixed",
    "LogNormal",
    "Normal",
    "SharedPrefixes",
    "SyntheticPrompt",
    "SyntheticWorkload",
    "Sessions",
    "Uniform",
    "describe_asked_served",
    "distribution_from_config",
    "keep_workload",
    "parse_distribution",
    "sessions_from_config",
    "split_workload",
    "with_workload",
]
