"""Throughput and latency of the local pipeline: moto over HTTP -> poller -> handler.

Two figures, each for two handlers:

* **throughput** (records/s): ``records`` users are written first (``BatchWriteItem``), then a
  poller reading from ``TRIM_HORIZON`` is timed until it has handled all of them;
* **write -> handler latency** (median and p99, ms): with the poller running, users are written
  one at a time at ``write_rate`` per second; each latency runs from the moment the
  ``PutItem`` call starts to the moment the handler is given the record.

Handlers: ``app`` is the real Chalice handler (a log line per change, a welcome email through
the emulator's SES and two ledger writes per new user, all over HTTP); ``noop`` returns at once,
so its figures are the pipeline's own cost. The latency is dominated by the poll interval
(Lambda polls a shard four times a second: 0.25 s, the default here): a record waits on
average half of it.

    python -m benchmarks.pipeline [--records N] [--latency-samples N] [--poll-interval S]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from devtools.emulator import Emulator, Stack
from devtools.pipeline import MappingConfig, Poller, Progress, discover
from devtools.pipeline.mapping import Handler

__all__ = ["PipelineFigures", "measure_pipeline"]

SENDER = "welcome@example.com"


@dataclass(frozen=True)
class PipelineFigures:
    """What :func:`measure_pipeline` measured, for one handler."""

    handler: str
    records: int
    throughput_seconds: float
    records_per_second: float
    latency_samples: int
    latency_median_ms: float
    latency_p99_ms: float
    poll_interval: float
    batch_size: int

    def line(self) -> str:
        return (
            f"{self.handler:>5} handler: {self.records_per_second:8.0f} records/s "
            f"({self.records} records in {self.throughput_seconds:.2f}s, batch {self.batch_size}); "
            f"write->handler latency median {self.latency_median_ms:.0f} ms, "
            f"p99 {self.latency_p99_ms:.0f} ms ({self.latency_samples} writes, "
            f"poll interval {self.poll_interval}s)"
        )


class Clocked:
    """Wraps a handler: notes when each user id is first handed to it."""

    def __init__(self, inner: Handler | None) -> None:
        self.inner = inner
        self.seen: dict[str, float] = {}
        self.finished = 0.0
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        now = time.perf_counter()
        with self.lock:
            for record in event["Records"]:
                self.seen.setdefault(record["dynamodb"]["Keys"]["id"]["S"], now)
        try:
            return self.inner(event, context) if self.inner is not None else None
        finally:
            self.finished = time.perf_counter()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _user(user_id: str) -> dict[str, Any]:
    return {
        "id": {"S": user_id},
        "email": {"S": f"{user_id}@example.com"},
        "name": {"S": f"User {user_id}"},
        "plan": {"S": "free"},
        "logins": {"N": "0"},
    }


def _write_many(dynamodb: Any, table: str, ids: Sequence[str]) -> None:
    for start in range(0, len(ids), 25):
        requests = [{"PutRequest": {"Item": _user(i)}} for i in ids[start : start + 25]]
        pending: dict[str, Any] = {table: requests}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})


def _handler(kind: str, stack: Stack) -> Handler | None:
    if kind == "noop":
        return None
    app_module = importlib.import_module("app")
    [found] = discover(app_module.app, module=app_module, stream_arn=stack.stream_arn)
    return found.handler


def _poller(
    emulator: Emulator, stack: Stack, handler: Handler, *, start: str, poll: float, batch: int
) -> Poller:
    config = MappingConfig(
        function_name="users-stream-bench-handle_user_changes",
        stream_arn=stack.stream_arn,
        batch_size=batch,
        starting_position=start,
        report_batch_item_failures=True,
        poll_interval=poll,
    )
    return Poller(
        config, handler, emulator.client("dynamodbstreams"), progress=Progress(quiet=True)
    )


def _measure(
    emulator: Emulator,
    stack: Stack,
    kind: str,
    *,
    records: int,
    latency_samples: int,
    write_rate: float,
    poll_interval: float,
    batch_size: int,
) -> PipelineFigures:
    dynamodb = emulator.client("dynamodb")
    run = uuid.uuid4().hex[:6]
    inner = _handler(kind, stack)

    # Throughput: everything is in the stream before the poller starts.
    clocked = Clocked(inner)
    poller = _poller(emulator, stack, clocked, start="LATEST", poll=poll_interval, batch=batch_size)
    poller.drain()  # positioned at the end of the stream
    ids = [f"t{run}-{n}" for n in range(records)]
    _write_many(dynamodb, stack.table_name, ids)
    started = time.perf_counter()
    poller.drain(timeout=600)
    missing = set(ids) - set(clocked.seen)
    if missing:
        raise RuntimeError(f"{len(missing)} records never reached the handler")
    # Until the last record was handed to the handler (and it returned), not the idle poll after.
    elapsed = max(clocked.finished, max(clocked.seen[i] for i in ids)) - started

    # Latency: one write at a time, the poller polling in the background.
    clocked = Clocked(inner)
    poller.handler = clocked
    poller.start()
    poller.wait_until_caught_up()
    written: dict[str, float] = {}
    gap = 1.0 / write_rate
    next_write = time.perf_counter()
    for n in range(latency_samples):
        user_id = f"l{run}-{n}"
        time.sleep(max(0.0, next_write - time.perf_counter()))
        written[user_id] = time.perf_counter()
        dynamodb.put_item(TableName=stack.table_name, Item=_user(user_id))
        next_write += gap
    poller.wait_until_caught_up(timeout=120)
    poller.stop()
    latencies = sorted((clocked.seen[i] - t) * 1000 for i, t in written.items())
    return PipelineFigures(
        handler=kind,
        records=records,
        throughput_seconds=round(elapsed, 3),
        records_per_second=round(records / elapsed, 1),
        latency_samples=len(latencies),
        latency_median_ms=round(statistics.median(latencies), 1),
        latency_p99_ms=round(statistics.quantiles(latencies, n=100)[98], 1),
        poll_interval=poll_interval,
        batch_size=batch_size,
    )


def measure_pipeline(
    *,
    records: int = 500,
    latency_samples: int = 100,
    write_rate: float = 10.0,
    poll_interval: float = 0.25,
    batch_size: int = 100,
    handlers: Sequence[str] = ("noop", "app"),
) -> list[PipelineFigures]:
    """Measure the local pipeline on a fresh embedded emulator (see the module docstring)."""
    results = []
    with Emulator() as emulator:
        stack = emulator.create_stack(
            f"bench-{uuid.uuid4().hex[:6]}",
            parameters={"UsersTableName": f"Users-bench-{uuid.uuid4().hex[:6]}"},
        )
        emulator.verify_sender(SENDER)
        environment = emulator.function_environment(stack, SENDER)
        with (
            _environment(environment),
            open(os.devnull, "w", encoding="utf-8") as sink,
            contextlib.redirect_stdout(sink),  # the app's log lines: one per change
        ):
            for kind in handlers:
                figures = _measure(
                    emulator,
                    stack,
                    kind,
                    records=records,
                    latency_samples=latency_samples,
                    write_rate=write_rate,
                    poll_interval=poll_interval,
                    batch_size=batch_size,
                )
                results.append(figures)
    return results


def parser() -> argparse.ArgumentParser:
    """The command line (every flag with its help)."""
    from devtools import cli

    parser = cli.parser("python -m benchmarks.pipeline", __doc__)
    parser.add_argument(
        "--records", type=cli.positive_int, default=500, help="records for throughput (500)"
    )
    parser.add_argument(
        "--latency-samples", type=cli.positive_int, default=100, help="latency samples (100)"
    )
    parser.add_argument(
        "--write-rate", type=cli.positive_float, default=10.0, help="writes/s for latency (10)"
    )
    parser.add_argument(
        "--poll-interval",
        type=cli.non_negative_float,
        default=0.25,
        help="the poller's idle poll interval (0.25)",
    )
    parser.add_argument(
        "--batch-size", type=cli.positive_int, default=100, help="records per batch (100)"
    )
    parser.add_argument(
        "--handler",
        choices=("noop", "app"),
        action="append",
        default=None,
        help="which handler to measure (repeatable; default both)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per handler")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import json
    import sys

    out = sys.stdout
    figures = measure_pipeline(
        records=args.records,
        latency_samples=args.latency_samples,
        write_rate=args.write_rate,
        poll_interval=args.poll_interval,
        batch_size=args.batch_size,
        handlers=args.handler or ("noop", "app"),
    )
    for result in figures:
        out.write((json.dumps(asdict(result)) if args.json else result.line()) + "\n")
    return 0


if __name__ == "__main__":
    from devtools import cli

    raise SystemExit(cli.run(main, prog="python -m benchmarks.pipeline"))
