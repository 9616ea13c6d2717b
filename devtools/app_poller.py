"""The app's own stream handler, polled on the emulator as the deployment maps it.

:func:`build_poller` discovers the handler in the Chalice app (``app.py``), gives it the
settings of the deployed mapping (``infra/consumer.yaml``) and the function's environment, and
shows each change it receives (:func:`showing`).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from devtools.emulator import Emulator, Stack, TtlSweeper
from devtools.localmetrics import MetricStore, watching
from devtools.pipeline import (
    JsonFileCheckpoints,
    Poller,
    Progress,
    SqsDestination,
    discover,
)
from devtools.pipeline.continuity import StreamWatch, stale_keys
from devtools.pipeline.mapping import Handler, checkpoint_key, settings_from_template
from devtools.running import SENDER, Console
from infra.merge import OVERLAY

__all__ = ["build_poller", "showing"]


def _describe(record: dict[str, Any]) -> str:
    body = record["dynamodb"]
    keys = ", ".join(f"{k}={next(iter(v.values()))}" for k, v in body.get("Keys", {}).items())
    ttl = " (Time to Live expiry)" if record.get("userIdentity") else ""
    sequence = body.get("SequenceNumber", "")
    return f"  captured {record['eventName']:<6} {keys}{ttl}  [sequence {sequence}]"


def showing(handler: Handler, console: Console) -> Handler:
    """``handler``, printing each change it receives first (events and responses unchanged)."""

    def show(event: dict[str, Any], context: Any) -> Any:
        for record in event.get("Records", []):
            console.say(_describe(record), "change", record=record)
        return handler(event, context)

    return show


def _function_environment(emulator: Emulator, stack: Stack) -> dict[str, str]:
    env = emulator.function_environment(stack, SENDER)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(env)
    return env


def build_poller(
    emulator: Emulator,
    stack: Stack,
    console: Console,
    *,
    json_lines: bool,
    poll_interval: float,
    checkpoint_file: Path | None,
    sweeper: TtlSweeper,
    metrics: MetricStore | None = None,
) -> Poller:
    """The app's stream handler, discovered from the Chalice app, mapped like the deployment."""
    env = _function_environment(emulator, stack)
    app_module = importlib.import_module("app")
    deployed = settings_from_template(OVERLAY)
    deployed["report_batch_item_failures"] = env["REPORT_BATCH_ITEM_FAILURES"] == "true"
    [found] = discover(
        app_module.app,
        module=app_module,
        stream_arn=stack.stream_arn,
        on_failure_destination=stack.queue_arn,
        poll_interval=poll_interval,
        **deployed,
    )
    checkpoints = None
    if checkpoint_file:
        checkpoints = JsonFileCheckpoints(checkpoint_file, checkpoint_key(found.config))
        for key in checkpoints.prune(stale_keys(found.config)):
            console.say(f"  checkpoints of a stream that is gone, pruned: {key}", "checkpoints")
    handler = found.handler if metrics is None else watching(found.handler, metrics)
    return Poller(
        found.config,
        showing(handler, console),
        emulator.client("dynamodbstreams"),
        destination=SqsDestination(stack.queue_arn, lambda: emulator.client("sqs")),
        checkpoints=checkpoints,
        progress=Progress(json_lines=json_lines),
        transform_record=sweeper.mark,
        watch=StreamWatch(emulator.client("dynamodb")),
    )
