"""The invocation's metrics as one CloudWatch Embedded Metric Format (EMF) line.

CloudWatch Logs turns a log line holding an ``_aws`` member into metrics: no API call, no
boto3, nothing but a line on standard output. One line per invocation, aggregated over the
batch:

* records handled, by kind: ``RecordsInsert``, ``RecordsModify``, ``RecordsRemove`` (removed
  by someone) and ``RecordsTtlExpiry`` (removed by Time to Live);
* ``RecordsFailed`` (the record the batch stopped at) and ``RecordsReported`` (named to Lambda
  in ``batchItemFailures``; a failure that is not reported fails the whole batch);
* welcome emails by outcome: ``WelcomeEmailsSent``, ``...Skipped``, ``...Rejected``,
  ``...Duplicate``;
* ``LedgerClaimsLost``: a new user's email could not be claimed because another invocation
  holds its claim (ledger contention; the record is retried);
* ``StreamLag``: now minus the oldest ``ApproximateCreationDateTime`` in the batch (ms; left
  out when no record carries one);
* ``HandlerDuration``: the handler's own time for the batch (ms).

Dimensions are the function's name and stage only (``FunctionName``, ``Stage``): never a user
key. The namespace is ``METRICS_NAMESPACE`` (default ``UsersStream``); the stage is ``STAGE``.

Standard library only, and only modules the app already imports: it costs nothing at cold start.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigurationError

if TYPE_CHECKING:  # no Protocol class built at cold start
    from typing import Protocol

    class LineSink(Protocol):
        """Where the EMF line goes: any text stream (standard output in Lambda)."""

        def write(self, text: str, /) -> int: ...

        def flush(self) -> None: ...


__all__ = [
    "COUNTS",
    "DEFAULT_NAMESPACE",
    "DIMENSIONS",
    "EVENT_METRICS",
    "Tally",
    "emf_line",
    "metrics_settings",
    "request_id",
    "write_metrics",
]

DEFAULT_NAMESPACE = "UsersStream"
DEFAULT_STAGE = "dev"
DIMENSIONS = ("FunctionName", "Stage")
RECORD_METRICS = {
    "INSERT": "RecordsInsert",
    "MODIFY": "RecordsModify",
    "REMOVE": "RecordsRemove",
    "TTL": "RecordsTtlExpiry",
}
EVENT_METRICS = {  # the log line's message -> the metric it counts in
    "welcome_email_sent": "WelcomeEmailsSent",
    "welcome_email_skipped": "WelcomeEmailsSkipped",
    "welcome_email_rejected": "WelcomeEmailsRejected",
    "welcome_email_duplicate": "WelcomeEmailsDuplicate",
}
COUNTS = (
    *RECORD_METRICS.values(),
    "RecordsFailed",
    "RecordsReported",
    *EVENT_METRICS.values(),
    "LedgerClaimsLost",
)
MILLISECONDS = ("StreamLag", "HandlerDuration")
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"
_MAX_NAMESPACE = 255  # CloudWatch's limit (PutMetricData Namespace)
_DIRECTIVES: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def metrics_settings(env: Mapping[str, str]) -> tuple[str, str]:
    """``(namespace, stage)`` from ``METRICS_NAMESPACE`` and ``STAGE``."""
    namespace = env.get("METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE
    if len(namespace) > _MAX_NAMESPACE or namespace.startswith(":") or namespace[:4] == "AWS/":
        raise ConfigurationError(
            "METRICS_NAMESPACE must be at most 255 characters, not start with ':' or 'AWS/'"
        )
    return namespace, env.get("STAGE", "").strip() or DEFAULT_STAGE


class Tally:
    """The counts of one invocation, filled while the batch runs.

    ``event`` is given every outcome line's message (:data:`EVENT_METRICS`), ``failed`` the
    record the batch stopped at; :meth:`values` adds what the records themselves say.
    """

    __slots__ = ("counts", "failed_at", "started")

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.started = clock()
        self.counts: dict[str, int] = dict.fromkeys(COUNTS, 0)
        self.failed_at: int | None = None  # the index of the record the batch stopped at

    def event(self, message: str) -> None:
        metric = EVENT_METRICS.get(message)
        if metric is not None:
            self.counts[metric] += 1

    def failed(self, index: int, *, reported: bool, claim_lost: bool) -> None:
        self.failed_at = index
        self.counts["RecordsFailed"] += 1
        self.counts["RecordsReported"] += reported
        self.counts["LedgerClaimsLost"] += claim_lost

    def values(self, records: Any, now: float, ended: float, *, finished: bool) -> dict[str, float]:
        """Every metric's value. ``records`` is the event's ``Records`` (anything: a forged
        event is counted as far as it can be read); ``finished`` says whether the batch ran
        to its end or to a failure (else nothing is known to be handled)."""
        rows = records if type(records) is list else []
        handled = len(rows) if self.failed_at is None else self.failed_at
        values: dict[str, float] = dict(self.counts)
        oldest = _count_records(rows, handled if finished else 0, values)
        if oldest is not None:
            values["StreamLag"] = max(0.0, round((now - oldest) * 1000, 3))
        values["HandlerDuration"] = round((ended - self.started) * 1000, 3)
        return values


def _count_records(rows: Sequence[Any], handled: int, values: dict[str, float]) -> float | None:
    """Count the first ``handled`` records by kind; the oldest creation time of all of them."""
    oldest: float | None = None
    for index, raw in enumerate(rows):
        if type(raw) is not dict:
            continue
        body = raw.get("dynamodb")
        created: Any = body.get("ApproximateCreationDateTime") if type(body) is dict else None
        if (type(created) is int or type(created) is float) and math.isfinite(created):
            oldest = created if oldest is None or created < oldest else oldest
        if index >= handled:
            continue
        kind = raw.get("eventName")
        identity = raw.get("userIdentity")
        if (
            kind == "REMOVE"
            and type(identity) is dict
            and identity.get("type") == "Service"
            and identity.get("principalId") == _TTL_PRINCIPAL
        ):
            kind = "TTL"
        metric = RECORD_METRICS.get(kind) if type(kind) is str else None
        if metric is not None:
            values[metric] += 1
    return oldest


def emf_line(
    values: Mapping[str, float],
    namespace: str,
    dimensions: Mapping[str, str],
    timestamp_ms: int,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The EMF document as one JSON line: ``_aws`` metadata, then ``extra``, each dimension
    and each metric as a root member. The directive is the same for every invocation of a
    function: encoded once, then reused."""
    shape = (namespace, tuple(dimensions), tuple(values))
    directive = _DIRECTIVES.get(shape)
    if directive is None:
        units = [
            {"Name": n, "Unit": "Milliseconds" if n in MILLISECONDS else "Count"} for n in shape[2]
        ]
        directive = _encode({"Namespace": namespace, "Dimensions": [shape[1]], "Metrics": units})
        _DIRECTIVES[shape] = directive
    members = _encode({**(extra or {}), **dimensions, **values})
    metadata = f'{{"Timestamp":{int(timestamp_ms)},"CloudWatchMetrics":[{directive}]}}'
    return f'{{"_aws":{metadata},{members[1:]}'


