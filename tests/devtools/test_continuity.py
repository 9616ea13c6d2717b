"""Stream continuity: the poller follows its table to a new stream, losing and inventing nothing."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from devtools.pipeline import JsonFileCheckpoints, MappingConfig, Poller, Progress
from devtools.pipeline.continuity import Health, StreamWatch, stale_keys, table_of
from devtools.pipeline.mapping import checkpoint_key
from tests.devtools.conftest import Recorder, StreamTable, create_stream_table


def _recreate(table: StreamTable) -> str:
    """Delete the table and create it again with a stream: a new stream ARN."""
    table.dynamodb.delete_table(TableName=table.name)
    time.sleep(0.01)  # moto's stream label has millisecond resolution
    return create_stream_table(table.dynamodb, table.name)


def _poller(table: StreamTable, handler: Any, out: io.StringIO, **kwargs: Any) -> Poller:
    config = MappingConfig(
        function_name="follow",
        stream_arn=table.stream_arn,
        starting_position="TRIM_HORIZON",
        poll_interval=0.01,
    )
    return Poller(
        config,
        handler,
        table.emulator.client("dynamodbstreams"),
        progress=Progress(out, json_lines=True),
        watch=StreamWatch(table.dynamodb, every=0.05),
        **kwargs,
    )


def _events(out: io.StringIO, kind: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [line for line in lines if line["kind"] == kind]


def _drain_until(poller: Poller, done: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        poller.step()
        time.sleep(0.005)


def test_a_recreated_table_is_followed_and_nothing_is_lost_or_repeated(table, tmp_path):
    recorder = Recorder()
    out = io.StringIO()
    checkpoints = JsonFileCheckpoints(tmp_path / "cp.json", "follow|" + table.stream_arn)
    poller = _poller(table, recorder, out, checkpoints=checkpoints)
    table.put_many(3, prefix="before")
    poller.drain()
    table.put_many(2, prefix="unread")  # written to the old stream, not yet read
    new_arn = _recreate(table)
    table.put_many(2, prefix="after")
    _drain_until(poller, lambda: sum(map(len, recorder.batches)) >= 7)
    poller.drain()
    ids = [user for batch in recorder.batches for user in batch]
    assert ids == ["before0", "before1", "before2", "unread3", "unread4", "after5", "after6"]
    [change] = _events(out, "stream")
    assert change["stream_arn"] == new_arn
    assert change["old_stream_arn"] == table.stream_arn
    assert poller.stats.stream_changes == 1
    assert {r["eventSourceARN"] for r in recorder.events[-1]["Records"]} == {new_arn}
    saved = json.loads((tmp_path / "cp.json").read_text())["mappings"]
    assert list(saved) == [f"follow|{new_arn}"]  # the dead stream's entry is pruned


def test_a_deleted_table_is_said_once_and_the_poller_waits(table):
    out = io.StringIO()
    poller = _poller(table, Recorder(), out, unreachable_after=0.2)
    poller.drain()
    table.dynamodb.delete_table(TableName=table.name)
    deadline = time.monotonic() + 0.6
    while time.monotonic() < deadline:
        poller.step()
        time.sleep(0.01)
    warnings = [w["message"] for w in _events(out, "warning")]
    assert warnings == [f"table {table.name} is gone; waiting for it to have a stream again"]


def test_an_endpoint_that_never_answers_stops_the_poller_with_a_line_naming_it():
    health = Health("http://127.0.0.1:9", limit=5)
    assert health.failed(OSError("refused"), now=100) == "OSError: refused"
    health.ok()
    assert health.failed(OSError("refused"), now=200) == "OSError: refused"
    with pytest.raises(RuntimeError, match=r"the stream at http://127.0.0.1:9 has not answered"):
        health.failed(OSError("refused"), now=205)


def test_stale_keys_are_this_functions_other_streams_of_the_same_table():
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2026-01-02T00:00:00.000"
    config = MappingConfig(function_name="f", stream_arn=arn)
    stale = stale_keys(config)
    assert not stale(checkpoint_key(config))
    assert stale(f"f|{arn[:-3]}999")
    assert not stale(f"g|{arn[:-3]}999")
    assert not stale(f"f|{arn.replace('Users', 'Other')}")
    assert not stale("not a key")
    assert table_of(arn) == "Users"
    with pytest.raises(ValueError, match="not a DynamoDB stream ARN"):
        table_of("arn:aws:sqs:us-east-1:1:queue")
