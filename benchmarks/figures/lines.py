"""Figures 7 and 8: what the invocation's metrics line and a request id on log lines cost."""

from __future__ import annotations

from benchmarks import correlation, handler, metrics
from benchmarks.figures.plan import Plan
from benchmarks.figures.units import ms, us
from benchmarks.report import Report, Row
from benchmarks.timing import compare
from benchmarks.workload import Workload

__all__ = ["run_correlation", "run_metrics"]


def run_metrics(report: Report, plan: Plan, batch: Workload) -> None:
    print("figure 7: the metrics line of one invocation", flush=True)
    with handler.devnull() as sink:
        both = compare(
            metrics.in_the_handler(batch.event, sink), rounds=plan.rounds * 20, clock=plan.clock
        )
        runs = {name: make(batch.event, sink) for name, make in metrics.CONTENDERS.items()}
        timings = compare(runs, rounds=plan.rounds * 20, clock=plan.clock)
    with_it, without = both["with the line"].best, both["without"].best
    report.add(
        Row(
            f"7. Metrics line (EMF) in the handler, {len(batch.records)} records",
            f"+{us(with_it - without)}",
            f"handler without it {ms(without)} ({(with_it - without) / without:+.1%})",
        )
    )
    ours, theirs = timings["users-stream"].median, timings["Powertools"].median
    report.add(
        Row(
            f"7. Metrics line (EMF) alone, per invocation, {len(batch.records)} records",
            us(ours),
            f"Powertools Metrics {us(theirs)}",
            ours / theirs,
            1.0,
        )
    )
    processes = max(5, plan.coldstart_runs // 2)
    imports = {name: metrics.import_seconds(name, processes) for name in metrics.STATEMENTS}
    report.add(
        Row(
            "7. Import the metrics writer (fresh process)",
            ms(imports["users-stream"]),
            f"Powertools Metrics {ms(imports['Powertools'])}",
            imports["users-stream"] / imports["Powertools"],
            1.0,
        )
    )
    report.section(
        "7. The metrics line",
        f"""
{metrics.__doc__}
Median of {plan.rounds * 20} interleaved calls each, garbage collector off while timed;
imports: median of {processes} processes each. The handler figures (2, 3) include the metrics
line: every invocation writes it.
""",
    )


def run_correlation(report: Report, plan: Plan, batch: Workload) -> None:
    print("figure 8: a log line with the request id, bare JSON or Lambda's JSON format", flush=True)
    entries = correlation.entries_of(batch.event, handler.HANDLER_ENVIRON)
    with handler.devnull() as sink:
        runs = {name: make(entries, sink) for name, make in correlation.CONTENDERS.items()}
        timings = compare(runs, rounds=plan.rounds, clock=plan.clock)
    ours, theirs = timings["bare JSON"].best, timings["JSON log format"].best
    report.add(
        Row(
            f"8. One log line with the request id ({len(entries):,} lines)",
            f"bare JSON {us(ours / len(entries))}",
            f"Lambda JSON log format {us(theirs / len(entries))}",
            ours / theirs,
            1.0,
        )
    )
    report.section(
        "8. Correlation: bare JSON lines or Lambda's JSON log format",
        f"""
{correlation.__doc__}
Best of {plan.rounds} interleaved rounds over the {len(entries):,} lines of a
{len(batch.records)}-record batch.
""",
    )
