"""Run the benchmarks and write docs/benchmarks.md and the decode plot.

    python -m benchmarks            # every figure (a few minutes); writes docs/
    python -m benchmarks --quick    # fewer rounds and runs; prints, writes nothing
    python -m benchmarks --only decode,handler --no-write
    python -m benchmarks --strict   # exit 1 when a target is missed (the report says which)

Figures: ``decode`` (1), ``handler`` (2), ``coldstart`` (3, with ``package``, 5), ``emails``
(4), ``pipeline`` (6), ``metrics`` (7), ``correlation`` (8). Every ratio is taken between
contenders measured in the same process and run; see each module for what exactly is timed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.figures.batch import run_decode, run_handler
from benchmarks.figures.lines import run_correlation, run_metrics
from benchmarks.figures.notes import add_notes
from benchmarks.figures.plan import Plan
from benchmarks.figures.startup import run_coldstart_and_package
from benchmarks.figures.throughput import run_emails, run_pipeline
from benchmarks.report import Report, plot_scaling
from benchmarks.workload import NO_INSERT_MIX, max_batch, sized_batch
from devtools import cli

PROG = "python -m benchmarks"
FIGURES = ("decode", "handler", "coldstart", "emails", "pipeline", "metrics", "correlation")
DOCS = Path(__file__).resolve().parent.parent / "docs"
PLOT = "benchmark-decode.png"


def parser() -> argparse.ArgumentParser:
    """The command line (every flag with its help)."""
    p = cli.parser(PROG, __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer rounds; write nothing")
    p.add_argument(
        "--only", default=",".join(FIGURES), help=f"comma-separated figures ({','.join(FIGURES)})"
    )
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument(
        "--cpu-clock",
        action="store_true",
        help="time in-process figures with thread CPU time (steadier on a busy machine)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(FIGURES)
    if unknown or not only:
        raise cli.UsageError(f"--only: unknown figures: {', '.join(sorted(unknown)) or '(none)'}")
    plan = Plan.chosen(quick=args.quick, cpu_clock=args.cpu_clock)
    write = not (args.quick or args.no_write)
    command = "python -m benchmarks" + (" " + " ".join(argv or sys.argv[1:])).rstrip()
    report = Report(command=command)
    started = time.perf_counter()
    if "decode" in only:
        run_decode(report, plan, max_batch())
    if "handler" in only:
        run_handler(report, plan, max_batch(mix=NO_INSERT_MIX))
    if "coldstart" in only:
        run_coldstart_and_package(report, plan)
    if "emails" in only:
        run_emails(report, plan)
    if "pipeline" in only:
        run_pipeline(report, plan)
    if "metrics" in only:
        run_metrics(report, plan, sized_batch(100, mix=NO_INSERT_MIX))
    if "correlation" in only:
        run_correlation(report, plan, sized_batch(500, mix=NO_INSERT_MIX))
    add_notes(report, plan)
    print(f"\n{report.table()}\n\n({time.perf_counter() - started:.0f} s)")
    if write:
        DOCS.mkdir(exist_ok=True)
        plot = None
        if report.scaling is not None:
            sizes, curve = report.scaling
            plot_scaling(sizes, curve, DOCS / PLOT, "Decoding every image of a stream batch")
            plot = PLOT
        print(f"wrote {report.write(DOCS, plot)}" + (f" and docs/{PLOT}" if plot else ""))
    failed = [row for row in report.rows if row.passed is False]
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main, prog=PROG))
