"""The log: one JSON line per change, images redacted, no email address in any line."""

from __future__ import annotations

import base64
import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.changelog import ChangeLog
from chalicelib.logline import json_default
from chalicelib.records import Change
from chalicelib.redaction import Redactor
from chalicelib.service import UsersStream
from chalicelib.sink import LineSink, make_logger
from devtools.stream_events import FakeStream
from tests.chalicelib.conftest import LogLines, MakeService, RecordingSender
from tests.chalicelib.strategies import PROPERTY, attribute_names, dynamodb_numbers

ADA = {"id": "u1", "email": "ada@example.com", "name": "Ada", "age": Decimal(36)}


class Written:
    """A ChangeLog whose lines are written at once to ``logs`` (as the runner writes them)."""

    def __init__(self, logs: LogLines, names: tuple[str, ...], level: str = "INFO") -> None:
        self.lines = ChangeLog(level, Redactor(names))
        self.sink = LineSink(make_logger(level, logs))

    def change(self, change: Change) -> None:
        self.sink.write(self.lines.change(change))

    def event(self, level: int, message: str, change: Change | None = None, **fields: Any) -> None:
        self.sink.write(self.lines.event(level, message, change, **fields))


def change_log(logs: LogLines, names: tuple[str, ...] = ("email", "name")) -> Written:
    return Written(logs, names)


def test_a_change_line_has_every_field(stream: FakeStream, logs: LogLines) -> None:
    old = ADA
    new = {**ADA, "age": Decimal(37), "city": "London"}
    raw = stream.modify(old, new)

    change_log(logs).change(Change(raw))

    (line,) = logs.getvalue().splitlines()
    assert json.loads(line) == {
        "level": "INFO",
        "message": "change",
        "event": "MODIFY",
        "table": "Users",
        "keys": {"id": "u1"},
        "sequence_number": raw["dynamodb"]["SequenceNumber"],
        "event_id": raw["eventID"],
        "created": "2023-11-14T22:13:21+00:00",
        "size_bytes": raw["dynamodb"]["SizeBytes"],
        "ttl_expiry": False,
        "changed": ["age", "city"],
        "old_image": {"id": "u1", "email": "***", "name": "***", "age": 36},
        "new_image": {"id": "u1", "email": "***", "name": "***", "age": 37, "city": "London"},
    }


def test_inserts_and_removes(stream: FakeStream, logs: LogLines) -> None:
    log = change_log(logs)

    log.change(Change(stream.insert(ADA)))
    log.change(Change(stream.remove(ADA)))

    insert, remove = logs.entries()
    assert (insert["event"], insert["message"], insert["old_image"]) == ("INSERT", "change", None)
    assert insert["changed"] == ["age", "email", "id", "name"]
    assert (remove["event"], remove["message"], remove["new_image"]) == ("REMOVE", "change", None)
    assert remove["old_image"] == {"id": "u1", "email": "***", "name": "***", "age": 36}
    assert remove["ttl_expiry"] is False


def test_ttl_expiries_are_logged_as_expiries(stream: FakeStream, logs: LogLines) -> None:
    change_log(logs).change(Change(stream.ttl_expiry(ADA)))

    (entry,) = logs.entries()
    assert entry["message"] == "ttl_expiry"
    assert entry["ttl_expiry"] is True
    assert entry["event"] == "REMOVE"


def test_keys_only_lines_say_nothing_about_images(logs: LogLines) -> None:
    stream = FakeStream(view_type="KEYS_ONLY")

    change_log(logs).change(Change(stream.modify(ADA, {**ADA, "age": 37})))

    (entry,) = logs.entries()
    assert (entry["changed"], entry["old_image"], entry["new_image"]) == (None, None, None)
    assert entry["keys"] == {"id": "u1"}


