"""What the rehearsal reads back: a deployment whose policy is broken fails the check."""

from __future__ import annotations

import uuid

import pytest

from devtools.emulator import Emulator
from devtools.rehearsal_checks import Failed, read_back

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")


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
