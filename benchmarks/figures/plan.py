"""How much the figures measure: rounds, fresh processes, batch sizes and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.timing import Clock

__all__ = ["Plan"]


@dataclass(frozen=True)
class Plan:
    rounds: int  # timed rounds per contender (in-process figures)
    coldstart_runs: int  # fresh processes per app and mode
    scaling_sizes: tuple[int, ...]
    email_records: int
    email_serial_records: int
    pipeline_records: int
    pipeline_latency_samples: int
    clock: Clock
