"""Figure 7: the cost of the invocation's metrics line, against Powertools Metrics.

In the handler: the same ``UsersStream`` on the same 100-record batch, with its metrics line
and with ``write_metrics`` replaced by a function that does nothing, interleaved; the cost is
the difference of the best rounds. The writer alone, per invocation: the batch is tallied the
same way for both (records by kind, the oldest creation time, a few outcome events), then
written as one EMF line to ``os.devnull``: by ``chalicelib.metrics`` (``write_metrics``), or by
Powertools' ``Metrics`` (two dimensions, every metric added with its unit,
``serialize_metric_set``, ``json.dumps``, the write, then ``clear_metrics``, which is what
``flush_metrics`` does); each call follows a garbage collection, so caches are cold. At
import: what each writer adds to the app's cold start - in a fresh ``python -S`` process with
only the project and site-packages on its path and no bytecode (every module compiled from
source, as from the deployment zip), everything else the app imports is imported first, then
the writer is timed; median of runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import chalicelib.service
from benchmarks.handler import HANDLER_ENVIRON, RefusingSender
from chalicelib.metrics import MILLISECONDS, metric_values, write_metrics
from chalicelib.runner import Outcomes
from chalicelib.service import UsersStream

__all__ = [
    "CONTENDERS",
    "import_seconds",
    "in_the_handler",
    "powertools_line",
    "users_stream_line",
]

ROOT = Path(__file__).resolve().parent.parent
WHERE = ("UsersStream", "dev")
REACTIONS = ("email_sent", "email_skipped", "email_duplicate")


def _outcomes(event: dict[str, Any]) -> Outcomes:
    """What the runner would have counted for ``event``, every record handled."""
    from chalicelib.records import Change

    outcomes = Outcomes()
    for index, raw in enumerate(event["Records"]):
        outcomes.handled(Change(raw, index), REACTIONS[index % len(REACTIONS)])
    return outcomes


def users_stream_line(event: dict[str, Any], sink: TextIO) -> Callable[[], None]:
    outcomes = _outcomes(event)

    def run() -> None:
        write_metrics(sink, outcomes, None, WHERE)

    return run


def powertools_line(event: dict[str, Any], sink: TextIO) -> Callable[[], None]:
    from aws_lambda_powertools.metrics import Metrics

    metrics = Metrics(namespace=WHERE[0])
    outcomes = _outcomes(event)

    def run() -> None:
        import time

        values = metric_values(outcomes, time.time())
        metrics.add_dimension("FunctionName", "users-stream-dev-handle_user_changes")
        metrics.add_dimension("Stage", WHERE[1])
        for name, value in values.items():
            unit = "Milliseconds" if name in MILLISECONDS else "Count"
            metrics.add_metric(name, unit, value)
        sink.write(json.dumps(metrics.serialize_metric_set(), separators=(",", ":")) + "\n")
        metrics.clear_metrics()

    return run


CONTENDERS = {"users-stream": users_stream_line, "Powertools": powertools_line}


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def in_the_handler(event: dict[str, Any], sink: TextIO) -> dict[str, Callable[[], None]]:
    """The handler on ``event`` with its metrics line, and without it."""
    service = UsersStream(
        environ=HANDLER_ENVIRON, sender=RefusingSender(), log_stream=sink, metrics_stream=sink
    )

    def run(writer: Callable[..., None]) -> Callable[[], None]:
        def handle() -> None:
            namespace = vars(chalicelib.service)
            namespace["write_metrics"] = writer
            try:
                service.handle(event)
            finally:
                namespace["write_metrics"] = write_metrics

        return handle

    return {"with the line": run(write_metrics), "without": run(_nothing)}


IMPORT_PROBE = """
import sys, time
import chalice.app, chalicelib.runner, chalicelib.changelog, chalicelib.settings
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
    # No bytecode read or written: every module is compiled from source, as from a zip
    # without bytecode in Lambda (the app's case, figure 3).
    empty = tempfile.mkdtemp(prefix="no-bytecode-")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(ROOT), site)),
        "PYTHONPYCACHEPREFIX": empty,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
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
    os.rmdir(empty)
    return statistics.median(times)
