"""Events that others published (tests/events/README.md names each source): every well-formed
one is handled cleanly, whatever optional field it leaves out; a tumbling-window event's state
is passed on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.chalicelib.conftest import LogLines, MakeService, RecordingSender

EVENTS = Path(__file__).resolve().parents[1] / "events"
PUBLISHED = sorted(p.name for p in EVENTS.glob("*.json"))
KEYED_ID_N = {"USERS_TABLE_KEY": "Id:N"}  # every one of them comes from a table keyed Id (N)


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def test_the_published_events_are_all_here() -> None:
    assert PUBLISHED == [
        "java-libs_dynamodb_event.json",
        "java-libs_dynamodb_time_window_event.json",
        "powertools-python_dynamoStreamEvent.json",
        "sam-cli_DynamoDBUpdate.json",
    ]


@pytest.mark.parametrize("name", PUBLISHED)
def test_every_published_event_is_handled_cleanly(
    name: str, make_service: MakeService, logs: LogLines
) -> None:
    event = load(name)
    records = event["Records"]
    sender = RecordingSender()

    response = make_service({**KEYED_ID_N, "REPORT_BATCH_ITEM_FAILURES": "true"}, sender).handle(
        event
    )

    assert response["batchItemFailures"] == []
    changes = logs.with_message("change")
    assert [c["sequence_number"] for c in changes] == [
        r["dynamodb"]["SequenceNumber"] for r in records
    ]
    assert [c["event"] for c in changes] == [r["eventName"] for r in records]
    for change, record in zip(changes, records, strict=True):
        body = record["dynamodb"]
        assert change["keys"] == {"Id": int(body["Keys"]["Id"]["N"])}
        assert change["event_id"] == record.get("eventID")
        assert change["size_bytes"] == body.get("SizeBytes")
        assert (change["created"] is None) is ("ApproximateCreationDateTime" not in body)
    assert logs.with_message("record_failed") == []
    # None of these new items has an email attribute: no email, and a line that says why.
    inserts = sum(r["eventName"] == "INSERT" for r in records)
    assert [e["reason"] for e in logs.with_message("welcome_email_skipped")] == [
        "no_email"
    ] * inserts
    assert sender.sent == []


def test_records_without_a_creation_time_log_null(
    make_service: MakeService, logs: LogLines
) -> None:
    """Issue 11, case 1: the developer guide's, Powertools' and aws-lambda-java-libs' records
    have no ApproximateCreationDateTime; they used to fail."""
    event = load("java-libs_dynamodb_event.json")
    assert "ApproximateCreationDateTime" not in event["Records"][0]["dynamodb"]

    make_service(KEYED_ID_N).handle(event)

    created = [c["created"] for c in logs.with_message("change")]
    assert created == [None, None, None, "2015-09-03T18:34:00+00:00"]


def test_a_tumbling_window_events_state_is_passed_on(make_service: MakeService) -> None:
    event = load("java-libs_dynamodb_time_window_event.json")

    response = make_service(KEYED_ID_N).handle(event)

    assert response == {"batchItemFailures": [], "state": {"1": "state1"}}


def test_the_final_invocation_of_a_window_has_no_records_and_keeps_its_state(
    make_service: MakeService,
) -> None:
    event = load("java-libs_dynamodb_time_window_event.json")
    event.update(Records=[], isFinalInvokeForWindow=True)

    assert make_service(KEYED_ID_N).handle(event) == {
        "batchItemFailures": [],
        "state": {"1": "state1"},
    }


def test_a_window_without_state_gets_an_empty_one(make_service: MakeService) -> None:
    event = load("java-libs_dynamodb_time_window_event.json")
    del event["state"]

    assert make_service(KEYED_ID_N).handle(event)["state"] == {}


def test_with_the_default_key_schema_they_fail_naming_the_key(
    make_service: MakeService, logs: LogLines
) -> None:
    """The default schema is the template's (id, a string): a table keyed Id (N) is another
    table, and its first record fails, naming the field, rather than getting a shared key."""
    event = load("sam-cli_DynamoDBUpdate.json")

    response = make_service({"REPORT_BATCH_ITEM_FAILURES": "true"}).handle(event)

    first = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": first}]}
    (line,) = logs.with_message("record_failed")
    assert line["field"] == "dynamodb.Keys.id"
    assert "id:S" in line["cause"]
