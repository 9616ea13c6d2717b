"""How the figures write what they measured: seconds as ms or us, a batch's mix of records."""

from __future__ import annotations

from benchmarks.workload import Workload

__all__ = ["mix", "ms", "us"]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} us"


def mix(batch: Workload) -> str:
    counts = batch.counts()
    return ", ".join(f"{counts[name]:,} {name}" for name in counts if counts[name])
