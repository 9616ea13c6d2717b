"""``python -m devtools.faults`` (``make faults``): the seeded fault-injection run, each
scenario's report, exit 1 unless every check holds (see :mod:`devtools.faults.run`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from devtools.faults.run import FaultRun
from devtools.localmetrics import MetricStore

FAULTS_DASHBOARD = Path(__file__).resolve().parents[2] / "build" / "dashboard-faults.png"

__all__ = ["main", "parser"]


def quiet_emulator() -> None:
    """moto says, for each alarm of the stack, that its CloudFormation cannot create alarms."""
    import logging
    import warnings

    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.faults",
        description="Seeded fault-injection run on the local pipeline (see the module docstring).",
    )
    parser.add_argument("--changes", type=int, default=5000, help="writes to make (5000)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--dashboard",
        type=Path,
        default=FAULTS_DASHBOARD,
        help="where to draw the dashboard from the run's metrics (PNG; default "
        "build/dashboard-faults.png)",
    )
    parser.add_argument(
        "--other-key",
        default="user_id",
        help="then run a fifth-size scenario on a Users table keyed by this name (user_id); "
        "'' for none",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    if args.changes < 1:
        arguments.error("--changes must be at least 1")
    quiet_emulator()
    scenarios = [("id", args.changes)]
    if args.other_key:
        scenarios.append((args.other_key, max(100, args.changes // 5)))
    reports = []
    metrics = MetricStore()
    for key, changes in scenarios:
        run = FaultRun(
            changes=changes,
            seed=args.seed,
            key=key,
            progress=None if args.quiet or args.json else sys.stdout,
            metrics=metrics,
        )
        reports.append(run.run())
        if not args.json:
            print(reports[-1].text())
    _draw(metrics, args.dashboard, quiet=args.json)
    if args.json:
        print(json.dumps([{**asdict(r), "ok": r.ok} for r in reports], indent=1))
    return 0 if all(r.ok for r in reports) else 1


def _draw(metrics: MetricStore, output: Path, *, quiet: bool) -> None:
    """The stack's dashboard, drawn from every scenario's metrics."""
    from devtools.dashboard import local_values, render

    values = local_values(region="us-east-1", function="users-stream-faults", queue="faults")
    render(metrics, values, output)
    if not quiet:
        print(f"Dashboard drawn from {metrics.emf_lines} EMF line(s): {output}")
