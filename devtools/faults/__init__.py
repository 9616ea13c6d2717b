"""Fault injection on the local pipeline: ``python -m devtools.faults`` (``make faults``).

Four rooms, one job each: :mod:`~devtools.faults.inject` (faults, injected below botocore),
:mod:`~devtools.faults.workload` (the seeded writes), :mod:`~devtools.faults.run` (the
scenario: emulator, pipeline, kills and restarts, replay; its docstring tells the whole story)
and :mod:`~devtools.faults.verify` (the checks and the report).
"""

from devtools.faults.command import main
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
    "scripted",
    "streamed_table",
]
