"""One run across several worker processes (this host) or Ray actors: split, start, stop, merge."""

from ._shard import (
    Executor as Executor,
    ShardControl as ShardControl,
    ShardLost as ShardLost,
    ShardProgress as ShardProgress,
    ShardReport as ShardReport,
    ShardSpec as ShardSpec,
    run_shard as run_shard,
    shard_folder as shard_folder,
)

__all__ = [
    "Executor",
    "ShardControl",
    "ShardLost",
    "ShardProgress",
    "ShardReport",
    "ShardSpec",
    "run_shard",
    "shard_folder",
]
