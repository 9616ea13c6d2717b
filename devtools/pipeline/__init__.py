"""The local event source mapping: reads a DynamoDB stream and invokes a handler as Lambda does.

See :mod:`devtools.pipeline.loop` and :mod:`devtools.pipeline.worker` for the semantics, and
``docs/local-pipeline.md``.
"""

from __future__ import annotations

from devtools.pipeline.checkpoints import (
    Checkpoint,
    CheckpointStore,
    JsonFileCheckpoints,
    MemoryCheckpoints,
)
from devtools.pipeline.context import LambdaContext
from devtools.pipeline.destination import Destination, SqsDestination, failure_record
from devtools.pipeline.events import lambda_record
from devtools.pipeline.loop import Poller
from devtools.pipeline.mapping import DiscoveredHandler, Handler, MappingConfig, discover
from devtools.pipeline.progress import PollerStats, Progress

__all__ = [
    "Checkpoint",
    "CheckpointStore",
    "Destination",
    "DiscoveredHandler",
    "Handler",
    "JsonFileCheckpoints",
    "LambdaContext",
    "MappingConfig",
    "MemoryCheckpoints",
    "Poller",
    "PollerStats",
    "Progress",
    "SqsDestination",
    "discover",
    "failure_record",
    "lambda_record",
]
