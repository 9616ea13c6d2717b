"""A process started with its output read line by line, on a thread, as the lines come."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["ProcessLines"]


class ProcessLines:
    """A started process whose stdout lines (newline removed) are collected as they come.

    ``stderr`` is where its error output goes: a pipe of its own by default, or
    ``subprocess.STDOUT`` to read it among the lines. ``group`` starts the process in a process
    group of its own (``make`` and its child), signalled as a whole.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        stderr: int = subprocess.PIPE,
        group: bool = False,
    ) -> None:
        self.group = group
        self.process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=group,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def signal(self, number: int) -> None:
        if self.group:
            os.killpg(self.process.pid, number)
        else:
            self.process.send_signal(number)

    def interrupt(self, timeout: float) -> int:
        """Ctrl-C (SIGINT), and SIGKILL if it has not exited ``timeout`` seconds later; its
        exit code (negative if killed), once every line it wrote is read (:meth:`drain`)."""
        self.signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()
        self.reader.join(timeout=5)  # to the end of its output
        self.drain()
        return self.process.returncode

    def drain(self) -> list[str]:
        """Every line read so far, in order (``seen``, with what came since the last look)."""
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen
