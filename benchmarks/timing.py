"""Timing of contenders in one process: interleaved rounds, garbage collector off while timed.

Every round runs each contender once, in a rotating order, so that a noisy neighbour on a
shared machine slows all of them alike. The figure of a contender is the minimum over the
rounds (the run least disturbed by anything else); the median is kept alongside.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Timing", "compare", "time_once"]


@dataclass(frozen=True)
class Timing:
    """Seconds taken by one contender over several rounds."""

    samples: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


Clock = Callable[[], float]


def time_once(run: Callable[[], object], clock: Clock = time.perf_counter) -> float:
    """Seconds one call of ``run`` takes, with the garbage collector off (collected before)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        run()
        return clock() - start
    finally:
        if was_enabled:
            gc.enable()


def compare(
    contenders: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    warmup: int = 1,
    clock: Clock = time.perf_counter,
) -> dict[str, Timing]:
    """Time every contender ``rounds`` times, interleaved; ``warmup`` untimed calls first.

    ``clock`` is wall time by default; ``time.thread_time`` leaves out the time other
    processes took the CPU away (useful on a busy machine, where it is steadier).
    """
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(time_once(contenders[name], clock))
    return {name: Timing(tuple(values)) for name, values in samples.items()}
