"""The stand-alone table stack, created through CloudFormation in the local emulator (moto).

moto creates the tables and the queue but silently ignores point-in-time recovery, TTL, SSE
and CloudWatch alarms; those properties are checked on the template itself (and by cfn-lint).
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from devtools.emulator import Emulator
from infra.cfn import load_template
from tests.infra.conftest import TABLE_TEMPLATE, create_table_stack

pytestmark = pytest.mark.filterwarnings(
    r"ignore:Tried to parse AWS\S+Alarm:UserWarning"  # moto creates no alarms
)


OUTPUTS = {
    "TableName",
    "TableArn",
    "StreamArn",
    "LedgerTableName",
    "LedgerTableArn",
    "OnFailureQueueUrl",
    "OnFailureQueueArn",
    "AlarmTopicArn",
    "MetricsNamespace",
    "DashboardName",
}


@pytest.fixture(scope="module")
def stack(moto_endpoint: str) -> dict[str, str]:
    return create_table_stack(moto_endpoint, DeletionProtection="false")


def test_stack_exports_everything_the_function_and_the_deploy_script_need(stack):
    assert set(stack) == OUTPUTS
    assert stack["TableName"].startswith("Users-")
    assert stack["AlarmTopicArn"] == ""  # neither AlarmTopicArn nor AlarmEmail given
    assert stack["StreamArn"].startswith(stack["TableArn"] + "/stream/")


def test_users_table_is_keyed_by_id_on_demand_with_a_new_and_old_image_stream(stack, moto_endpoint):
    table = boto3.client("dynamodb", endpoint_url=moto_endpoint).describe_table(
        TableName=stack["TableName"]
    )["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["LatestStreamArn"] == stack["StreamArn"]


def test_stream_arn_output_reads_the_records_written_to_the_table(stack, moto_endpoint):
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint)
    dynamodb.put_item(
        TableName=stack["TableName"],
        Item={"id": {"S": "u-1"}, "email": {"S": "ada@example.com"}},
    )
    shards = streams.describe_stream(StreamArn=stack["StreamArn"])["StreamDescription"]["Shards"]
    records: list[dict[str, Any]] = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stack["StreamArn"],
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in records] == [
        ("INSERT", {"id": {"S": "u-1"}})
    ]
    assert records[0]["dynamodb"]["NewImage"]["email"] == {"S": "ada@example.com"}


def test_ledger_table_matches_what_the_ledger_adapter_writes(stack, moto_endpoint):
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    ledger = dynamodb.describe_table(TableName=stack["LedgerTableName"])["Table"]
    assert ledger["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert ledger["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ledger["TableArn"] == stack["LedgerTableArn"]


def test_on_failure_queue_keeps_messages_fourteen_days_encrypted(stack, moto_endpoint):
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack["OnFailureQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert attributes["QueueArn"] == stack["OnFailureQueueArn"]
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert attributes["SqsManagedSseEnabled"] == "true"


def test_deletion_protection_is_on_by_default_and_follows_its_parameter(stack, moto_endpoint):
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)

    def protected(outputs: dict[str, str]) -> list[str]:
        # moto echoes the parameter's string; AWS stores a boolean.
        return [
            str(
                dynamodb.describe_table(TableName=outputs[name])["Table"][
                    "DeletionProtectionEnabled"
                ]
            ).lower()
            for name in ("TableName", "LedgerTableName")
        ]

    assert protected(create_table_stack(moto_endpoint)) == ["true", "true"]
    assert protected(stack) == ["false", "false"]  # created with DeletionProtection=false


@pytest.mark.parametrize("logical_id", ["UsersTable", "LedgerTable"])
def test_tables_declare_what_moto_ignores_encryption_recovery_and_ttl(logical_id):
    # moto accepts but does not apply these; AWS does. Guard them against accidental removal.
    properties = load_template(TABLE_TEMPLATE)["Resources"][logical_id]["Properties"]
    assert properties["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    ttl = properties["TimeToLiveSpecification"]
    if logical_id == "UsersTable":  # a parameter: empty (the default) turns it off
        assert ttl == {
            "Fn::If": [
                "HasTimeToLive",
                {"AttributeName": {"Ref": "UsersTtlAttributeName"}, "Enabled": True},
                {"Ref": "AWS::NoValue"},
            ]
        }
    else:
        assert ttl["Enabled"] is True
    assert properties["DeletionProtectionEnabled"] == {"Ref": "DeletionProtection"}


def test_time_to_live_is_off_by_default_and_on_for_a_named_attribute():
    with Emulator() as emulator:  # applies the template's TimeToLiveSpecification, moto does not

        def status(parameters: dict[str, str]) -> dict[str, Any]:
            stack = emulator.create_stack(f"ttl-{uuid.uuid4().hex[:8]}", parameters=parameters)
            described = emulator.client("dynamodb").describe_time_to_live(
                TableName=stack.table_name
            )
            ttl: dict[str, Any] = described["TimeToLiveDescription"]
            return ttl

        assert status({"UsersTtlAttributeName": ""})["TimeToLiveStatus"] == "DISABLED"
        enabled = status({"UsersTtlAttributeName": "valid_until"})
        assert (enabled["TimeToLiveStatus"], enabled["AttributeName"]) == (
            "ENABLED",
            "valid_until",
        )


def test_alarms_watch_iterator_age_errors_and_the_on_failure_queue():
    resources = load_template(TABLE_TEMPLATE)["Resources"]
    alarms = {
        (str(r["Properties"]["Namespace"]), r["Properties"]["MetricName"])
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    app = str({"Ref": "MetricsNamespace"})  # the app's own metrics: tests/infra/test_dashboard.py
    assert alarms == {
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/Lambda", "Errors"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        (app, "WelcomeEmailsRejected"),
        (app, "RecordsFailed"),
        (app, "StreamLag"),
        (app, "LedgerClaimsLost"),
    }
