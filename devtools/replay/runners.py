"""What runs a replayed batch: the app's handler here, or the deployed function; and which
streams each may replay."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from devtools.pipeline.events import lambda_event
from devtools.pipeline.invoke import Outcome, classify, invoke
from devtools.pipeline.mapping import Handler, MappingConfig
from devtools.replay.ranges import BatchRunner, clip, error_text

__all__ = ["DeployedFunction", "LocalHandler", "expected_streams"]


class LocalHandler:
    """Runs a Lambda handler in this process, exactly as the local poller invokes it.

    Every failure the handler reports counts (``report_batch_item_failures`` is forced on): a
    replay must never take a reported failure for success.
    """

    def __init__(self, handler: Handler, config: MappingConfig) -> None:
        self.handler = handler
        self.config = config.with_overrides(report_batch_item_failures=True)

    def __call__(self, records: list[dict[str, Any]]) -> Outcome:
        return invoke(self.handler, records, self.config)


class DeployedFunction:
    """Invokes the deployed function (``lambda:InvokeFunction``) with one batch."""

    def __init__(
        self,
        client: Any,
        function_name: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.function_name = function_name
        self._monotonic = monotonic

    def __call__(self, records: list[dict[str, Any]]) -> Outcome:
        started = self._monotonic()
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(lambda_event(records)).encode("utf-8"),
            )
            payload = response["Payload"].read()
        except Exception as exc:
            return Outcome("error", self._monotonic() - started, error=error_text(exc))
        duration = self._monotonic() - started
        if response.get("FunctionError"):
            return Outcome("error", duration, error=f"{response['FunctionError']}: {clip(payload)}")
        try:
            body = json.loads(payload) if payload else None
        except ValueError:
            return Outcome("error", duration, error=f"response is not JSON: {clip(payload)}")
        return classify(body, records, report=True, duration=duration)

    def mapped_streams(self) -> set[str]:
        """The streams of the function's event source mappings (``lambda:ListEventSourceMappings``;
        none where it may not be called)."""
        found: set[str] = set()
        try:
            pages = self.client.get_paginator("list_event_source_mappings").paginate(
                FunctionName=self.function_name
            )
            for page in pages:
                found.update(m["EventSourceArn"] for m in page.get("EventSourceMappings", []))
        except Exception:  # noqa: S110 - no permission: the configured stream alone decides
            pass
        return found


def expected_streams(
    run_batch: BatchRunner, environ: Mapping[str, str] = os.environ
) -> frozenset[str]:
    """The stream ARNs whose ranges this replay may run: the configured Users stream
    (``USERS_TABLE_STREAM_ARN``, as the app reads it), and the stream the handler is mapped to
    (a deployed function's event source mappings, or a local handler's mapping)."""
    found = {environ.get("USERS_TABLE_STREAM_ARN", "").strip()}
    if isinstance(run_batch, DeployedFunction):
        found |= run_batch.mapped_streams()
    elif isinstance(run_batch, LocalHandler):
        found.add(run_batch.config.stream_arn)
    return frozenset(found - {""})
