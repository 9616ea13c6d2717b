"""The poller as a whole, against moto over HTTP: what the handler receives, and a poller run
in the background.

Each test writes through real boto3 clients to the emulator, runs the poller until it has
caught up and checks what the handler saw. What happens to each batch is in ``test_worker``
and ``test_invoke``, reading the shard in ``test_reader``, restarts in ``test_checkpoints``.
"""

from __future__ import annotations

import base64
import time

from chalicelib.records import Change
from tests.devtools.conftest import Recorder, StreamTable


def test_writes_reach_the_handler_in_order_as_lambda_events(table: StreamTable, make_poller):
    recorder = Recorder()
    poller = make_poller(recorder)
    before = time.time()
    table.put("ada", email="ada@example.com", avatar=b"\x00\xffpng")
    table.dynamodb.update_item(
        TableName=table.name,
        Key={"id": {"S": "ada"}},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Ada"}},
    )
    table.delete("ada")
    poller.drain()

    records = [record for event in recorder.events for record in event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)
    for record in records:
        assert record["eventSourceARN"] == table.stream_arn
        assert record["awsRegion"] == "us-east-1"
        assert record["eventSource"] == "aws:dynamodb"
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        assert type(created) is int
        assert before - 1 <= created <= time.time()
    # Binary arrives as base64 text, exactly as Lambda delivers it; the app's decoder reads it.
    inserted = records[0]["dynamodb"]["NewImage"]
    assert inserted["avatar"] == {"B": base64.b64encode(b"\x00\xffpng").decode()}
    change = Change(records[0], 0)
    assert change.new_image == {"id": "ada", "email": "ada@example.com", "avatar": b"\x00\xffpng"}
    modified = Change(records[1], 1)
    assert (modified.old_image, modified.new_image) == (
        {"id": "ada", "email": "ada@example.com", "avatar": b"\x00\xffpng"},
        {"id": "ada", "email": "ada@example.com", "avatar": b"\x00\xffpng", "name": "Ada"},
    )
    assert records[2]["dynamodb"]["OldImage"]["name"] == {"S": "Ada"}
    # The context looks like Lambda's.
    context = recorder.contexts[0]
    assert context.function_name == "test-function"
    assert context.invoked_function_arn == (
        "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    )
    assert 0 < context.get_remaining_time_in_millis() <= 60_000
    assert len({c.aws_request_id for c in recorder.contexts}) == len(recorder.contexts)


def test_a_background_poller_stops_cleanly_with_a_summary(table, make_poller):
    recorder = Recorder()
    poller = make_poller(recorder)
    poller.start()
    ids = table.put_many(3)
    poller.wait_until_caught_up(timeout=10)
    poller.stop()
    assert [i for b in recorder.batches for i in b] == ids
    [summary] = poller.progress.of_kind("summary")
    assert summary["stats"]["records_handled"] == 3
