"""The local pipeline's metrics: what CloudWatch would hold for the same run.

* :class:`MetricStore` keeps datapoints by namespace and metric name;
* :class:`EmfTee` stands where the function's standard output goes and, as CloudWatch Logs
  does, turns each embedded metric format line the function writes into datapoints (the
  lines still reach the terminal unchanged);
* :func:`watching` wraps the handler as the Lambda service measures it: ``AWS/Lambda``
  ``Invocations``, ``Errors``, ``Throttles`` (never, locally), ``Duration`` and ``IteratorAge``
  (the age of the batch's last record when it is invoked);
* :func:`sample_queue` reads the on-failure queue's depth (``AWS/SQS``);
* :func:`summary` sums a time window of the store into the one-line figures of ``make run``.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["EmfTee", "MetricStore", "sample_queue", "summary", "tee_stdout", "watching"]

Point = tuple[float, float]  # (epoch seconds, value)


class MetricStore:
    """Datapoints by ``(namespace, metric name)``; safe to add to from any thread."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._points: dict[tuple[str, str], list[Point]] = {}
        self.clock = clock
        self.emf_lines = 0

    def add(self, namespace: str, name: str, value: float, at: float | None = None) -> None:
        point = (self.clock() if at is None else at, float(value))
        with self._lock:
            self._points.setdefault((namespace, name), []).append(point)

    def add_emf(self, document: Mapping[str, Any]) -> None:
        """Every metric of an EMF document, at its ``_aws.Timestamp``."""
        metadata = document["_aws"]
        at = metadata["Timestamp"] / 1000
        for directive in metadata["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                for one in value if isinstance(value, list) else [value]:
                    self.add(directive["Namespace"], metric["Name"], one, at)
        with self._lock:
            self.emf_lines += 1

    def points(self, namespace: str, name: str) -> list[Point]:
        with self._lock:
            return list(self._points.get((namespace, name), ()))

    def span(self) -> tuple[float, float] | None:
        """The first and last datapoint's time, if there is any."""
        with self._lock:
            times = [t for points in self._points.values() for t, _ in points]
        return (min(times), max(times)) if times else None


class EmfTee(io.TextIOBase):
    """A text stream: writes go to ``out`` unchanged; EMF lines are also added to ``store``."""

    def __init__(self, out: TextIO, store: MetricStore) -> None:
        self.out = out
        self.store = store
        self._partial = threading.local()

    def write(self, text: str) -> int:
        written = self.out.write(text)
        pending = getattr(self._partial, "text", "") + text
        *lines, self._partial.text = pending.split("\n")
        for line in lines:
            if line.startswith('{"_aws"'):
                self._collect(line)
        return written

    def _collect(self, line: str) -> None:
        # Not a metrics line after all (CloudWatch would not extract it either): ignored.
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.store.add_emf(json.loads(line))

    def flush(self) -> None:
        self.out.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.out.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.out.errors

    def fileno(self) -> int:
        return self.out.fileno()

    def isatty(self) -> bool:
        return self.out.isatty()

    def writable(self) -> bool:
        return True


@contextmanager
def tee_stdout(store: MetricStore) -> Iterator[EmfTee]:
    """Collect the EMF lines written to ``sys.stdout`` for the duration."""
    import sys

    previous = sys.stdout
    tee = EmfTee(previous, store)
    sys.stdout = tee
    try:
        yield tee
    finally:
        sys.stdout = previous


Handler = Callable[[dict[str, Any], Any], Any]


def _newest_created(event: Mapping[str, Any]) -> float | None:
    times = [
        record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        for record in event.get("Records", [])
        if isinstance(record, Mapping)
    ]
    numbers = [t for t in times if isinstance(t, int | float)]
    return max(numbers) if numbers else None


def watching(handler: Handler, store: MetricStore) -> Handler:
    """``handler``, measured as the Lambda service measures a function (see the module)."""

    def watched(event: dict[str, Any], context: Any) -> Any:
        started, now = time.perf_counter(), store.clock()
        newest = _newest_created(event)
        if newest is not None:
            store.add("AWS/Lambda", "IteratorAge", max(0.0, (now - newest) * 1000), now)
        store.add("AWS/Lambda", "Invocations", 1, now)
        store.add("AWS/Lambda", "Throttles", 0, now)
        failed = True
        try:
            response = handler(event, context)
            failed = False
            return response
        finally:
            store.add("AWS/Lambda", "Errors", 1 if failed else 0, now)
            store.add("AWS/Lambda", "Duration", (time.perf_counter() - started) * 1000, now)

    return watched


def sample_queue(store: MetricStore, sqs: Any, queue_url: str) -> int:
    """The on-failure queue's visible messages, added as ``AWS/SQS`` datapoint; the count."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    depth = int(attributes["ApproximateNumberOfMessages"])
    store.add("AWS/SQS", "ApproximateNumberOfMessagesVisible", depth)
    return depth


EMAILS = ("Sent", "Skipped", "Rejected", "Duplicate")
RECORDS = ("RecordsInsert", "RecordsModify", "RecordsRemove", "RecordsTtlExpiry")


def summary(store: MetricStore, namespace: str, since: float, until: float) -> dict[str, Any]:
    """The figures of ``[since, until)``: records/s, the largest lag, emails, failures."""

    def window(name: str, space: str = namespace) -> list[float]:
        return [v for t, v in store.points(space, name) if since <= t < until]

    def total(name: str, space: str = namespace) -> float:
        return sum(window(name, space))

    lags = window("StreamLag")
    records = sum(total(name) for name in RECORDS)
    seconds = max(until - since, 1e-9)
    return {
        "records": int(records),
        "records_per_second": round(records / seconds, 1),
        "max_lag_ms": round(max(lags), 1) if lags else None,
        "emails": {kind.lower(): int(total(f"WelcomeEmails{kind}")) for kind in EMAILS},
        "records_failed": int(total("RecordsFailed")),
        "invocations": int(total("Invocations", "AWS/Lambda")),
    }


def summary_text(figures: Mapping[str, Any]) -> str:
    """The figures of :func:`summary` in one line."""
    lag = figures["max_lag_ms"]
    emails = figures["emails"]
    return (
        f"metrics: {figures['records_per_second']} records/s ({figures['records']} in "
        f"{figures['invocations']} invocation(s)), lag "
        f"{'-' if lag is None else f'{lag:,.0f} ms'}, emails {emails['sent']} sent / "
        f"{emails['skipped']} skipped / {emails['rejected']} rejected / "
        f"{emails['duplicate']} duplicate, {figures['records_failed']} record(s) failed"
    )
