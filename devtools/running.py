"""What a running local pipeline holds (:class:`Pipeline`), and how it speaks (:class:`Console`).

Shared by the one-shot demo (:mod:`devtools.oneshot`) and serve mode (:mod:`devtools.serve`).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.emulator import Emulator, SentEmail, Stack
from devtools.localmetrics import MetricStore
from devtools.pipeline import Poller
from devtools.stopping import StopRequest
from devtools.ttl import TtlSweeper

__all__ = ["SENDER", "Console", "Pipeline", "show_emails"]

SENDER = "welcome@example.com"


class Console:
    """The demo's own lines: readable text, or JSON objects with ``"source": "demo"``."""

    def __init__(self, json_lines: bool, out: Any = None) -> None:
        self.json_lines = json_lines
        self.out = out if out is not None else sys.stdout
        self.lock = threading.RLock()

    def say(self, text: str, kind: str = "info", **fields: Any) -> None:
        with self.lock:
            if self.json_lines:
                entry = {"source": "demo", "kind": kind, "message": text, **fields}
                self.out.write(json.dumps(entry, default=str) + "\n")
            else:
                self.out.write(text + "\n")
            self.out.flush()


@dataclass(frozen=True)
class Pipeline:
    """Everything a running demo holds."""

    emulator: Emulator
    stack: Stack
    poller: Poller
    console: Console
    sweeper: TtlSweeper
    stop: StopRequest  # set by Ctrl-C or SIGTERM
    state: Path | None = None  # where the emulator's state is kept across restarts, if anywhere
    metrics: MetricStore | None = None  # what CloudWatch would hold (devtools.localmetrics)
    dashboard: Path | None = None  # where the dashboard picture is drawn at the end


def show_emails(console: Console, emails: Sequence[SentEmail]) -> None:
    console.say(f"Welcome emails accepted by the emulator's SES: {len(emails)}", "emails")
    for email in emails:
        console.say(
            f"  to {', '.join(email.to)} from {email.source}: {email.subject!r} "
            f"[message id {email.message_id}]",
            "email",
            to=list(email.to),
            subject=email.subject,
            message_id=email.message_id,
        )