def test_values_are_written_exactly(stream: FakeStream, logs: LogLines) -> None:
    item = {
        "id": "u1",
        "small": Decimal("1E+2"),
        "fraction": Decimal("0.10"),
        "huge": Decimal("1" + "0" * 40),
        "beyond_double": Decimal(2**53),
        "tiny": Decimal("1E-130"),
        "avatar": b"\x00\xff",
        "tags": {"b", "a", "c"},
        "scores": {Decimal(3), Decimal("1.5")},
        "blobs": {b"z", b"a"},
        "flags": [True, None],
    }

    change_log(logs, names=()).change(Change(stream.insert(item)))

    image = logs.entries()[0]["new_image"]
    assert image["small"] == 100
    assert image["fraction"] == "0.10"
    assert Decimal(image["huge"]) == item["huge"]
    assert image["beyond_double"] == str(2**53)
    assert Decimal(image["tiny"]) == Decimal("1E-130")
    assert base64.b64decode(image["avatar"]) == b"\x00\xff"
    assert image["tags"] == ["a", "b", "c"]
    assert image["scores"] == ["1.5", 3]
    assert image["blobs"] == [base64.b64encode(b).decode() for b in (b"a", b"z")]
    assert image["flags"] == [True, None]


@PROPERTY
@given(dynamodb_numbers())
def test_numbers_in_lines_read_back_exactly(number: Decimal) -> None:
    text = json.dumps(number, default=json_default)

    assert Decimal(json.loads(text)) == number


def test_json_default_refuses_what_an_image_cannot_hold() -> None:
    with pytest.raises(TypeError):
        json_default(object())


def test_below_info_no_change_line_is_written(stream: FakeStream, logs: LogLines) -> None:
    log = Written(logs, ("email",), "WARNING")

    log.change(Change(stream.insert(ADA)))
    log.event(logging.INFO, "welcome_email_sent")
    log.event(logging.ERROR, "record_failed", cause="x")

    assert logs.messages() == ["record_failed"]


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_what_is_set_up_on_the_logger_still_applies(stream: FakeStream, logs: LogLines) -> None:
    logger = make_logger("INFO", logs)
    sink = LineSink(logger)
    lines = ChangeLog("INFO", Redactor(["email"])).change(
        Change(stream.modify(ADA, {**ADA, "age": Decimal(37)}))
    )

    sink.write(lines)  # the app's handler alone
    extra = Collected()
    logger.addHandler(extra)
    sink.write(lines)  # another handler: both get the line
    logger.addFilter(lambda record: False)
    sink.write(lines)  # a filter that drops every line

    assert len(logs.entries()) == 2
    assert [json.loads(m) for m in extra.messages] == logs.entries()[1:]


def test_a_handler_level_above_the_line_is_honoured(stream: FakeStream, logs: LogLines) -> None:
    logger = make_logger("INFO", logs)
    logger.handlers[0].setLevel(logging.WARNING)

    LineSink(logger).write(
        ChangeLog("INFO", Redactor(["email"])).change(Change(stream.insert(ADA)))
    )

    assert logs.getvalue() == ""


def test_event_lines_carry_the_record_and_redacted_keys(stream: FakeStream, logs: LogLines) -> None:
    raw = stream.insert({"id": "u1", "name": "Ada"})
    stream.key_names = ("id", "name")
    keyed = stream.insert({"id": "u2", "name": "Bea"})

    log = change_log(logs)
    log.event(logging.INFO, "welcome_email_sent", Change(raw), message_id="m-1")
    log.event(logging.WARNING, "welcome_email_skipped", Change(keyed), reason="no_email")

    sent, skipped = logs.entries()
    assert sent == {
        "level": "INFO",
        "message": "welcome_email_sent",
        "sequence_number": raw["dynamodb"]["SequenceNumber"],
        "event_id": raw["eventID"],
        "keys": {"id": "u1"},
        "message_id": "m-1",
    }
    assert skipped["level"] == "WARNING"
    assert skipped["keys"] == {"id": "u2", "name": "***"}


# --- through the service: one line per change, configured redaction -------------------------


def test_one_line_per_change_in_order(make_service: MakeService, logs: LogLines) -> None:
    stream = FakeStream()
    users = [{"id": f"u{i}", "age": i} for i in range(4)]
    event = stream.event(
        [
            stream.insert(users[0]),
            stream.modify(users[0], users[1] | {"id": "u0"}),
            stream.remove(users[2]),
            stream.ttl_expiry(users[3]),
        ]
    )

    make_service().handle(event)

    changes = [e for e in logs.entries() if e["message"] in ("change", "ttl_expiry")]
    assert [(e["event"], e["message"]) for e in changes] == [
        ("INSERT", "change"),
        ("MODIFY", "change"),
        ("REMOVE", "change"),
        ("REMOVE", "ttl_expiry"),
    ]
    assert [e["sequence_number"] for e in changes] == [
        r["dynamodb"]["SequenceNumber"] for r in event["Records"]
    ]
    assert logs.messages() == ["change", "welcome_email_skipped", "change", "change", "ttl_expiry"]


