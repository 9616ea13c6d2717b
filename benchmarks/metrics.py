"""Figure 7: the cost of the invocation's metrics line, against Powertools Metrics.

Per invocation: the batch is tallied the same way for both (records by kind, the oldest
creation time, a few outcome events), then written as one EMF line to ``os.devnull``: by
``chalicelib.metrics`` (``write_metrics``), or by Powertools' ``Metrics`` (two dimensions,
every metric added with its unit, ``serialize_metric_set``, ``json.dumps``, the write, then
``clear_metrics``, which is what ``flush_metrics`` does). At import: what each writer adds to
the app's cold start - in a fresh ``python -S`` process with only the project and
site-packages on its path, everything else the app imports is imported first, then the
writer is timed; median of runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from chalicelib.metrics import MILLISECONDS, Tally, write_metrics

__all__ = ["CONTENDERS", "import_seconds", "powertools_line", "users_stream_line"]

ROOT = Path(__file__).resolve().parent.parent
WHERE = ("UsersStream", "dev")
EVENTS = ("welcome_email_sent", "welcome_email_skipped", "welcome_email_duplicate")


def _tally() -> Tally:
    tally = Tally()
    for message in EVENTS:
        tally.event(message)
    return tally


def users_stream_line(event: dict[str, Any], sink: TextIO) -> Callable[[], None]:
    def run() -> None:
        write_metrics(sink, _tally(), event, None, WHERE, finished=True)

    return run


def powertools_line(event: dict[str, Any], sink: TextIO) -> Callable[[], None]:
    from aws_lambda_powertools.metrics import Metrics

    metrics = Metrics(namespace=WHERE[0])

    def run() -> None:
        import time

        values = _tally().values(event["Records"], time.time(), time.perf_counter(), finished=True)
        metrics.add_dimension("FunctionName", "users-stream-dev-handle_user_changes")
        metrics.add_dimension("Stage", WHERE[1])
        for name, value in values.items():
            unit = "Milliseconds" if name in MILLISECONDS else "Count"
            metrics.add_metric(name, unit, value)
        sink.write(json.dumps(metrics.serialize_metric_set(), separators=(",", ":")) + "\n")
        metrics.clear_metrics()

    return run


CONTENDERS = {"users-stream": users_stream_line, "Powertools": powertools_line}

IMPORT_PROBE = """
import sys, time
import chalice.app, chalicelib.batch, chalicelib.changelog, chalicelib.settings
import chalicelib.reactions, chalicelib.ports, chalicelib.logline
start = time.perf_counter()
{statement}
print(time.perf_counter() - start)
"""
STATEMENTS = {
    "users-stream": "import chalicelib.metrics",
    "Powertools": "from aws_lambda_powertools.metrics import Metrics",
}


def import_seconds(name: str, runs: int) -> float:
    """The median time to import ``name``'s metrics writer in a fresh process."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), site))}
    times = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-S", "-c", IMPORT_PROBE.format(statement=STATEMENTS[name])],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(result.stdout))
    return statistics.median(times)
