"""Ctrl-C and SIGTERM for the long-running tools: the first asks for a clean stop, the second
stops at once.

A Python signal handler runs in the main thread, between two of its instructions, possibly while
that thread holds a lock. ``threading.Event.set`` takes the event's lock. So a handler that sets
an ``Event`` the main thread is waiting on (``stop.wait(0.5)`` in a loop) can wait forever for a
lock its own thread holds. The tool then hangs, and a second Ctrl-C hangs in the same place.
CPython reports the same trap for ``multiprocessing.Event`` (python/cpython#126434).

:class:`StopFlag` is set without taking any lock: a plain attribute, and a byte written to a pipe
that :meth:`StopFlag.wait` polls, so that a waiting thread wakes at once.
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
    ``threading.Event``'s, and no lock taken by any of them. It is never cleared.

    ``wait`` wakes when a byte reaches the flag's pipe: ``set`` writes one, and so does CPython
    when a signal arrives, once the pipe is its wakeup fd (:func:`stop_on_signals`). So a main
    thread waiting here wakes to run the handler even when the signal went to another thread.
    """

    def __init__(self) -> None:
        self._set = False
        self._closed = False
        self._wake, self.waker = os.pipe()  # never inherited by child processes (PEP 446)
        os.set_blocking(self._wake, False)
        os.set_blocking(self.waker, False)

    def set(self) -> None:
        self._set = True
        if not self._closed:
            with contextlib.suppress(BlockingIOError):  # full: woken already
                os.write(self.waker, b"\0")

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """Block until set or for ``timeout`` seconds; True if set. Unlike ``Event.wait`` it may
        return False early, woken by another signal: wait in a loop, as ``Event`` users do."""
        if not self._set and not self._closed:
            readable = select.poll()
            readable.register(self._wake, select.POLLIN)
            if readable.poll(None if timeout is None else max(0.0, timeout) * 1000):
                # Another signal's byte, or ours before its handler ran (set() writes again):
                # read, lest the next wait return at once.
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake, 512)
        return self._set

    def close(self) -> None:
        """Release the pipe; from here ``wait`` no longer blocks and ``set`` only sets."""
        if not self._closed:
            self._closed = True
            os.close(self._wake)
            os.close(self.waker)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopFlag]:
    """A :class:`StopFlag` that SIGINT and SIGTERM set; the next one raises ``KeyboardInterrupt``.

    From the main thread only, as ``signal.signal``. The handlers and wakeup fd before are
    restored on the way out.
    """
    stop = StopFlag()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {number: signal.signal(number, interrupt) for number in SIGNALS}
    previous_wakeup = signal.set_wakeup_fd(stop.waker, warn_on_full_buffer=False)
    try:
        yield stop
    finally:
        try:
            signal.set_wakeup_fd(previous_wakeup)
            for number, handler in previous.items():
                # None: a handler installed from C, which Python cannot put back
                signal.signal(number, signal.SIG_DFL if handler is None else handler)
        finally:
            stop.close()
