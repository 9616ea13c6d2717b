"""The embedded emulator: loopback only, the stack from infra/, SES, Time to Live stand-in."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from devtools.emulator import Emulator, EmulatorError, Stack, TtlSweeper


@pytest.fixture
def stack(users_stack: Stack) -> Stack:
    return users_stack


def test_the_stack_from_infra_is_created_through_cloudformation(emulator, stack):
    cloudformation = emulator.client("cloudformation")
    [described] = cloudformation.describe_stacks(StackName=stack.name)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    table = emulator.client("dynamodb").describe_table(TableName=stack.table_name)["Table"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["LatestStreamArn"] == stack.stream_arn
    emulator.client("dynamodb").describe_table(TableName=stack.ledger_table)
    attributes = emulator.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["QueueArn"]
    )
    assert attributes["Attributes"]["QueueArn"] == stack.queue_arn


def test_resources_moto_cannot_create_are_named(stack):
    assert {kind for _, kind in stack.skipped} == {"AWS::CloudWatch::Alarm"}
    assert len(stack.skipped) >= 1


def test_time_to_live_from_the_template_is_enabled(emulator, stack):
    described = emulator.client("dynamodb").describe_time_to_live(TableName=stack.table_name)
    assert described["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": stack.parameters["UsersTtlAttributeName"],
    }


def test_the_sweeper_deletes_only_expired_items_and_marks_their_removals(emulator, stack):
    dynamodb = emulator.client("dynamodb")
    attribute = stack.parameters["UsersTtlAttributeName"]
    now = int(time.time())
    for user, expires in (("old", now - 10), ("fresh", now + 3600), ("never", None)):
        item = {"id": {"S": user}}
        if expires is not None:
            item[attribute] = {"N": str(expires)}
        dynamodb.put_item(TableName=stack.table_name, Item=item)
    sweeper = TtlSweeper(dynamodb, stack.table_name)
    assert sweeper.sweep() == [{"id": {"S": "old"}}]
    left = {i["id"]["S"] for i in dynamodb.scan(TableName=stack.table_name)["Items"]}
    assert {"fresh", "never"} <= left
    assert "old" not in left
    removal = {"eventName": "REMOVE", "dynamodb": {"Keys": {"id": {"S": "old"}}}}
    assert sweeper.mark(removal)["userIdentity"] == {
        "PrincipalId": "dynamodb.amazonaws.com",
        "Type": "Service",
    }
    assert "userIdentity" not in sweeper.mark(removal)  # each sweep marks one removal
    user_delete = {"eventName": "REMOVE", "dynamodb": {"Keys": {"id": {"S": "fresh"}}}}
    assert "userIdentity" not in sweeper.mark(user_delete)


def test_a_verified_sender_can_send_and_the_email_is_read_back(emulator):
    recipient = f"{uuid.uuid4().hex[:8]}@example.com"
    emulator.verify_sender("sender@example.com")
    emulator.client("ses").send_email(
        Source="sender@example.com",
        Destination={"ToAddresses": [recipient]},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}},
    )
    [email] = [e for e in emulator.sent_emails() if recipient in e.to]
    assert (email.source, email.subject) == ("sender@example.com", "Hi")


def test_the_function_environment_points_only_at_the_emulator(emulator, stack):
    env = emulator.function_environment(stack, "sender@example.com")
    assert env["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["LEDGER_TABLE"] == stack.ledger_table
    assert env["REPORT_BATCH_ITEM_FAILURES"] == "true"
    assert env["AWS_ACCOUNT_ID_ENDPOINT_MODE"] == "disabled"


def test_only_loopback_addresses_are_accepted():
    with pytest.raises(EmulatorError, match="loopback"):
        Emulator(host="0.0.0.0")


def test_a_busy_port_is_an_error_not_a_hang():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(EmulatorError, match="cannot listen"):
            Emulator(port=taken.getsockname()[1]).start()


def test_stopping_releases_the_port():
    emulator = Emulator().start()
    port = emulator.port
    emulator.client("dynamodb").list_tables()
    emulator.stop()
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))
    with pytest.raises(EmulatorError, match="not running"):
        _ = emulator.endpoint_url
