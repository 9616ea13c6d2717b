"""The deploy rehearsal (`make rehearse`): both ways, as documented, on the emulator."""

from __future__ import annotations

import sys
import uuid

import pytest

from devtools.emulator import Emulator
from devtools.rehearsal_checks import Failed, poller_command, read_back
from tests.infra.conftest import rehearse

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")

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


@pytest.mark.slow
def test_both_ways_deploy_work_redeploy_and_tear_down_to_nothing():
    result, lines = rehearse()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for way in ("package", "chalice"):
        steps = [line.split(":", 1)[0] for line in lines if line.startswith(f"[{way}]")]
        assert steps == [
            f"[{way}] {step}" for step in ("deploy", "read back", "drive", "redeploy", "teardown")
        ]
    assert lines[-1] == "rehearsal: passed (package, chalice)"


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


def test_read_back_fails_a_deployment_whose_policy_names_a_broken_arn():
    with Emulator() as emulator:
        name = f"broken-{uuid.uuid4().hex[:8]}"
        stack = emulator.create_stack(name, parameters={"FunctionName": "f-x"})
        outputs = stack.outputs
        iam, lam = emulator.client("iam"), emulator.client("lambda")
        role = iam.create_role(RoleName="broken-role", AssumeRolePolicyDocument="{}")["Role"]
        broken = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Logs",
                    "Effect": "Allow",
                    "Action": "logs:PutLogEvents",
                    "Resource": "arn:aws:logs:123456789012:table/Users:log-group:x:*",
                }
            ],
        }
        iam.put_role_policy(
            RoleName="broken-role", PolicyName="p", PolicyDocument=str(broken).replace("'", '"')
        )
        lam.create_function(
            FunctionName="f-x",
            Runtime="python3.12",
            Role=role["Arn"],
            Handler="app.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Environment={"Variables": {"REPORT_BATCH_ITEM_FAILURES": "true"}},
        )
        lam.create_event_source_mapping(
            FunctionName="f-x",
            EventSourceArn=outputs["StreamArn"],
            StartingPosition="TRIM_HORIZON",
            FunctionResponseTypes=["ReportBatchItemFailures"],
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=5,
            MaximumRecordAgeInSeconds=3600,
            DestinationConfig={"OnFailure": {"Destination": outputs["OnFailureQueueArn"]}},
        )
        with pytest.raises(Failed, match="parliament INVALID_ARN"):
            read_back(emulator, name)
