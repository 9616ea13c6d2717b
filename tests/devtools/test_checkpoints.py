"""Checkpoint stores: what one poller writes, the next one reads."""

from __future__ import annotations

import json

import pytest

from devtools.pipeline import Checkpoint, JsonFileCheckpoints, MemoryCheckpoints


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
