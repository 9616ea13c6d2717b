"""``python -m devtools.replay`` in its own process, through the real app and the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.devtools.conftest import Recorder
from tests.devtools.replaying import fail_ids, peek

ROOT = Path(__file__).resolve().parents[2]
SENDER = "replay-welcome@example.com"


def test_the_command_replays_through_the_real_app_and_its_welcome_emails(table, make_poller):
    """``python -m devtools.replay`` in its own process: the app's handler, reading its settings
    from the environment as in Lambda, sends the welcome emails of the replayed range through
    the emulator's SES."""
    emulator = table.emulator
    emulator.verify_sender(SENDER)
    for number in range(3):
        table.put(f"replay-user-{number}", email=f"replay{number}@example.com")
    poller = make_poller(
        Recorder(fail_ids("replay-user-0")),
        batch_size=10,
        report_batch_item_failures=True,
        maximum_retry_attempts=0,
    )
    poller.drain()
    assert len(peek(table)) == 1

    env = {
        **os.environ,
        "WELCOME_EMAIL_SENDER": SENDER,
        "REPORT_BATCH_ITEM_FAILURES": "true",
        "USERS_TABLE_STREAM_ARN": table.stream_arn,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LEDGER_TABLE", None)
    done = subprocess.run(
        [sys.executable, "-m", "devtools.replay", "--queue-url", table.queue_url,
         "--endpoint-url", emulator.endpoint_url, "--wait-seconds", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("[replay]")]
    assert lines[0].startswith("[replay] replayed 3 record(s) ")
    assert lines[-1].startswith("[replay] 1 message(s): 1 replayed and deleted (3 records)")
    sent = [e for e in emulator.sent_emails() if e.source == SENDER]
    assert sorted(e.to for e in sent) == [(f"replay{n}@example.com",) for n in range(3)]
    assert peek(table) == []
