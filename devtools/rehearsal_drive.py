"""The rehearsal's drive: the local poller, configured from the deployed mapping, on real writes.

:func:`drive` starts ``python -m devtools.poller`` (another process) with every setting taken
from the event source mapping and the function the deployment made (:func:`poller_command`),
writes a user, changes and deletes it, and waits for the three change lines and the one
welcome email.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from devtools.emulator import Emulator
from devtools.processes import ProcessLines
from devtools.rehearsal_checks import Deployed, Failed

__all__ = ["drive", "poller_command"]


def poller_command(
    endpoint: str, mapping: Mapping[str, Any], function: Mapping[str, Any]
) -> list[str]:
    """``python -m devtools.poller`` with every setting taken from the deployed mapping."""
    reports = "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or [])
    settings = {
        "--endpoint-url": endpoint,
        "--stream-arn": mapping["EventSourceArn"],
        "--batch-size": mapping["BatchSize"],
        "--batching-window": mapping.get("MaximumBatchingWindowInSeconds", 0),
        "--starting-position": mapping["StartingPosition"],
        "--report-batch-item-failures": str(reports).lower(),
        "--bisect": str(bool(mapping.get("BisectBatchOnFunctionError"))).lower(),
        "--maximum-retry-attempts": mapping.get("MaximumRetryAttempts", -1),
        "--maximum-record-age": mapping.get("MaximumRecordAgeInSeconds", -1),
        "--timeout": function.get("Timeout", 60),
    }
    destination = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if destination:
        settings["--on-failure"] = destination
    command = [sys.executable, "-m", "devtools.poller", "--json"]
    for flag, value in settings.items():
        command += [flag, str(value)]
    return command


def _wanted(lines: Iterable[str], key: str) -> tuple[list[str], int]:
    events, welcomed = [], 0
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or key not in json.dumps(entry.get("keys", {})):
            continue
        if entry.get("message") == "change":
            events.append(str(entry.get("event")))
        elif entry.get("message") == "welcome_email_sent":
            welcomed += 1
    return events, welcomed


def drive(emulator: Emulator, deployed: Deployed, code: Path, env: Mapping[str, str]) -> str:
    """Write a user, change and delete it; the deployed mapping's poller must handle each."""
    command = poller_command(emulator.endpoint_url, deployed.mapping, deployed.function)
    process_env = {**env, **deployed.variables, "PYTHONPATH": str(Path(__file__).parents[1])}
    poller = ProcessLines(command, cwd=code, env=process_env, stderr=subprocess.STDOUT)
    key = f"rehearsal-{uuid.uuid4().hex[:8]}"
    address = f"{key}@example.com"
    before = len([e for e in emulator.sent_emails() if address in e.to])
    table, dynamodb = deployed.outputs["TableName"], emulator.client("dynamodb")
    dynamodb.put_item(
        TableName=table, Item={"id": {"S": key}, "email": {"S": address}, "name": {"S": "Ada"}}
    )
    dynamodb.update_item(
        TableName=table,
        Key={"id": {"S": key}},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Ada L."}},
    )
    dynamodb.delete_item(TableName=table, Key={"id": {"S": key}})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and poller.process.poll() is None:
        events, welcomed = _wanted(poller.drain(), key)
        if events == ["INSERT", "MODIFY", "REMOVE"] and welcomed == 1:
            break
        time.sleep(0.2)
    poller.interrupt(timeout=30)
    lines = poller.seen
    events, welcomed = _wanted(lines, key)
    sent = len([e for e in emulator.sent_emails() if address in e.to]) - before
    if events != ["INSERT", "MODIFY", "REMOVE"] or welcomed != 1 or sent != 1:
        tail = " | ".join(line.strip() for line in lines[-3:])
        raise Failed(f"changes {events}, welcome lines {welcomed}, emails {sent}; poller: {tail}")
    return "INSERT, MODIFY, REMOVE logged in order; 1 welcome email sent through SES"
