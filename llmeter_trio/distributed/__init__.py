"""One run across several worker processes (this host) or Ray actors: split, start, stop, merge."""

from ._coordinator import WorkerFailed
from ._shard import (
    Executor,
    ShardControl,
    ShardLost,
    ShardProgress,
    ShardReport,
    ShardSpec,
    run_shard,
    shard_folder,
)

__all__ = [
    "Executor",
    "ShardControl",
    "ShardLost",
    "ShardProgress",
    "ShardReport",
    "ShardSpec",
    "WorkerFailed",
    "run_shard",
    "shard_folder",
]
