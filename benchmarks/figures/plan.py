"""How much the figures measure: rounds, fresh processes, batch sizes and the clock."""

from __future__ import annotations

import time
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

    @classmethod
    def chosen(cls, *, quick: bool, cpu_clock: bool) -> Plan:
        """The full plan, or with ``quick`` the rougher one; thread CPU time with ``cpu_clock``."""
        return cls(
            rounds=5 if quick else 15,
            coldstart_runs=10 if quick else 40,
            scaling_sizes=(10, 100, 1000) if quick else (10, 100, 300, 1000),
            email_records=200 if quick else 1000,
            email_serial_records=40 if quick else 200,
            pipeline_records=200 if quick else 500,
            pipeline_latency_samples=30 if quick else 100,
            clock=time.thread_time if cpu_clock else time.perf_counter,
        )
