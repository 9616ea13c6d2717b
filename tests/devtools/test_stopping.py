"""The stop that Ctrl-C sets: a signal handler must be able to set it at any instruction of the
main thread, and the second Ctrl-C must still get through."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

import pytest

from devtools.stopping import SIGNALS, StopFlag, StopRequest, stop_on_signals


class _Settable(StopRequest, Protocol):
    def set(self) -> None: ...


def _set_during_wait(stop: _Settable, instruction: int) -> bool | None:
    """Run ``stop.wait(0)`` in a thread, and call ``stop.set()`` at its ``instruction``-th
    bytecode instruction, as a signal handler would be run there.

    True if ``set`` returned; False if ``wait`` ended before that instruction; None if ``set``
    did not return within 2 s: it waits for a lock that its own thread holds, forever.
    """
    outcome: list[bool] = []
    count = 0

    def each_instruction(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
            if count == instruction:
                stop.set()  # the trace function itself is not traced
                outcome.append(True)
        return each_instruction

    def run() -> None:
        sys.settrace(each_instruction)
        try:
            stop.wait(0)
        finally:
            sys.settrace(None)
        if not outcome:
            outcome.append(False)

    thread = threading.Thread(target=run, daemon=True)  # left blocked if set() deadlocks
    thread.start()
    thread.join(2)
    return outcome[0] if outcome else None


def _instructions_where_set_blocks(make: Callable[[], _Settable]) -> list[int]:
    blocked: list[int] = []
    for instruction in range(1, 500):
        outcome = _set_during_wait(make(), instruction)
        if outcome is False:
            return blocked
        if outcome is None:
            blocked.append(instruction)
            return blocked  # one blocked thread is proof enough; do not leave more behind
    raise AssertionError("wait(0) ran over 500 instructions")


def test_a_signal_handler_can_set_the_flag_at_any_instruction_of_wait() -> None:
    assert _instructions_where_set_blocks(StopFlag) == []


def test_the_check_finds_the_trap_of_threading_event() -> None:
    # Why stopping.py exists: Event.set in a signal handler can deadlock its own thread (the
    # poller once hung 90 s on Ctrl-C in CI). This proves the check above can fail.
    assert _instructions_where_set_blocks(threading.Event) != []


def test_wait_wakes_when_another_thread_sets_the_flag() -> None:
    stop = StopFlag()
    try:
        threading.Timer(0.1, stop.set).start()
        started = time.monotonic()
        assert stop.wait(30) is True
        assert time.monotonic() - started < 10
        assert stop.wait(0) is True  # and stays set
    finally:
        stop.close()


def test_wait_times_out_unset() -> None:
    stop = StopFlag()
    try:
        assert stop.wait(0.01) is False
        assert not stop.is_set()
    finally:
        stop.close()


def test_the_first_signal_asks_to_stop_the_second_interrupts_and_handlers_are_restored() -> None:
    before = {number: signal.getsignal(number) for number in SIGNALS}
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(10)
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert {number: signal.getsignal(number) for number in SIGNALS} == before
