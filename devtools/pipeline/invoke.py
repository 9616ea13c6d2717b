"""Invoke a handler with one batch as Lambda does, and classify what came back.

The event is serialized to JSON and back (the function sees JSON types only, and cannot change
the poller's copy), and so is the response (a response Lambda could not serialize fails the
invocation). An invocation that ran past the function's timeout counts as failed, whatever
it returned.

How a response is read (Lambda's rules for ``ReportBatchItemFailures``):

* an exception: the whole batch failed (``error``);
* ``None``, a missing, null or empty ``batchItemFailures``: the whole batch succeeded;
* failures, with the mapping's ``report_batch_item_failures``: ``partial`` - checkpoint before
  the lowest failed sequence number; an ``itemIdentifier`` that is empty, not text or not in
  the batch makes the whole batch fail;
* failures without it: Lambda ignores them and counts the batch as a success - so do we, but
  say so (``ignored_failures``), because those records will never be retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from devtools.pipeline.context import LambdaContext
from devtools.pipeline.events import lambda_event
from devtools.pipeline.mapping import Handler, MappingConfig, function_arn

__all__ = ["Outcome", "invoke"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """``ok``, ``partial`` (``failed_index`` is the lowest failed record) or ``error``."""

    kind: Literal["ok", "partial", "error"]
    duration: float
    failed_index: int | None = None
    error: str | None = None
    ignored_failures: int = 0


def _failures(response: Any) -> Any:
    if isinstance(response, Mapping):
        return response.get("batchItemFailures")
    return None


def classify(
    response: Any, records: Sequence[Mapping[str, Any]], *, report: bool, duration: float
) -> Outcome:
    """The outcome of a returned ``response`` for ``records`` (see the module docstring)."""
    failures = _failures(response)
    if not failures:
        return Outcome("ok", duration)
    if not isinstance(failures, list):
        if report:
            return Outcome("error", duration, error="batchItemFailures is not a list")
        return Outcome("ok", duration, ignored_failures=1)
    if not report:
        return Outcome("ok", duration, ignored_failures=len(failures))
    position = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    indexes = []
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(item, str) or item not in position:
            return Outcome(
                "error", duration, error=f"invalid batchItemFailures itemIdentifier {item!r}"
            )
        indexes.append(position[item])
    return Outcome("partial", duration, failed_index=min(indexes))


def invoke(
    handler: Handler,
    records: Sequence[Mapping[str, Any]],
    config: MappingConfig,
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Call ``handler(event, context)`` once with ``records``; never raises ``Exception``.

    A ``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``)
    propagates: it stands for the process dying mid-batch, which checkpoints nothing.
    """
    event = lambda_event(records)
    context = LambdaContext(
        function_name=config.function_name,
        invoked_function_arn=function_arn(config),
        timeout_seconds=config.timeout_seconds,
        memory_limit_in_mb=str(config.memory_size_mb),
        clock=monotonic,
    )
    started = monotonic()
    try:
        response = handler(event, context)
    except Exception as exc:
        return Outcome("error", monotonic() - started, error=f"{type(exc).__name__}: {exc}")
    duration = monotonic() - started
    if duration > config.timeout_seconds:
        return Outcome("error", duration, error=f"Task timed out after {duration:.2f} seconds")
    try:
        response = json.loads(json.dumps(response))
    except (TypeError, ValueError) as exc:
        return Outcome("error", duration, error=f"Runtime.MarshalError: {exc}")
    return classify(response, records, report=config.report_batch_item_failures, duration=duration)
