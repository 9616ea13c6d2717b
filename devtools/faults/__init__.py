"""Fault injection on the local pipeline: ``python -m devtools.faults`` (``make faults``).

Rooms of one job each: :mod:`~devtools.faults.inject` (faults, injected below botocore),
:mod:`~devtools.faults.workload` (the seeded writes), :mod:`~devtools.faults.function` (the
function under test, one process at a time: the real handler on faulty clients, its poller,
kills and restarts), :mod:`~devtools.faults.run` (the scenario: emulator, chunks of writes,
replay; its docstring tells the whole story), :mod:`~devtools.faults.observe` (the stream and
the queue read back), :mod:`~devtools.faults.verify` (the checks and the report) and
:mod:`~devtools.faults.command` (the command line).
"""

from devtools.faults.command import main, parser
from devtools.faults.inject import (
    LEDGER_THROTTLE,
    SES_5XX,
    SES_THROTTLE,
    Fault,
    FaultPlan,
    FaultRates,
    Process,
    ProcessKilled,
    inject,
    scripted,
)
from devtools.faults.run import FaultRun
from devtools.faults.verify import Report
from devtools.faults.workload import streamed_table

__all__ = [
    "LEDGER_THROTTLE",
    "SES_5XX",
    "SES_THROTTLE",
    "Fault",
    "FaultPlan",
    "FaultRates",
    "FaultRun",
    "Process",
    "ProcessKilled",
    "Report",
    "inject",
    "main",
    "parser",
    "scripted",
    "streamed_table",
]
