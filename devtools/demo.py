"""``make demo`` / ``make run``: the whole users-stream pipeline on this machine, no AWS account.

``python -m devtools.demo`` starts the embedded emulator (moto, 127.0.0.1 only), creates
``infra/users-table.yaml`` in it through CloudFormation, verifies the sender in its SES, starts
the local event source mapping on the app's ``handle_user_changes`` with the settings of the
deployed mapping (``infra/consumer.yaml``), writes sample users (create, update, delete, an
upsert and a Time to Live expiry), shows each change the handler received and the welcome
emails the emulator's SES accepted, then stops everything and exits 0 (1 if the pipeline did
not do what it should).

``python -m devtools.demo --serve`` keeps the pipeline running on http://127.0.0.1:8000 until
Ctrl-C, so that any client (``aws dynamodb put-item --endpoint-url http://127.0.0.1:8000 ...``)
can write and watch the handler react (see :mod:`devtools.serve`).

This module is the command: its options, and the run from start to stop (Ctrl-C and SIGTERM
included). :mod:`devtools.assemble` puts the pipeline together; :mod:`devtools.oneshot` is the
one-shot run, :mod:`devtools.serve` serve mode.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from devtools import cli
from devtools.assemble import assemble
from devtools.dashboard import DEFAULT_OUTPUT
from devtools.emulator import DEFAULT_PORT, Emulator, EmulatorError
from devtools.localmetrics import MetricStore, tee_stdout
from devtools.oneshot import run_demo
from devtools.running import Console, Pipeline
from devtools.serve import serve
from devtools.stopping import stop_on_signals

__all__ = ["main", "parser"]

PROG = "python -m devtools.demo"


def parser() -> argparse.ArgumentParser:
    """The command line (every flag with its help)."""
    p = cli.parser(PROG, __doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--serve", action="store_true", help="keep running until Ctrl-C (make run)")
    p.add_argument(
        "--port",
        type=_port,
        default=None,
        help=f"emulator port (default: {DEFAULT_PORT} with --serve, any free port otherwise)",
    )
    p.add_argument("--table", default="Users", help="Users table name (default: Users)")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.add_argument(
        "--poll-interval",
        type=cli.non_negative_float,
        default=0.25,
        help="seconds between reads of an idle shard (0.25)",
    )
    p.add_argument(
        "--state",
        type=Path,
        default=None,
        help="with --serve: keep the emulator's state in this file across restarts (loaded at "
        "start if it exists, saved at stop; checkpoints next to it). Default: in memory only",
    )
    p.add_argument(
        "--dashboard",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to draw the dashboard at the end, from the run's metrics (PNG; default "
        "build/dashboard.png)",
    )
    p.add_argument(
        "--checkpoint-file",
        type=Path,
        default=None,
        help="keep the poller's checkpoints in this file (entries of dead streams are pruned)",
    )
    return p


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 (any free port) to 65535, not {value}")
    return value


def _start(port: int) -> Emulator:
    emulator = Emulator(port=port)
    try:
        return emulator.start()
    except EmulatorError as exc:
        hint = " (another port: make run PORT=8001, or --port)" if port else ""
        raise cli.Failure(f"cannot start the emulator: {exc}{hint}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.state and not args.serve:
        raise cli.UsageError("--state keeps the state of make run: it needs --serve")
    console = Console(args.json)
    port = args.port if args.port is not None else (DEFAULT_PORT if args.serve else 0)
    emulator = _start(port)
    pipeline: Pipeline | None = None
    metrics = MetricStore()
    with stop_on_signals() as stop:
        try:
            with tee_stdout(metrics):  # as CloudWatch Logs reads the function's EMF lines
                pipeline = assemble(args, emulator, console, stop, metrics)
                return serve(pipeline) if args.serve else run_demo(pipeline)
        except KeyboardInterrupt:
            return 130
        finally:
            if pipeline is not None:
                pipeline.poller.stop()
            emulator.stop()


if __name__ == "__main__":
    sys.exit(cli.run(main, prog=PROG))
