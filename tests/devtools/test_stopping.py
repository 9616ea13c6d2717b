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


def _set_during_wait(stop: _Settable, instruction: int, patience: float) -> bool | None:
    """Run ``stop.wait(0)`` in a thread, and call ``stop.set()`` at its ``instruction``-th
    bytecode instruction, as a signal handler would be run there.

    True if ``set`` returned; False if ``wait`` ended before that instruction; None if ``set``
    had not returned after ``patience`` seconds: it waits for a lock its own thread holds.
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
    thread.join(patience)
    return None if thread.is_alive() else outcome[0]


def _instructions_where_set_blocks(make: Callable[[], _Settable], patience: float) -> list[int]:
    for instruction in range(1, 500):
        stop = make()
        outcome = _set_during_wait(stop, instruction, patience)
        if outcome is None:
            return [instruction]  # one blocked thread is proof enough; leave no more behind
        if isinstance(stop, StopFlag):
            stop.close()
        if outcome is False:
            return []
    raise AssertionError("wait(0) ran over 500 instructions")


def test_a_signal_handler_can_set_the_flag_at_any_instruction_of_wait() -> None:
    # generous patience: a slow machine must not pass for a deadlock
    assert _instructions_where_set_blocks(StopFlag, patience=30) == []


def test_the_check_finds_the_trap_of_threading_event() -> None:
    # Why stopping.py exists: Event.set in a signal handler can deadlock its own thread (the
    # poller once hung 90 s on Ctrl-C in CI). This proves the check above can fail.
    assert _instructions_where_set_blocks(threading.Event, patience=2) != []


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
        signal.raise_signal(signal.SIGTERM)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert {number: signal.getsignal(number) for number in SIGNALS} == before
    assert stop.wait(None) is True  # closed: answers at once


def _seconds_until_set(stop: StopFlag, limit: float = 30) -> float:
    """Wait as the commands do, in a loop: a wait may end early, woken but not yet set."""
    started = time.monotonic()
    while not stop.wait(limit) and time.monotonic() - started < limit:
        pass
    assert stop.is_set()
    return time.monotonic() - started


def test_a_signal_wakes_the_main_thread_waiting() -> None:
    with stop_on_signals() as stop:
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
        assert _seconds_until_set(stop) < 10


def test_a_signal_taken_by_another_thread_still_wakes_the_main_thread() -> None:
    # The kernel may hand a process's signal to any of its threads; CPython runs the handler in
    # the main thread, which only a byte on the wakeup fd gets out of its wait.
    def signal_this_thread() -> None:
        time.sleep(0.1)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    with stop_on_signals() as stop:
        threading.Thread(target=signal_this_thread, daemon=True).start()
        assert _seconds_until_set(stop) < 10


def test_a_closed_flag_writes_nowhere() -> None:
    stop = StopFlag()
    stop.close()
    stop.close()
    reader, writer = os.pipe()  # may reuse the closed flag's numbers
    try:
        stop.set()
        os.set_blocking(reader, False)
        with pytest.raises(BlockingIOError):
            os.read(reader, 1)
        assert stop.wait(None) is True
    finally:
        os.close(reader)
        os.close(writer)


def test_a_byte_of_another_signal_wakes_one_wait_only() -> None:
    # As the wakeup fd, the pipe also gets a byte for any other signal Python handles.
    stop = StopFlag()
    try:
        os.write(stop.waker, b"\x0e")
        assert stop.wait(30) is False  # woken, not set
        started = time.monotonic()
        assert stop.wait(0.2) is False
        assert time.monotonic() - started >= 0.15  # waited: the byte was read
    finally:
        stop.close()
