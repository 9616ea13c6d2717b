"""Figures 1, 2 and 2b: decoding a batch, and the whole handler on two workloads, in process."""

from __future__ import annotations

from typing import Any

from benchmarks import decode, handler
from benchmarks.figures.plan import Plan
from benchmarks.figures.units import mix, ms, us
from benchmarks.report import Report, Row
from benchmarks.timing import Timing, compare
from benchmarks.workload import Workload, sized_batch

__all__ = ["run_decode", "run_handler", "run_handler_users_table"]


def run_decode(report: Report, plan: Plan, batch: Workload) -> None:
    records = len(batch.records)
    print(f"figure 1: decode every image, max batch of {records} records", flush=True)
    runs = {name: make(batch.event) for name, make in decode.CONTENDERS.items()}
    timings = compare(runs, rounds=plan.rounds, clock=plan.clock)
    ours = timings["users-stream"].best
    for name, target in (("boto3", 0.5), ("Powertools", 0.33)):
        theirs = timings[name].best
        report.add(
            Row(
                f"1. Decode every image, {records:,} records (6 MB)",
                ms(ours),
                f"{name} {ms(theirs)}",
                ours / theirs,
                target,
            )
        )
    sizes = [*plan.scaling_sizes, records]
    curve: dict[str, list[float]] = {name: [] for name in decode.CONTENDERS}
    lines = ["| Records | " + " | ".join(curve) + " |", "|---|" + "---|" * len(curve)]
    for size in sizes:
        event = batch.event if size == records else sized_batch(size).event
        if size == records:
            result = timings
        else:
            contenders = {name: make(event) for name, make in decode.CONTENDERS.items()}
            result = compare(contenders, rounds=plan.rounds, clock=plan.clock)
        for name in curve:
            curve[name].append(result[name].best)
        lines.append(f"| {size:,} | " + " | ".join(ms(result[name].best) for name in curve) + " |")
    report.section(
        "1. Decoding",
        f"""
Every `Keys`, `NewImage` and `OldImage` of the batch decoded to Python values; best of
{plan.rounds} interleaved rounds, garbage collector off while timed. boto3's
`TypeDeserializer` cannot read the base64 text stream events carry, so it runs as a subclass
whose `_deserialize_b` base64-decodes first: the conversion is inside the timed region.
Powertools' `DynamoDBStreamEvent` leaves binary as base64 text (less work than the others).
The 6 MB batch holds {records:,} records ({mix(batch)}; {batch.payload_bytes:,} bytes of JSON),
parsed from its JSON text as Lambda's runtime hands it to a handler.

{chr(10).join(lines)}
""",
    )
    report.scaling = (sizes, curve)


def _time_handlers(
    report: Report, plan: Plan, batch: Workload, label: str, target: float, sender: Any = None
) -> dict[str, Timing]:
    """Both handlers on ``batch``, interleaved; one row, per record."""
    records = len(batch.records)
    print(f"figure {label.split('.')[0]}: whole handler, {records} records", flush=True)
    with handler.devnull() as sink:
        runs = {name: make(batch.event, sink, sender) for name, make in handler.CONTENDERS.items()}
        timings = compare(runs, rounds=plan.rounds, clock=plan.clock)
    ours, theirs = timings["users-stream"].best, timings["Powertools"].best
    report.add(
        Row(
            f"{label}, per record",
            us(ours / records),
            f"Powertools BatchProcessor {us(theirs / records)}",
            ours / theirs,
            target,
        )
    )
    return timings


def run_handler(report: Report, plan: Plan, batch: Workload) -> None:
    records = len(batch.records)
    label = f"2. Whole handler, {records:,} MODIFY/REMOVE records"
    timings = _time_handlers(report, plan, batch, label, 0.5)
    ours, theirs = timings["users-stream"].best, timings["Powertools"].best
    report.section(
        "2. The whole handler",
        f"""
`UsersStream(environ=..., log_stream=...).handle(event)` - the call the Chalice handler makes
with `event.to_dict()` - against Powertools' `BatchProcessor(EventType.DynamoDBStreams)` and
`process_partial_response` running an equivalent record handler (decode keys and both
images, the changed attribute names, the same redaction, one JSON line with the same fields
and the same JSON conventions, addresses masked). Both log at INFO to a stdlib
`StreamHandler` on `os.devnull`: Powertools' equivalent through `logger.info`; users-stream
writes each line to its logger's own handler directly, without a `LogRecord`, as it does
whenever nothing else is set up on that logger (`LineSink.write`). The batch is {records:,} records
({mix(batch)}; {batch.payload_bytes:,} bytes); best of {plan.rounds} interleaved rounds:
users-stream {ms(ours)}, Powertools {ms(theirs)} (medians {ms(timings["users-stream"].median)}
and {ms(timings["Powertools"].median)}).
""",
    )
    run_handler_users_table(report, plan)


def run_handler_users_table(report: Report, plan: Plan) -> None:
    from benchmarks.users_table import users_table_batch

    batch = users_table_batch()
    records = len(batch.records)
    label = f"2b. Whole handler, a live Users table ({mix(batch)})"
    timings = _time_handlers(report, plan, batch, label, 0.4, handler.InstantSender())
    ours, theirs = timings["users-stream"].best, timings["Powertools"].best
    report.section(
        "2b. The whole handler on a live Users table",
        f"""
The same two handlers on a second workload (`benchmarks/users_table.py`): INSERT, MODIFY and
REMOVE mixed, items of several shapes (maps nested three deep, lists of maps, string and number
sets, binary values, numbers of 38 digits and with exponents of +-120), names and addresses in
twelve scripts. New users get their welcome email checked, composed and handed to a sender that
answers at once (the app one email at a time, `EMAIL_CONCURRENCY=1`: threads only pay off
against SES's real latency, figure 4); both write the same lines. {records:,} records
({batch.payload_bytes:,} bytes); best of {plan.rounds} interleaved rounds: users-stream
{ms(ours)}, Powertools {ms(theirs)}.
""",
    )
