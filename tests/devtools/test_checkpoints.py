"""Checkpoint stores: what one poller writes, the next one reads; a poller restarted, or
killed mid-batch, resumes where its checkpoint says (against moto over HTTP)."""

from __future__ import annotations

import json

import pytest

from devtools.pipeline import Checkpoint, JsonFileCheckpoints, MemoryCheckpoints
from tests.devtools.conftest import Recorder


def test_memory_store_keeps_the_latest_checkpoint_per_shard():
    store = MemoryCheckpoints()
    assert store.get("s1") is None
    store.put("s1", Checkpoint("10"))
    store.put("s1", Checkpoint("12"))
    store.put("s2", Checkpoint("5", inclusive=True))
    assert store.snapshot() == {"s1": Checkpoint("12"), "s2": Checkpoint("5", inclusive=True)}


def test_a_file_store_is_read_back_by_a_new_store(tmp_path):
    path = tmp_path / "state" / "checkpoints.json"
    first = JsonFileCheckpoints(path, "fn|arn")
    first.put("s1", Checkpoint("10"))
    first.put("s0", Checkpoint("3", drained=True))
    again = JsonFileCheckpoints(path, "fn|arn")
    assert again.get("s1") == Checkpoint("10")
    assert again.get("s0") == Checkpoint("3", drained=True)
    assert JsonFileCheckpoints(path, "other|arn").get("s1") is None


def test_mappings_share_a_file_without_overwriting_each_other(tmp_path):
    path = tmp_path / "checkpoints.json"
    one, two = JsonFileCheckpoints(path, "one"), JsonFileCheckpoints(path, "two")
    one.put("s1", Checkpoint("10"))
    two = JsonFileCheckpoints(path, "two")
    two.put("s1", Checkpoint("99"))
    assert JsonFileCheckpoints(path, "one").get("s1") == Checkpoint("10")
    assert JsonFileCheckpoints(path, "two").get("s1") == Checkpoint("99")


def test_the_file_is_replaced_whole_and_no_temporary_file_is_left(tmp_path):
    path = tmp_path / "checkpoints.json"
    store = JsonFileCheckpoints(path, "m")
    for n in range(5):
        store.put("s1", Checkpoint(str(n)))
    assert json.loads(path.read_text())["mappings"]["m"]["s1"]["sequence_number"] == "4"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoints.json"]


@pytest.mark.parametrize("text", ['["not", "a", "store"]', '{"mappings": 3}'])
def test_a_file_that_is_not_a_checkpoint_file_is_refused(tmp_path, text):
    path = tmp_path / "checkpoints.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="not a checkpoint file"):
        JsonFileCheckpoints(path, "m")


def test_a_restarted_in_memory_emulator_leaves_a_stale_entry_that_is_pruned(tmp_path):
    from devtools.pipeline import MappingConfig
    from devtools.pipeline.continuity import stale_keys
    from devtools.pipeline.mapping import checkpoint_key

    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/{}"
    before = MappingConfig(function_name="fn", stream_arn=stream.format("2026-01-01T00:00:00"))
    after = MappingConfig(function_name="fn", stream_arn=stream.format("2026-01-02T00:00:00"))
    other = MappingConfig(function_name="other", stream_arn=before.stream_arn)
    path = tmp_path / "checkpoints.json"
    for config in (before, other):
        JsonFileCheckpoints(path, checkpoint_key(config)).put("s1", Checkpoint("10"))
    resumed = JsonFileCheckpoints(path, checkpoint_key(before))
    assert resumed.get("s1") == Checkpoint("10")  # same stream: resumes
    assert resumed.prune(stale_keys(before)) == []
    restarted = JsonFileCheckpoints(path, checkpoint_key(after))
    assert restarted.get("s1") is None  # a new stream: nothing to resume
    assert restarted.prune(stale_keys(after)) == [checkpoint_key(before)]
    mappings = json.loads(path.read_text())["mappings"]
    assert set(mappings) == {checkpoint_key(other)}


def test_a_restarted_poller_resumes_after_its_checkpoint(table, make_poller, tmp_path):
    path = tmp_path / "checkpoints.json"
    recorder = Recorder()
    first = make_poller(
        recorder, checkpoints=JsonFileCheckpoints(path, "m"), starting_position="LATEST"
    )
    first.drain()  # LATEST: positioned at the end, nothing yet
    handled = table.put_many(3)
    first.drain()
    written_while_down = table.put_many(2)
    again = Recorder()
    make_poller(
        again, checkpoints=JsonFileCheckpoints(path, "m"), starting_position="LATEST"
    ).drain()
    assert [i for b in recorder.batches for i in b] == handled
    assert [i for b in again.batches for i in b] == written_while_down
    saved = json.loads(path.read_text())["mappings"]["m"]
    assert [entry["sequence_number"] for entry in saved.values()] == [
        again.sequence_numbers[-1][-1]
    ]


class ProcessDied(BaseException):
    """Stands for the handler process being killed mid-batch."""


def test_a_crash_mid_batch_redelivers_that_batch_after_a_restart(table, make_poller, tmp_path):
    path = tmp_path / "checkpoints.json"
    done = table.put_many(2)
    make_poller(Recorder(), checkpoints=JsonFileCheckpoints(path, "m")).drain()
    in_flight = table.put_many(2)

    def die(event, context):
        raise ProcessDied

    with pytest.raises(ProcessDied):
        make_poller(Recorder(die), checkpoints=JsonFileCheckpoints(path, "m")).drain()
    recorder = Recorder()
    make_poller(recorder, checkpoints=JsonFileCheckpoints(path, "m")).drain()
    assert recorder.batches == [in_flight]
    assert done[0] not in in_flight


def test_a_crash_in_the_very_first_batch_does_not_skip_it_on_latest(table, make_poller, tmp_path):
    path = tmp_path / "checkpoints.json"

    def die(event, context):
        raise ProcessDied

    first = make_poller(
        Recorder(die),
        checkpoints=JsonFileCheckpoints(path, "m"),
        starting_position="LATEST",
    )
    first.drain()
    ids = table.put_many(2)
    with pytest.raises(ProcessDied):
        first.drain()
    recorder = Recorder()
    make_poller(
        recorder, checkpoints=JsonFileCheckpoints(path, "m"), starting_position="LATEST"
    ).drain()
    assert recorder.batches == [ids]
