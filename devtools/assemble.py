"""The local pipeline put together on a started emulator: stack, sender, sweeper and poller.

:func:`assemble` creates the stack from ``infra/users-table.yaml`` (or loads the state of the
last ``make run``), verifies the sender in the emulator's SES, and builds the Time to Live
sweeper and the poller of the app's handler (:mod:`devtools.app_poller`), saying each as it
goes. Starting the pipeline is left to the caller (:mod:`devtools.oneshot`, :mod:`devtools.serve`).
"""

from __future__ import annotations

import argparse

from devtools import state
from devtools.app_poller import build_poller
from devtools.emulator import Emulator, Stack, TtlSweeper
from devtools.localmetrics import MetricStore
from devtools.running import SENDER, Console, Pipeline
from devtools.stopping import StopRequest

__all__ = ["assemble"]

MOTO_NOTES = (
    "moto differs from DynamoDB in ways you may see here: an UpdateItem that creates an item "
    "emits two INSERTs (the first with the key only), a write that changes nothing still emits "
    "MODIFY, Time to Live never deletes (this demo's sweeper does it, see below), and the "
    "stream has one shard. A cancelled transaction would leave a phantom change and stall the "
    "stream in moto: the emulator patches that (docs/local-pipeline.md lists every difference)."
)


def assemble(
    options: argparse.Namespace,
    emulator: Emulator,
    console: Console,
    stop: StopRequest,
    metrics: MetricStore,
) -> Pipeline:
    """The pipeline on ``emulator``, not yet started, as ``options`` ask.

    ``options`` are :func:`devtools.demo.parser`'s: ``table``, ``state`` (the file that keeps
    the emulator's state across runs, or None), ``json``, ``poll_interval``, ``checkpoint_file``
    and ``dashboard``.
    """
    console.say(f"Emulator (moto) listening on {emulator.endpoint_url}", "emulator")
    stack = _stack(options, emulator, console)
    if stack.skipped:
        names = ", ".join(f"{lid} ({kind})" for lid, kind in stack.skipped)
        console.say(f"  not created (moto's CloudFormation lacks them): {names}", "stack")
    console.say(f"Note: {MOTO_NOTES}", "note")
    emulator.verify_sender(SENDER)
    sweeper = TtlSweeper(emulator.client("dynamodb"), stack.table_name)
    poller = build_poller(
        emulator,
        stack,
        console,
        json_lines=options.json,
        poll_interval=options.poll_interval,
        checkpoint_file=options.checkpoint_file
        or (state.checkpoint_file(options.state) if options.state else None),
        sweeper=sweeper,
        metrics=metrics,
    )
    return Pipeline(
        emulator, stack, poller, console, sweeper, stop, options.state, metrics, options.dashboard
    )


def _stack(options: argparse.Namespace, emulator: Emulator, console: Console) -> Stack:
    """The stack: loaded with the state of the last run (``--state``), or created."""
    loaded = state.load(options.state, emulator.region) if options.state else None
    if loaded is not None:
        console.say(
            f"State of the last run loaded from {options.state}: stack {loaded.name}, table "
            f"{loaded.table_name}; the poller resumes after its last checkpoint",
            "state",
            outputs=dict(loaded.outputs),
        )
        return loaded
    stack = emulator.create_stack(parameters={"UsersTableName": options.table})
    console.say(
        f"Stack {stack.name} created from infra/users-table.yaml through CloudFormation: "
        f"table {stack.table_name}, ledger {stack.ledger_table}, on-failure queue "
        f"{stack.queue_url}",
        "stack",
        outputs=dict(stack.outputs),
    )
    return stack
