"""The emulator's CloudFormation answers as AWS's where the CDK CLI relies on it (gaps 5-7 of
devtools/moto_fidelity.py): templates passed by a URL on the emulator, change sets that do not
exist, and SSM parameters kept by their path across updates."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.emulator import Emulator

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")

TEMPLATE = {
    "Parameters": {
        "Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/probe/version"},
        "Retention": {"Type": "Number", "Default": 60},
    },
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": {"Ref": "Retention"}},
        }
    },
    "Outputs": {"Version": {"Value": {"Ref": "Version"}}},
}


@pytest.fixture(scope="module")
def emulator() -> Any:
    with Emulator() as running:
        running.client("ssm").put_parameter(Name="/probe/version", Value="30", Type="String")
        yield running


def test_a_template_url_on_the_emulators_own_endpoint_is_read(emulator):
    s3, bucket = emulator.client("s3"), f"templates-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="t.json", Body=json.dumps(TEMPLATE).encode())
    cloudformation, name = emulator.client("cloudformation"), f"url-{uuid.uuid4().hex[:8]}"
    url = f"{emulator.endpoint_url}/{bucket}/t.json"  # path-style, as the CDK CLI builds it
    cloudformation.create_stack(StackName=name, TemplateURL=url)
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_a_missing_change_set_is_nothing_to_delete_and_not_found_to_describe(emulator):
    cloudformation, name = emulator.client("cloudformation"), f"cs-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(TEMPLATE))
    cloudformation.delete_change_set(StackName=name, ChangeSetName="never-made")
    with pytest.raises(ClientError) as raised:
        cloudformation.describe_change_set(StackName=name, ChangeSetName="never-made")
    assert raised.value.response["Error"]["Code"] == "ChangeSetNotFound"


def test_an_ssm_parameter_keeps_its_path_across_an_update(emulator):
    cloudformation, name = emulator.client("cloudformation"), f"ssm-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(TEMPLATE))
    cloudformation.create_change_set(
        StackName=name,
        ChangeSetName="retention",
        ChangeSetType="UPDATE",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": "Version", "UsePreviousValue": True},
            {"ParameterKey": "Retention", "ParameterValue": "120"},
        ],
    )
    cloudformation.execute_change_set(StackName=name, ChangeSetName="retention")
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "30"
