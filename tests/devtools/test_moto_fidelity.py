"""The emulator's CloudFormation and streams behave as AWS's where deployments rely on them.

Each gap is shown twice: moto on its own still has it (so the patch is still needed; when a
moto upgrade closes it, that test fails and the patch can go), and the emulator does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.emulator import Emulator
from tests.devtools.conftest import create_stream_table

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")

SAM = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "InlineCode": "def handler(event, context):\n    return None\n",
            },
        }
    },
    "Outputs": {"FunctionName": {"Value": {"Ref": "Fn"}}},
}


@pytest.fixture(scope="module")
def emulator() -> Any:
    with Emulator() as running:
        yield running


def test_moto_alone_still_skips_the_sam_transform():
    script = (
        "import json, sys\n"
        "from moto.cloudformation.models import Stack\n"
        "print(json.dumps(Stack.parse_template(sys.argv[1])['Resources']['Fn']['Type']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(SAM)], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == "AWS::Serverless::Function"


def create(emulator: Emulator, template: dict[str, Any]) -> str:
    name = f"fidelity-{uuid.uuid4().hex[:8]}"
    cloudformation = emulator.client("cloudformation")
    cloudformation.create_change_set(
        StackName=name,
        ChangeSetName="one",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    cloudformation.execute_change_set(StackName=name, ChangeSetName="one")
    return name


def test_a_sam_function_is_created_and_its_outputs_reported(emulator):
    name = create(emulator, SAM)
    cloudformation = emulator.client("cloudformation")
    kinds = {
        r["LogicalResourceId"]: r["ResourceType"]
        for r in cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    }
    assert kinds["Fn"] == "AWS::Lambda::Function"
    assert kinds["FnRole"] == "AWS::IAM::Role"  # the transform's generated role
    (output,) = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    function = emulator.client("lambda").get_function(FunctionName=output["OutputValue"])
    assert function["Configuration"]["Handler"] == "index.handler"


def test_a_change_set_without_changes_fails_quietly_as_in_aws(emulator):
    name = create(emulator, SAM)
    cloudformation = emulator.client("cloudformation")
    cloudformation.create_change_set(
        StackName=name,
        ChangeSetName="again",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(SAM),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    described = cloudformation.describe_change_set(StackName=name, ChangeSetName="again")
    assert described["Status"] == "FAILED"
    # The reason `aws cloudformation deploy --no-fail-on-empty-changeset` looks for.
    assert "The submitted information didn't contain changes" in described["StatusReason"]


def test_a_mapped_table_keeps_its_stream_records_for_the_poller(emulator):
    dynamodb, lam = emulator.client("dynamodb"), emulator.client("lambda")
    table = f"fidelity-{uuid.uuid4().hex[:8]}"
    stream_arn = create_stream_table(dynamodb, table)
    function = emulator.client("cloudformation")
    name = create(emulator, SAM)
    outputs = function.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    lam.create_event_source_mapping(
        FunctionName=outputs[0]["OutputValue"],
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
    )
    dynamodb.put_item(TableName=table, Item={"id": {"S": "u1"}})
    streams = emulator.client("dynamodbstreams")
    (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=shard["ShardId"],
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]


TTL_TABLE = {
    "Resources": {
        "T": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            },
        }
    },
    "Outputs": {"Name": {"Value": {"Ref": "T"}}},
}


def test_moto_alone_still_ignores_a_tables_time_to_live():
    script = (
        "import json, sys\n"
        "from moto import mock_aws\n"
        "import boto3\n"
        "with mock_aws():\n"
        "    cfn = boto3.client('cloudformation', region_name='us-east-1')\n"
        "    cfn.create_stack(StackName='s', TemplateBody=sys.argv[1])\n"
        "    name = cfn.describe_stacks(StackName='s')['Stacks'][0]['Outputs'][0]['OutputValue']\n"
        "    ddb = boto3.client('dynamodb', region_name='us-east-1')\n"
        "    print(ddb.describe_time_to_live(TableName=name)['TimeToLiveDescription']"
        "['TimeToLiveStatus'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(TTL_TABLE)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
    )
    assert result.stdout.strip() == "DISABLED"


def test_a_tables_time_to_live_is_applied_as_cloudformation_does(emulator):
    name = create(emulator, TTL_TABLE)
    cloudformation = emulator.client("cloudformation")
    (output,) = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    described = emulator.client("dynamodb").describe_time_to_live(TableName=output["OutputValue"])
    ttl = described["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


def test_a_template_the_transform_rejects_fails_as_a_validation_error(emulator):
    broken = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}},
    }
    with pytest.raises(ClientError) as raised:
        emulator.client("cloudformation").create_stack(
            StackName=f"bad-{uuid.uuid4().hex[:8]}", TemplateBody=json.dumps(broken)
        )
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert "Transform AWS::Serverless-2016-10-31 failed" in str(raised.value)
