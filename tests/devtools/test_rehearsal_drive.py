"""The rehearsal's drive: the local poller takes every setting from the deployed mapping."""

from __future__ import annotations

import sys

from devtools.rehearsal_drive import poller_command

# The shape of GetEventSourceMapping's response (Lambda API Reference), for one DynamoDB stream.
MAPPING = {
    "UUID": "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE",
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "ParallelizationFactor": 1,
    "EventSourceArn": (
        "arn:aws:dynamodb:us-west-2:111122223333:table/T/stream/2024-01-01T00:00:00.000"
    ),
    "FunctionArn": "arn:aws:lambda:us-west-2:111122223333:function:f",
    "State": "Enabled",
    "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-west-2:111122223333:q"}},
    "MaximumRecordAgeInSeconds": 3600,
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 5,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
}


def test_the_poller_takes_every_setting_from_the_deployed_mapping():
    command = poller_command("http://127.0.0.1:1", MAPPING, {"Timeout": 60})
    flags = dict(zip(command[4::2], command[5::2], strict=True))
    assert command[:4] == [sys.executable, "-m", "devtools.poller", "--json"]
    assert flags == {
        "--endpoint-url": "http://127.0.0.1:1",
        "--stream-arn": MAPPING["EventSourceArn"],
        "--batch-size": "100",
        "--batching-window": "0",
        "--starting-position": "TRIM_HORIZON",
        "--report-batch-item-failures": "true",
        "--bisect": "true",
        "--maximum-retry-attempts": "5",
        "--maximum-record-age": "3600",
        "--timeout": "60",
        "--on-failure": "arn:aws:sqs:us-west-2:111122223333:q",
    }
