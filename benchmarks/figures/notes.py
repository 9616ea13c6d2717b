"""The report's closing section: how the figures were taken, and why a missed target is missed."""

from __future__ import annotations

import time

from benchmarks.figures.plan import Plan
from benchmarks.report import Report

__all__ = ["MISSED", "add_notes"]

MISSED = {
    "1.": """
Decoding against Powertools: users-stream checks every value it decodes (each type tag, that
an `S` is a string, the DynamoDB number grammar, strict base64) and decodes binary, where
Powertools checks nothing and hands binary back as text; and a 6 MB batch is some 100 MB of
Python objects, so part of every contender's time is memory traffic that no decoder avoids.
The decoder is one loop per map with the common types inline (no call per value); what is
left is CPython's cost per value: a loop of the same shape that only copies each value (no
check, no conversion) takes about 70 % of the decoder's time on this batch.
""",
    "2.": """
The whole handler, figure 2: see 2b; both contenders pay the same for the C JSON encoder and
the write, which bounds how far the ratio can fall.
""",
    "2b.": """
The whole handler on a live Users table (target 0.40x): each image is read once, straight from
its DynamoDB JSON into the line's values (`chalicelib/loggable.py`), and an update walks only
the attributes it changed. What is left is CPython's cost per value (about 0.1 us for a
string, 0.4 us for a whole number, 0.6 us for a nested map, measured one type at a time) and
what both contenders pay alike: the standard library's C JSON encoder (about 40 ms of the
batch) and writing 3.7 MB of lines. A run with the encoder swapped for a compiled one
(orjson, tried outside the project) measured 0.43x: the target needs compiled code in the
walk itself, which the Lambda zip does not ship (`requirements.txt` is empty on purpose).
""",
}


def add_notes(report: Report, plan: Plan) -> None:
    clock = "thread CPU time" if plan.clock is time.thread_time else "`time.perf_counter`"
    body = f"""
In-process figures (1, 2) are timed with {clock}, garbage collector off while timed, each
contender once per round in a rotating order, {plan.rounds} rounds; the best round is the
figure (the run least disturbed by other work on the machine), ratios are of best rounds.
Cold start uses medians over fresh processes. Run `python -m benchmarks --quick` for a
faster, rougher pass (it writes nothing), `--only decode,handler` for some figures,
`--cpu-clock` on a busy machine.
"""
    missed = [
        key
        for key, text in MISSED.items()
        if any(row.figure.startswith(key) and row.passed is False for row in report.rows)
    ]
    if missed:
        body += "\nTargets not met in this run:\n" + "".join(MISSED[key] for key in missed)
    report.section("How these figures were taken", body)
