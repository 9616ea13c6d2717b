"""The real app behind the local pipeline: stack from infra/, real boto3 over HTTP, moto's SES."""

from __future__ import annotations

import json
import uuid

from devtools.emulator import Emulator, Stack
from devtools.pipeline import Poller, Progress, SqsDestination, discover
from tests.apps import fresh_app

SENDER = "welcome@example.com"


def test_the_app_logs_every_change_and_welcomes_each_new_user_once(
    emulator: Emulator, users_stack: Stack, monkeypatch, capsys
):
    emulator.verify_sender(SENDER)
    for name, value in emulator.function_environment(users_stack, SENDER).items():
        monkeypatch.setenv(name, value)
    app_module = fresh_app()  # a new container: the settings set above, read at its first batch
    [found] = discover(
        app_module.app,
        module=app_module,
        stream_arn=users_stack.stream_arn,
        report_batch_item_failures=True,
        on_failure_destination=users_stack.queue_arn,
        poll_interval=0.01,
    )
    poller = Poller(
        found.config,
        found.handler,
        emulator.client("dynamodbstreams"),
        destination=SqsDestination(users_stack.queue_arn, lambda: emulator.client("sqs")),
        progress=Progress(quiet=True),
    )
    poller.drain()  # LATEST, as the app says: positioned after anything already written
    tag = uuid.uuid4().hex[:8]
    ada, bob = f"ada-{tag}", f"bob-{tag}"
    table, dynamodb = users_stack.table_name, emulator.client("dynamodb")
    item = {"id": {"S": ada}, "email": {"S": f"{ada}@example.com"}, "name": {"S": "Ada"}}
    dynamodb.put_item(TableName=table, Item=item)
    dynamodb.update_item(  # an upsert: moto emits two INSERTs, the first with the key only
        TableName=table,
        Key={"id": {"S": bob}},
        UpdateExpression="SET email = :e",
        ExpressionAttributeValues={":e": {"S": f"{bob}@example.com"}},
    )
    dynamodb.put_item(TableName=table, Item=item)  # changes nothing: moto still emits MODIFY
    dynamodb.delete_item(TableName=table, Key={"id": {"S": ada}})
    poller.drain()

    emails = [e for e in emulator.sent_emails() if any(tag in to for to in e.to)]
    assert sorted(to for e in emails for to in e.to) == [f"{ada}@example.com", f"{bob}@example.com"]
    assert all(e.source == SENDER for e in emails)
    output = capsys.readouterr().out
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    changes = [(line["event"], line["keys"]["id"]) for line in lines if line["message"] == "change"]
    assert changes == [
        ("INSERT", ada),
        ("INSERT", bob),
        ("INSERT", bob),
        ("MODIFY", ada),
        ("REMOVE", ada),
    ]
    assert "@example.com" not in output  # addresses are redacted from every line
    assert poller.stats.function_errors == 0
    assert poller.stats.records_handled == 5
