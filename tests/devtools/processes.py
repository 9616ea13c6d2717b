"""Running the project's commands as a person does: real processes, output read line by line."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.emulator import FAKE_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = Path(sys.executable).parent / "aws"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(FAKE_CREDENTIALS)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_module(module: str, *argv: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``python -m module argv...`` from the project, to its end; its output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Running:
    """A process whose stdout lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str], group: bool = False) -> None:
        # group: a process group of its own (make and its child), signalled as a whole
        self.group = group
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=group,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        stderr = self.process.stderr.read() if self.process.poll() is not None else ""  # type: ignore[union-attr]
        raise AssertionError(f"not seen; output so far: {self.seen[-20:]}\n{stderr}")

    def signal(self, number: int) -> None:
        if self.group:
            os.killpg(self.process.pid, number)
        else:
            self.process.send_signal(number)

    def interrupt(self, timeout: float = 90) -> int:
        # A poller stops after the batch in flight; on a loaded 2-core machine that batch (its
        # handler, the emulator's lock) has once taken over 30 s, failing a run that was right.
        self.signal(signal.SIGINT)
        code = self.process.wait(timeout)
        self.drain()
        return code

    def drain(self) -> list[str]:
        """Every line read so far (also those no ``wait_for`` looked at)."""
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen


def _json(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