def test_email_and_name_are_redacted_by_default(
    make_service: MakeService, logs: LogLines, stream: FakeStream
) -> None:
    profile = {"name": "Ada", "emergency": [{"name": "Bob", "email": "bob@example.org"}]}
    old = {"id": "u1", "profile": profile, "email": "ada@example.com"}
    new = {**old, "name": "Ada L."}

    make_service().handle(stream.event([stream.modify(old, new)]))

    (entry,) = logs.entries()
    redacted = {"name": "***", "emergency": [{"name": "***", "email": "***"}]}
    assert entry["old_image"] == {"id": "u1", "profile": redacted, "email": "***"}
    assert entry["new_image"]["name"] == "***"


def test_redacted_attributes_are_configurable(
    make_service: MakeService, logs: LogLines, stream: FakeStream
) -> None:
    item = {
        "id": "u1",
        "name": "Ada",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "devices": [{"ssn": "078-05-1120", "model": "X"}],
    }

    make_service({"REDACT_ATTRIBUTES": " phone , ssn "}).handle(stream.event([stream.remove(item)]))

    (entry,) = logs.entries()
    assert entry["old_image"] == {
        "id": "u1",
        "name": "Ada",
        "email": "<email>",  # not in the list, but an address is never written
        "phone": "***",
        "devices": [{"ssn": "***", "model": "X"}],
    }


# --- the property: no email address ever reaches the log ---------------------------------------

no_at = st.text(max_size=12).filter(lambda t: "@" not in t)
leaves = st.one_of(
    no_at, st.emails(), dynamodb_numbers(), st.binary(max_size=8), st.booleans(), st.none()
)
with_emails = st.recursive(
    st.one_of(leaves, st.sets(st.one_of(no_at, st.emails()), min_size=1, max_size=3)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(no_at, st.emails()), children, max_size=3),
    ),
    max_leaves=10,
)
names = attribute_names.filter(lambda t: "@" not in t)
user_items = st.fixed_dictionaries(
    {"id": st.one_of(no_at.filter(bool), st.emails()), "contact": st.emails()},
    optional={"email": st.emails(), "name": st.one_of(no_at, st.emails())},
).flatmap(
    lambda base: st.dictionaries(st.one_of(names, st.emails()), with_emails, max_size=4).map(
        lambda extra: {**extra, **base}
    )
)


def addresses_in(value: Any) -> set[str]:
    """Every address in ``value``: only generated addresses hold an @ in these items."""
    if isinstance(value, str):
        return {value} if "@" in value else set()
    if isinstance(value, dict):
        return set().union(*(addresses_in(k) | addresses_in(v) for k, v in value.items()))
    if isinstance(value, list | set):
        return set().union(*(addresses_in(v) for v in value))
    return set()


@PROPERTY
@given(
    old=user_items,
    new=user_items,
    kind=st.sampled_from(["insert", "modify", "remove", "ttl_expiry"]),
    redact=st.sampled_from([None, "", "email,name", "phone"]),
    view=st.sampled_from(["NEW_AND_OLD_IMAGES", "KEYS_ONLY", "NEW_IMAGE"]),
)
def test_no_email_address_ever_appears_in_the_log(
    old: dict[str, Any], new: dict[str, Any], kind: str, redact: str | None, view: str
) -> None:
    new["id"] = old["id"]
    stream = FakeStream(view_type=view)
    record = stream.modify(old, new) if kind == "modify" else getattr(stream, kind)(old)
    env = {"WELCOME_EMAIL_SENDER": "welcome@example.com"}
    if redact is not None:
        env["REDACT_ATTRIBUTES"] = redact
    logs = LogLines()
    service = UsersStream(environ=env, sender=RecordingSender(), log_stream=logs)

    service.handle(stream.event([record]))

    output = logs.getvalue()
    assert output.count("\n") >= 1
    for address in addresses_in(old) | addresses_in(new):
        assert address not in output
