"""Where a mapping has got to in each shard, kept so that a restarted poller resumes there.

A :class:`Checkpoint` says where reading resumes: after a sequence number (the normal case, once
a batch has been handled), or at one (the first record ever fetched, before anything was
handled, so that a poller killed during its first batch re-reads it). A shard whose every
record has been handled (a closed shard, read to its end) is marked ``drained``; its children
may then be read.

Stores are injected into the poller: :class:`MemoryCheckpoints` for one process,
:class:`JsonFileCheckpoints` to survive a restart (the file is replaced atomically on every
write, so a process killed at any moment leaves either the old or the new checkpoint).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Checkpoint", "CheckpointStore", "JsonFileCheckpoints", "MemoryCheckpoints"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Resume after ``sequence_number`` (at it, when ``inclusive``); ``drained``: all read."""

    sequence_number: str | None
    inclusive: bool = False
    drained: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        if not isinstance(data, dict):
            raise ValueError("a checkpoint must be an object")
        sequence = data.get("sequence_number")
        if sequence is not None and not isinstance(sequence, str):
            raise ValueError("sequence_number must be text")
        return cls(sequence, bool(data.get("inclusive", False)), bool(data.get("drained", False)))


class CheckpointStore(Protocol):
    """Per-shard checkpoints of one mapping."""

    def get(self, shard_id: str) -> Checkpoint | None: ...

    def put(self, shard_id: str, checkpoint: Checkpoint) -> None: ...


class MemoryCheckpoints:
    """Checkpoints in memory (shared by pollers in one process, gone when it exits)."""

    def __init__(self) -> None:
        self._shards: dict[str, Checkpoint] = {}
        self._lock = threading.Lock()

    def get(self, shard_id: str) -> Checkpoint | None:
        with self._lock:
            return self._shards.get(shard_id)

    def put(self, shard_id: str, checkpoint: Checkpoint) -> None:
        with self._lock:
            self._shards[shard_id] = checkpoint

    def snapshot(self) -> dict[str, Checkpoint]:
        with self._lock:
            return dict(self._shards)


class JsonFileCheckpoints(MemoryCheckpoints):
    """Checkpoints in a JSON file, under ``key`` (one file can hold several mappings).

    Layout: ``{"version": 1, "mappings": {key: {shard_id: {sequence_number, inclusive,
    drained}}}}``. Reads once at construction; every :meth:`put` rewrites the file atomically.
    """

    def __init__(self, path: Path | str, key: str) -> None:
        super().__init__()
        self.path = Path(path)
        self.key = key
        self._document = self._read()
        for shard_id, data in self._document["mappings"].get(key, {}).items():
            self._shards[shard_id] = Checkpoint.from_json(data)

    def _read(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "mappings": {}}
        except json.JSONDecodeError:
            raise ValueError(f"{self.path} is not a checkpoint file (not JSON)") from None
        if not isinstance(document, dict) or not isinstance(document.get("mappings"), dict):
            raise ValueError(f"{self.path} is not a checkpoint file")
        return document

    def prune(self, stale: Callable[[str], bool]) -> list[str]:
        """Remove the other mappings whose key is ``stale``; return their keys."""
        with self._lock:
            mappings = self._document["mappings"]
            gone = [key for key in mappings if key != self.key and stale(key)]
            for key in gone:
                del mappings[key]
            if gone:
                self._write()
            return gone

    def put(self, shard_id: str, checkpoint: Checkpoint) -> None:
        with self._lock:
            self._shards[shard_id] = checkpoint
            self._document["mappings"][self.key] = {
                shard: asdict(point) for shard, point in sorted(self._shards.items())
            }
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self._document, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
