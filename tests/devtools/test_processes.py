"""A process's output lines, read as they come: in order, newlines off, stderr apart or among."""

from __future__ import annotations

import subprocess
import sys

from devtools.processes import ProcessLines
from tests.devtools.processes import ROOT, _env

SCRIPT = "import sys; print('one'); print('err', file=sys.stderr); print('two')"


def _finished(lines: ProcessLines) -> list[str]:
    assert lines.process.wait(timeout=30) == 0
    lines.reader.join(timeout=5)
    return lines.drain()


def test_stdout_lines_come_in_order_without_their_newlines():
    lines = ProcessLines([sys.executable, "-c", SCRIPT], cwd=ROOT, env=_env())
    assert _finished(lines) == ["one", "two"]
    assert lines.process.stderr is not None
    assert lines.process.stderr.read() == "err\n"


def test_stderr_can_be_read_among_the_lines():
    flushed = SCRIPT.replace("print('one')", "print('one', flush=True)")
    lines = ProcessLines(
        [sys.executable, "-c", flushed], cwd=ROOT, env=_env(), stderr=subprocess.STDOUT
    )
    assert _finished(lines) == ["one", "err", "two"]
