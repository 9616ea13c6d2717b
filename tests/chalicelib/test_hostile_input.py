"""Hostile and malformed input: only the documented errors escape, and they say where.

The decoder gets arbitrary JSON and attribute values with unknown tags, wrong payload types, bad
base64 and numbers and deep nesting; the whole handler gets arbitrary payloads and real stream
events with any part broken. What is asserted is what a user sees: the error type, the record and
field it names, the log lines, the emails sent, and the failure reported to Lambda.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.decoding import MAX_DEPTH, DecodeError, decode_image, decode_value
from chalicelib.errors import BatchFailedError, RecordError
from chalicelib.ports import NoLedger
from chalicelib.redaction import scrub_text
from chalicelib.service import UsersStream
from chalicelib.welcome import EmailMessage
from devtools.stream_events import FakeStream, serialize_value

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)

BAD_NUMBERS: list[Any] = [
    "", " 1", "1 ", "NaN", "nan", "sNaN", "Infinity", "-inf", "1_000", "0x10", "1e", "--1", "+1",
    "1.2.3", "\u0661\u0662", "\u00b2", ".", "e5", "1e+", None, 1, 1.5, True, [], {},
]  # fmt: skip
EXTREME_NUMBERS = ["1e999999999", "-1e-999999999", "9" * 400, "0." + "0" * 300 + "1", "1E+125"]
BAD_BASE64 = ["A", "AB=", "====", "A===", "!!!!", "QUJD\n", " QUJD", "QUJD====", "Zg", 5, None, []]
BROKEN_LEAVES: list[Any] = [
    *({"N": n} for n in BAD_NUMBERS),
    *({"B": b} for b in BAD_BASE64),
    {"NULL": False}, {"NULL": None}, {"NULL": "true"}, {"BOOL": "true"}, {"BOOL": 1},
    {"S": 5}, {"S": None}, {"S": ["a"]}, {"SS": ["a", 1]}, {"SS": "a"}, {"NS": ["1", "x"]},
    {"NS": "1"}, {"BS": ["!!"]}, {"BS": "QQ=="}, {"M": []}, {"M": "x"}, {"L": {}}, {"L": "x"},
    {}, {"S": "a", "N": "1"}, {"s": "lower-case tag"}, {"": ""}, [], "S", 0, None,
]  # fmt: skip

valid_leaves = st.one_of(
    st.text(max_size=8).map(lambda s: {"S": s}),
    st.sampled_from(["0", "-1", "1.5", "1E+3", ".5", "5.", *EXTREME_NUMBERS]).map(
        lambda n: {"N": n}
    ),
    st.binary(max_size=8).map(serialize_value),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.sets(st.text(max_size=4), min_size=1, max_size=3).map(serialize_value),
    st.just({"NS": ["1", "2.5"]}),
    st.just({"BS": ["QQ==", ""]}),
)
broken_leaves = st.one_of(
    st.sampled_from(BROKEN_LEAVES),
    st.text(max_size=4)
    .filter(lambda t: t not in {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
    .map(lambda tag: {tag: "x"}),
    json_values,
)


def attribute_values(names: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        valid_leaves | broken_leaves,
        lambda inner: st.one_of(
            st.dictionaries(names, inner, max_size=3).map(lambda m: {"M": m}),
            st.lists(inner, max_size=3).map(lambda items: {"L": items}),
        ),
        max_leaves=10,
    )


plain_names = st.text(alphabet="abcxyz", min_size=1, max_size=3)
any_names = st.text(max_size=6)
hostile_images = st.dictionaries(any_names, attribute_values(any_names), max_size=4)
traceable_images = st.dictionaries(plain_names, attribute_values(plain_names), max_size=4)


def nested(tag: str, depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "bottom"}
    for _ in range(depth):
        value = {"M": {"a": value}} if tag == "M" else {"L": [value]}
    return value


# -- the decoder ------------------------------------------------------------------------------


def attempt(call: Callable[[], Any], *expected: type[Exception]) -> tuple[Any, Any]:
    """(result, None) or (None, the error): any exception not ``expected`` fails the test."""
    try:
        return call(), None
    except expected as error:
        return None, error


@FUZZ
@given(st.one_of(hostile_images, json_values))
def test_the_decoder_raises_only_decode_error(image):
    decoded, error = attempt(lambda: decode_image(image), DecodeError)
    if error is None:
        assert isinstance(decoded, dict)
        assert decoded.keys() == image.keys()
    else:
        assert error.reason


_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def resolve(image: dict[str, Any], path: str) -> tuple[str, Any]:
    """Follow a DecodeError path through the raw image: ("value", av) or ("member", av)."""
    steps = [(name, int(index) if index else None) for index, name in _STEP.findall(path)]
    (first, _), *rest = steps
    where: tuple[str, Any] = ("value", image[first])
    for name, index in rest:
        kind, av = where
        assert kind == "value"
        ((tag, payload),) = av.items()
        if index is None:
            assert tag == "M"
            where = ("value", payload[name])
        elif tag == "L":
            where = ("value", payload[index])
        else:
            assert tag in ("SS", "NS", "BS")
            where = ("member", {tag: [payload[index]]})
    return where


@FUZZ
@given(traceable_images)
def test_a_decode_error_names_the_attribute_that_is_broken(image):
    _, error = attempt(lambda: decode_image(image), DecodeError)
    if error is not None:
        assert error.path, "a map of named attributes always has a named fault"
        _, broken = resolve(image, error.path)
        with pytest.raises(DecodeError):  # the value (or set member) it names is the bad one
            decode_value(broken)


SENTINEL = "Sentinel-Personal-Data"


@FUZZ
@given(
    st.sampled_from(["N", "B", "S", "NULL", "BOOL", "NS", "BS", "SS", "L", "M"]),
    st.text(min_size=1, max_size=6),
)
def test_a_decode_error_never_quotes_the_value(tag, name):
    broken = {tag: [SENTINEL, 7] if tag in ("S", "SS", "NS", "BS") else SENTINEL}
    with pytest.raises(DecodeError) as raised:
        decode_image({name: {"M": {"inner": broken}}})
    assert SENTINEL not in str(raised.value)
    assert raised.value.path == f"{name}.inner" or raised.value.path.startswith(f"{name}.inner[")


@pytest.mark.parametrize("tag", ["M", "L"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000])
def test_huge_nesting_is_refused_by_name_without_exhausting_the_stack(tag, depth):
    with pytest.raises(DecodeError, match=f"deeper than {MAX_DEPTH}") as raised:
        decode_image({"deep": nested(tag, depth)})
    assert raised.value.path.startswith("deep")
    assert decode_image({"deep": nested(tag, MAX_DEPTH)})["deep"] is not None


# -- whole handler events ---------------------------------------------------------------------

NOT_STREAM_EVENTS: list[Any] = [
    None, [], "Records", 42, {}, {"Records": None}, {"Records": {}}, {"Records": "x"},
    {"records": []},
    {"Records": [{"eventSource": "aws:sqs", "body": "{}", "messageId": "1"}]},
    {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "k"}}}]},
    {"Records": [{"eventSource": "aws:kinesis", "kinesis": {"data": "e30="}}]},
    {"httpMethod": "GET", "path": "/", "headers": {}},
    {"source": "aws.events", "detail": {}},
]  # fmt: skip
TOP_FIELDS = ["eventName", "eventID", "eventSource", "dynamodb", "eventSourceARN", "userIdentity"]
BODY_FIELDS = [
    "SequenceNumber", "Keys", "NewImage", "OldImage", "ApproximateCreationDateTime",
    "SizeBytes", "StreamViewType",
]  # fmt: skip
ODD_VALUES: list[Any] = [
    "", "INSERT ", "insert", "REMOVE", "\u00b2", "12a", "-1", 10**400, -(10**400), 1e308,
    float("nan"), float("inf"), True, [], {}, "KEYS_ONLY", "aws:dynamodb",
]  # fmt: skip

users = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=6)},
    optional={
        "email": st.sampled_from(["a@example.com", "not-an-address", "x@y\r\nBcc: z@evil.test"]),
        "name": st.text(max_size=10),
        "age": st.integers(-5, 200),
    },
)


@st.composite
def mutated_records(draw: st.DrawFn, stream: FakeStream) -> Any:
    user = draw(users)
    kind = draw(st.sampled_from(["insert", "modify", "remove", "ttl_expiry"]))
    if kind == "modify":
        record = stream.modify(user, {**user, "age": 1})
    else:
        record = getattr(stream, kind)(user)
    mutation = draw(st.sampled_from(["none", "none", "top", "drop", "body", "image", "whole"]))
    body = record["dynamodb"]
    if mutation == "top":
        record[draw(st.sampled_from(TOP_FIELDS))] = draw(st.sampled_from(ODD_VALUES) | json_values)
    elif mutation == "drop":
        field = draw(st.sampled_from(TOP_FIELDS + BODY_FIELDS))
        (body if field in BODY_FIELDS else record).pop(field, None)
    elif mutation == "body":
        value = draw(st.sampled_from(ODD_VALUES) | json_values | hostile_images)
        body[draw(st.sampled_from(BODY_FIELDS))] = value
    elif mutation == "image":
        image = body.setdefault(draw(st.sampled_from(["Keys", "NewImage", "OldImage"])), {})
        image[draw(st.sampled_from(["id", "email", "name", "profile"]))] = draw(
            attribute_values(any_names)
        )
    elif mutation == "whole":
        return draw(json_values)
    return record


@st.composite
def hostile_events(draw: st.DrawFn) -> Any:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.sampled_from(NOT_STREAM_EVENTS) | json_values)
    if choice == 1:
        return {"Records": draw(st.lists(json_values, max_size=3))}
    stream = FakeStream()
    return {"Records": draw(st.lists(mutated_records(stream), min_size=1, max_size=6))}


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.sent.append(message)
        return f"msg-{len(self.sent)}"


def sequence_of(record: Any) -> Any:
    try:
        return record["dynamodb"]["SequenceNumber"]
    except (KeyError, TypeError, IndexError):
        return None


@settings(FUZZ, max_examples=300)
@given(hostile_events(), st.booleans())
def test_the_handler_fails_only_with_documented_errors_and_never_skips_a_record(
    event, report_failures
):
    logs = io.StringIO()
    sender = RecordingSender()
    env = {"WELCOME_EMAIL_SENDER": "hello@example.com"}
    if report_failures:
        env["REPORT_BATCH_ITEM_FAILURES"] = "true"
    service = UsersStream(environ=env, sender=sender, ledger=NoLedger(), log_stream=logs)

    response, error = attempt(lambda: service.handle(event), BatchFailedError, RecordError)
    if isinstance(error, BatchFailedError):
        assert error.handled == error.error.index
        error = error.error

    text = logs.getvalue()
    assert text.splitlines() == text.split("\n")[:-1] or not text  # user text breaks no line
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    handled = [
        line["sequence_number"] for line in lines if line["message"] in ("change", "ttl_expiry")
    ]
    failures = [line for line in lines if line["message"] == "record_failed"]
    welcomed = [
        line["sequence_number"] for line in lines if line["message"] == "welcome_email_sent"
    ]
    records: Any = event.get("Records") if isinstance(event, dict) else None

    if response is not None and not response["batchItemFailures"]:
        assert error is None
        assert failures == []
        assert handled == [sequence_of(r) for r in records]  # every record, in order
    else:
        if error is None:  # reported to Lambda as a partial batch failure
            assert report_failures
            (failure,) = response["batchItemFailures"]
            index, field = failures[0]["index"], failures[0]["field"]
            assert failure["itemIdentifier"] == sequence_of(records[index])
        else:
            assert str(error).startswith(f"record {error.index} ")
            assert [line["index"] for line in failures] == [error.index]
            index, field = error.index, error.field
        (line,) = failures
        # The log line masks anything shaped like an address, even in a field's path (an
        # attribute may be named after one): privacy before precision.
        assert line["field"] == (scrub_text(field) if field else field)
        # The field at fault is named, unless the record itself is not an object at all.
        assert field or line["cause"] == "record is not an object"
        assert field or not isinstance(records[index], dict)
        if isinstance(records, list):
            assert handled == [
                sequence_of(r) for r in records[:index]
            ]  # before it: all; after: none
        else:
            assert handled == []
    assert set(welcomed) <= set(handled)
    assert len(sender.sent) == len(welcomed)
