"""What the poller tells a person (one line per batch, a summary) or a program (``--json``).

Every line is an event with a ``kind``: ``start``, ``batch``, ``retry``, ``bisect``,
``destination``, ``warning``, ``shard``, ``stream`` (re-attached to the table's new stream) and
``summary``. As JSON, each line is one object with
``"source": "poller"``, so it can be told apart from the function's own JSON log lines on the
same stream.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, TextIO

__all__ = ["PollerStats", "Progress"]


@dataclass
class PollerStats:
    """Counters of one poller run (``summary`` prints them)."""

    invocations: int = 0
    records_delivered: int = 0
    records_handled: int = 0
    records_to_destination: int = 0
    records_discarded: int = 0
    retries: int = 0
    bisects: int = 0
    function_errors: int = 0
    partial_failures: int = 0
    ignored_failure_reports: int = 0
    expired_iterators: int = 0
    trimmed_ranges: int = 0
    read_errors: int = 0
    shards_drained: int = 0
    stream_changes: int = 0
    max_lag_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["max_lag_seconds"] = round(self.max_lag_seconds, 3)
        return data


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 12 else "…" + text[-8:]


def _range(fields: dict[str, Any]) -> str:
    first, last = fields.get("first_sequence_number"), fields.get("last_sequence_number")
    return _short(first) if first == last else f"{_short(first)}..{_short(last)}"


def _text(kind: str, f: dict[str, Any]) -> str:
    shard = _short(f.get("shard", ""))
    if kind == "start":
        return (
            f"[poller] {f['function']} <- {f['stream_arn']} (batch {f['batch_size']}, "
            f"window {f['batching_window_seconds']}s, from {f['starting_position']}, "
            f"partial batch responses {'on' if f['report_batch_item_failures'] else 'off'}, "
            f"bisect {'on' if f['bisect'] else 'off'}, retries {f['maximum_retry_attempts']}, "
            f"max age {f['maximum_record_age_seconds']}s, on failure -> "
            f"{f['on_failure_destination'] or 'nowhere (records dropped)'})"
        )
    if kind == "batch":
        head = (
            f"[poller] shard {shard}: {f['records']} record(s) {_range(f)} "
            f"lag {f['lag_seconds']:.2f}s -> {f['outcome']} ({f['duration_ms']:.0f} ms)"
        )
        return head + (f": {f['error']}" if f.get("error") else "")
    if kind == "retry":
        return (
            f"[poller] shard {shard}: retry {f['retry']} of {f['records']} record(s) "
            f"{_range(f)} in {f['delay_seconds']:.2f}s"
        )
    if kind == "bisect":
        return f"[poller] shard {shard}: bisect {f['records']} record(s) -> {f['halves']}"
    if kind == "destination":
        return (
            f"[poller] shard {shard}: gave up on {f['records']} record(s) {_range(f)} "
            f"({f['condition']}) -> {f['destination'] or 'dropped: no on-failure destination'}"
        )
    if kind == "shard":
        return f"[poller] shard {shard}: {f['event']}"
    if kind == "stream":
        return (
            f"[poller] the table's stream changed: now reading {f['stream_arn']} from its start "
            f"(TRIM_HORIZON); the old stream {f['old_stream_arn']} was read to its end"
        )
    if kind == "warning":
        where = f"shard {shard}: " if shard else ""
        return f"[poller] WARNING {where}{f['message']}"
    if kind == "summary":
        s = f["stats"]
        return (
            f"[poller] stopped after {f['elapsed_seconds']:.1f}s: "
            f"{s['invocations']} invocation(s), "
            f"{s['records_handled']} record(s) handled, {s['records_to_destination']} sent to "
            f"the on-failure destination, {s['records_discarded']} dropped; "
            f"{s['retries']} retries, {s['bisects']} bisects, {s['function_errors']} function "
            f"errors, {s['partial_failures']} partial failures, {s['ignored_failure_reports']} "
            f"ignored failure reports, {s['expired_iterators']} expired iterators, "
            f"{s['trimmed_ranges']} trimmed ranges, {s['read_errors']} read errors, "
            f"{s['stream_changes']} stream changes; "
            f"max lag {s['max_lag_seconds']:.2f}s"
        )
    return f"[poller] {kind} {json.dumps(f, default=str)}"


class Progress:
    """Writes poller events as readable lines, or as JSON lines with ``json_lines``."""

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        json_lines: bool = False,
        quiet: bool = False,
        history: int = 10_000,
    ) -> None:
        self._out = out
        self.json_lines = json_lines
        self.quiet = quiet
        self.events: deque[dict[str, Any]] = deque(maxlen=history)
        self._lock = threading.Lock()

    def emit(self, kind: str, **fields: Any) -> None:
        entry = {"source": "poller", "kind": kind, **fields}
        with self._lock:
            self.events.append(entry)
            if self.quiet:
                return
            out = self._out if self._out is not None else sys.stdout
            if self.json_lines:
                line = json.dumps(entry, default=str, separators=(",", ":"))
            else:
                line = _text(kind, fields)
            out.write(line + "\n")
            out.flush()

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for event in self.events if event["kind"] == kind]
