"""The benchmark workload is what the figures claim: valid Lambda events of realistic Users
records, as many as fit in 6 MB, in the stated mix, the same on every run."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from benchmarks.workload import (
    DEFAULT_MIX,
    MAX_PAYLOAD_BYTES,
    NO_INSERT_MIX,
    Workload,
    max_batch,
    payload_bytes,
    sized_batch,
)
from chalicelib.decoding import decode_image
from chalicelib.records import Change


@pytest.fixture(scope="module")
def batch() -> Workload:
    return max_batch()


@pytest.fixture(scope="module")
def no_inserts() -> Workload:
    return max_batch(mix=NO_INSERT_MIX)


def compact_size(event: dict[str, Any]) -> int:
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8"))


def test_the_max_batch_fits_lambdas_6_mb_payload_and_nothing_more_would(batch: Workload) -> None:
    assert MAX_PAYLOAD_BYTES == 6_291_456
    size = compact_size(batch.event)
    assert size == batch.payload_bytes <= MAX_PAYLOAD_BYTES
    # The next record of the same stream would not fit: the batch is as large as Lambda allows.
    bigger = max_batch(limit=MAX_PAYLOAD_BYTES * 2)
    following = bigger.records[len(batch.records)]
    assert bigger.records[: len(batch.records)] == batch.records
    assert size + 1 + payload_bytes(following) > MAX_PAYLOAD_BYTES
    assert len(batch.records) > 1_000


def test_the_event_is_parsed_from_its_json_as_lambda_delivers_it(batch: Workload) -> None:
    # Two MODIFY records of the same plan: equal values, yet separate objects, as json.loads
    # makes them (the generator itself would hand out one shared string).
    plans = [
        r["dynamodb"]["NewImage"]["plan"]["S"]
        for r in batch.records[:200]
        if "NewImage" in r["dynamodb"]
    ]
    first = plans[0]
    twins = [plan for plan in plans[1:] if plan == first]
    assert twins
    assert all(twin is not first for twin in twins)


def test_every_record_is_a_valid_stream_record_whose_images_decode(batch: Workload) -> None:
    sequence_numbers = []
    for index, raw in enumerate(batch.records):
        change = Change(raw, index)  # the envelope is checked eagerly
        assert change.stream_view_type == "NEW_AND_OLD_IMAGES"
        assert change.table_name == "Users"
        body = raw["dynamodb"]
        for name in ("Keys", "NewImage", "OldImage"):
            if name in body:
                decode_image(body[name])
        assert ("NewImage" in body) == (change.event_name != "REMOVE")
        assert ("OldImage" in body) == (change.event_name != "INSERT")
        sequence_numbers.append(int(change.sequence_number))
    assert sequence_numbers == sorted(set(sequence_numbers))  # strictly increasing


def test_the_mix_of_event_types_is_as_stated(batch: Workload, no_inserts: Workload) -> None:
    counts = batch.counts()
    total = sum(counts.values())
    for name, share in DEFAULT_MIX.items():
        assert abs(counts[name] / total - share) < 0.05, counts
    assert no_inserts.counts()["INSERT"] == 0
    assert no_inserts.counts()["MODIFY"] > no_inserts.counts()["REMOVE"] > 0
    assert compact_size(no_inserts.event) <= MAX_PAYLOAD_BYTES


def tags_of(av: dict[str, Any], seen: Counter[str]) -> None:
    ((tag, value),) = av.items()
    seen[tag] += 1
    if tag == "M":
        for inner in value.values():
            tags_of(inner, seen)
    elif tag == "L":
        seen["L of M"] += all("M" in item for item in value)
        for inner in value:
            tags_of(inner, seen)


def test_every_user_image_holds_every_kind_of_value(batch: Workload) -> None:
    for raw in batch.records[:200]:
        body = raw["dynamodb"]
        image = body.get("NewImage") or body["OldImage"]
        seen: Counter[str] = Counter()
        for av in image.values():
            tags_of(av, seen)
        assert {"S", "N", "BOOL", "NULL", "SS", "NS", "B", "M", "L", "L of M"} <= set(seen)
        assert "." in image["balance"]["N"]  # decimals as well as integers
        assert image["profile"]["M"]["addresses"]["L"][0]["M"]["geo"]["M"]["lat"]["N"]


def test_an_update_changes_some_attributes_and_keeps_the_rest(batch: Workload) -> None:
    changed: Counter[str] = Counter()
    modifies = [raw["dynamodb"] for raw in batch.records if raw["eventName"] == "MODIFY"]
    for body in modifies:
        old, new = decode_image(body["OldImage"]), decode_image(body["NewImage"])
        names = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
        assert "login_count" in names & old.keys() & new.keys()
        assert len(names) < len(new)
        changed.update(names)
    assert changed["profile"] > 0
    assert changed["tags"] > 0


def test_the_workload_is_the_same_on_every_run(batch: Workload) -> None:
    again = max_batch()
    assert json.dumps(again.event) == json.dumps(batch.event)  # sets in a fixed order too
    other = sized_batch(50, seed=1)
    assert json.dumps(other.event) != json.dumps(sized_batch(50).event)


@pytest.mark.parametrize("size", [1, 100, 1_000])
def test_sized_batches_hold_exactly_that_many_records(size: int) -> None:
    workload = sized_batch(size)
    assert len(workload.records) == size
    assert workload.payload_bytes == compact_size(workload.event)
    assert sum(workload.counts().values()) == size