def request_id(context: Any) -> str | None:
    """The invocation's request id, from Lambda's context object (``None`` without one)."""
    found = getattr(context, "aws_request_id", None)
    return found if type(found) is str else None


def _function_name(context: Any) -> str:
    name = getattr(context, "function_name", None)
    if type(name) is str and name:
        return name
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "") or "users-stream"


def write_metrics(
    stream: LineSink | None,
    tally: Tally,
    event: Any,
    context: Any,
    where: tuple[str, str],
    *,
    finished: bool,
) -> None:
    """Write the invocation's EMF line to ``stream`` (standard output when ``None``).

    ``where`` is ``(namespace, stage)``. The line also carries ``level``, ``message``
    (``metrics``) and the invocation's ``request_id``, like every other line of the function.
    Never raises: metrics are not worth failing a batch for.
    """
    ended = time.perf_counter()
    try:
        records = event.get("Records") if isinstance(event, Mapping) else None
        values = tally.values(records, time.time(), ended, finished=finished)
        namespace, stage = where
        dimensions = {"FunctionName": _function_name(context), "Stage": stage}
        extra = {"level": "INFO", "message": "metrics", "request_id": request_id(context)}
        line = emf_line(values, namespace, dimensions, int(time.time() * 1000), extra)
        out = sys.stdout if stream is None else stream
        out.write(line + "\n")
        out.flush()
    except Exception:  # noqa: S110 - a metrics line is never worth failing the batch for
        pass
