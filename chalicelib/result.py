"""What handling one record gives back: its log lines, and its slow work as a value.

A reaction (:mod:`chalicelib.reactions`) returns a :class:`Result`; the runner
(:mod:`chalicelib.runner`) writes its lines in record order, runs its :class:`Slow` work
(with other records' slow work at the same time) and writes what that work's outcome says,
still in record order. Nothing here does anything: these are plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Line", "Result", "Slow"]


class Line(NamedTuple):
    """One log line, ready to write: its level (``logging.INFO``...) and its text."""

    level: int
    text: str


class Slow(NamedTuple):
    """The slow part of a record's handling (a network call), not yet done.

    ``run`` is called on a worker thread, at the same time as other records' runs; ``then``
    is given what ``run`` returned, on the batch's thread, in record order, and says what
    came of it (more lines, an outcome). Either may raise to fail the record. Slow work with
    the same ``key`` never runs at the same time as another with it.
    """

    run: Callable[[], Any]
    then: Callable[[Any], Result]
    key: str | None = None


class Result(NamedTuple):
    """A record's handling: ``lines`` to write, then ``slow`` work, if any, then ``error``.

    ``error`` fails the record once its lines are written (a line that says what was seen
    before the failure). ``outcome`` names what the reaction did, for the invocation's counts
    (``email_sent``, ``email_skipped``...; see :class:`chalicelib.runner.Outcomes`).
    """

    lines: tuple[Line, ...] = ()
    slow: Slow | None = None
    error: Exception | None = None
    outcome: str | None = None
