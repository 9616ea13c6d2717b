"""Ctrl-C and SIGTERM for the long-running tools: the first asks for a clean stop, the second
stops at once.

A Python signal handler runs in the main thread, between two of its instructions, possibly while
that thread holds a lock. ``threading.Event.set`` takes the event's lock. So a handler that sets
an ``Event`` the main thread is waiting on (``stop.wait(0.5)`` in a loop) can wait forever for a
lock its own thread holds. The tool then hangs, and a second Ctrl-C hangs in the same place.
CPython reports the same trap for ``multiprocessing.Event`` (python/cpython#126434).

:class:`StopFlag` is set without taking any lock: a plain attribute, and a byte written to a pipe
that :meth:`StopFlag.wait` selects on, so that a waiting thread wakes at once.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Protocol

__all__ = ["StopFlag", "StopRequest", "stop_on_signals"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest(Protocol):
    """What a loop asks of its stop: a :class:`StopFlag`, or an ``Event`` another thread sets."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class StopFlag:
    """A stop request that a signal handler may set: ``set``, ``is_set`` and ``wait`` as
    ``threading.Event``'s, and no lock taken by any of them. It is never cleared."""

    def __init__(self) -> None:
        self._set = False
        self._wake, self._waker = os.pipe()
        os.set_blocking(self._waker, False)

    def set(self) -> None:
        self._set = True
        with contextlib.suppress(OSError):  # the pipe is full (woken already) or closed
            os.write(self._waker, b"\0")

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """Block until set or for ``timeout`` seconds; True if set."""
        if not self._set:
            select.select([self._wake], [], [], timeout)
        return self._set

    def close(self) -> None:
        for fd in (self._wake, self._waker):
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopFlag]:
    """A :class:`StopFlag` that SIGINT and SIGTERM set; the next one raises ``KeyboardInterrupt``.

    The handlers before are restored on the way out.
    """
    stop = StopFlag()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {number: signal.signal(number, interrupt) for number in SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        stop.close()
