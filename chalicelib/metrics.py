"""The invocation's metrics as one CloudWatch Embedded Metric Format (EMF) line.

CloudWatch Logs turns a log line holding an ``_aws`` member into metrics: no API call, no
boto3, nothing but a line on standard output. One line per invocation, from what the runner
counted over the batch (:class:`chalicelib.runner.Outcomes`):

* records handled, by kind: ``RecordsInsert``, ``RecordsModify``, ``RecordsRemove`` (removed
  by someone) and ``RecordsTtlExpiry`` (removed by Time to Live);
* ``RecordsFailed`` (the record the batch stopped at) and ``RecordsReported`` (named to Lambda
  in ``batchItemFailures``; a failure that is not reported fails the whole batch);
* welcome emails by outcome: ``WelcomeEmailsSent``, ``...Skipped``, ``...Rejected``,
  ``...Duplicate``;
* ``LedgerClaimsLost``: a new user's email could not be claimed because another invocation
  holds its claim (ledger contention; the record is retried);
* ``StreamLag``: now minus the oldest ``ApproximateCreationDateTime`` of the records handled
  (ms; left out when no record carries one);
* ``HandlerDuration``: the handler's own time for the batch (ms).

Dimensions are the function's name and stage only (``FunctionName``, ``Stage``): never a user
key. The namespace is ``METRICS_NAMESPACE`` (default ``UsersStream``); the stage is ``STAGE``.

Standard library only, and only modules the app already imports: it costs nothing at cold start.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigurationError

if TYPE_CHECKING:  # no Protocol class built at cold start
    from typing import Protocol

    from chalicelib.runner import Outcomes

    class LineSink(Protocol):
        """Where the EMF line goes: any text stream (standard output in Lambda)."""

        def write(self, text: str, /) -> int: ...

        def flush(self) -> None: ...


__all__ = [
    "COUNTS",
    "DEFAULT_NAMESPACE",
    "DIMENSIONS",
    "OUTCOME_METRICS",
    "emf_line",
    "metric_values",
    "metrics_settings",
    "request_id",
    "write_metrics",
]

DEFAULT_NAMESPACE = "UsersStream"
DEFAULT_STAGE = "dev"
DIMENSIONS = ("FunctionName", "Stage")
RECORD_METRICS = {  # the record's event name -> the metric it counts in
    "INSERT": "RecordsInsert",
    "MODIFY": "RecordsModify",
    "REMOVE": "RecordsRemove",
}
OUTCOME_METRICS = {  # the reaction's outcome (chalicelib.result.Result) -> its metric
    "email_sent": "WelcomeEmailsSent",
    "email_skipped": "WelcomeEmailsSkipped",
    "email_rejected": "WelcomeEmailsRejected",
    "email_duplicate": "WelcomeEmailsDuplicate",
}
COUNTS = (
    *RECORD_METRICS.values(),
    "RecordsTtlExpiry",
    "RecordsFailed",
    "RecordsReported",
    *OUTCOME_METRICS.values(),
    "LedgerClaimsLost",
)
MILLISECONDS = ("StreamLag", "HandlerDuration")
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


def metric_values(outcomes: Outcomes, now: float) -> dict[str, float]:
    """Every metric's value, from what the invocation did (:class:`chalicelib.runner.Outcomes`,
    counted by the runner over the batch); ``now`` is the time (epoch seconds) for the lag."""
    values: dict[str, float] = dict.fromkeys(COUNTS, 0)
    records = outcomes.records
    for kind, metric in RECORD_METRICS.items():
        values[metric] = records.get(kind, 0)
    values["RecordsRemove"] -= outcomes.ttl_expiries
    values["RecordsTtlExpiry"] = outcomes.ttl_expiries
    values["RecordsFailed"] = outcomes.failed
    values["RecordsReported"] = outcomes.reported
    for outcome, metric in OUTCOME_METRICS.items():
        values[metric] = outcomes.reactions.get(outcome, 0)
    values["LedgerClaimsLost"] = outcomes.claims_lost
    oldest = outcomes.oldest_created
    if oldest is not None:
        values["StreamLag"] = max(0.0, round((now - oldest.timestamp()) * 1000, 3))
    values["HandlerDuration"] = round(outcomes.duration * 1000, 3)
    return values


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
    outcomes: Outcomes,
    context: Any,
    where: tuple[str, str],
) -> None:
    """Write the invocation's EMF line to ``stream`` (standard output when ``None``).

    ``where`` is ``(namespace, stage)``. The line also carries ``level``, ``message``
    (``metrics``) and the invocation's ``request_id``, like every other line of the function.
    Never raises: metrics are not worth failing a batch for.
    """
    try:
        values = metric_values(outcomes, time.time())
        namespace, stage = where
        dimensions = {"FunctionName": _function_name(context), "Stage": stage}
        extra = {"level": "INFO", "message": "metrics", "request_id": request_id(context)}
        line = emf_line(values, namespace, dimensions, int(time.time() * 1000), extra)
        out = sys.stdout if stream is None else stream
        out.write(line + "\n")
        out.flush()
    except Exception:  # noqa: S110 - a metrics line is never worth failing the batch for
        pass
