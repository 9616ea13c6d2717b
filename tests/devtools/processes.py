"""Running the project's commands as a person does: real processes, output read line by line."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.emulator import FAKE_CREDENTIALS
from devtools.processes import ProcessLines

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


class Running(ProcessLines):
    """A process of the project whose stdout lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str], group: bool = False) -> None:
        # group: a process group of its own (make and its child), signalled as a whole
        super().__init__(args, cwd=ROOT, env=env, group=group)

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

    def interrupt(self, timeout: float = 90) -> int:
        # A poller stops after the batch in flight; on a loaded 2-core machine that batch (its
        # handler, the emulator's lock) has once taken over 30 s, failing a run that was right.
        return super().interrupt(timeout)


def _json(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
