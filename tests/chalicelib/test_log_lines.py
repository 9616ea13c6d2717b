"""Log lines that never lose a line and always parse (issue 11, case 6)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.logline import MAX_LINE_BYTES
from chalicelib.ports import Unmarked
from chalicelib.service import UsersStream
from devtools.stream_events import FakeStream
from tests.chalicelib.conftest import LogLines, MakeService, RecordingSender

ADA = {"id": "u1", "email": "ada@example.com", "name": "Ada"}


def test_a_value_that_cannot_be_encoded_is_escaped_not_dropped(
    make_service: MakeService, logs: LogLines
) -> None:
    stream = FakeStream()
    forged = {"id": "u1", "bio": "half a pair: \ud800 and \udfff."}

    make_service().handle(stream.event([stream.insert(forged)]))

    raw = logs.getvalue()
    raw.encode("utf-8")  # the line can be written: nothing unencodable in it
    (line,) = [e for e in logs.entries() if e["message"] == "change"]
    # Each half-pair is written as its code, in plain text: the line parses, and says so.
    assert line["new_image"]["bio"] == "half a pair: \\ud800 and \\udfff."


@given(st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=20))
def test_any_string_gives_a_line_that_encodes_and_parses(text: str) -> None:
    stream = FakeStream()
    logs = LogLines()
    UsersStream(
        environ={"WELCOME_EMAIL_SENDER": "w@example.com"}, sender=RecordingSender(), log_stream=logs
    ).handle(stream.event([stream.modify({"id": "u1", "t": "x"}, {"id": "u1", "t": text})]))

    logs.getvalue().encode("utf-8")
    written = "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    assert logs.entries()[0]["new_image"]["t"] == written


def big_item(size: int) -> dict[str, Any]:
    return {"id": "u1", "blob": "x" * size, "plan": "pro"}


def test_a_390_kb_modify_stays_under_the_cloudwatch_limit_and_parses(
    make_service: MakeService, logs: LogLines
) -> None:
    """The item is DynamoDB's maximum size, both images of it: 780 KB of JSON before."""
    stream = FakeStream()
    old, new = big_item(390_000), {**big_item(390_000), "plan": "free"}
    record = stream.modify(old, new)

    make_service().handle(stream.event([record]))

    (raw,) = logs.getvalue().splitlines()
    assert len(raw.encode("utf-8")) <= MAX_LINE_BYTES < 262_144 - 26
    line = json.loads(raw)
    assert line["event"] == "MODIFY"
    assert line["keys"] == {"id": "u1"}
    assert line["sequence_number"] == record["dynamodb"]["SequenceNumber"]
    assert line["changed"] == ["plan"]  # small fields stay
    assert set(line["cut"]) == {"old_image", "new_image"}
    for field in ("old_image", "new_image"):
        assert line["cut"][field] > 390_000  # the full size, in bytes
        assert line[field] == f"<cut: {line['cut'][field]} bytes>"


def test_a_line_just_under_the_limit_is_not_cut(make_service: MakeService, logs: LogLines) -> None:
    stream = FakeStream()

    make_service().handle(stream.event([stream.insert(big_item(200_000))]))

    line = json.loads(logs.getvalue().splitlines()[0])
    assert "cut" not in line
    assert len(line["new_image"]["blob"]) == 200_000


def test_multibyte_text_is_measured_in_bytes(make_service: MakeService, logs: LogLines) -> None:
    stream = FakeStream()

    make_service().handle(stream.event([stream.insert(big_item(0) | {"blob": "€" * 90_000})]))

    (raw,) = logs.getvalue().splitlines()[:1]
    assert len(raw.encode("utf-8")) <= MAX_LINE_BYTES
    assert json.loads(raw)["cut"] == {"new_image": pytest.approx(270_000, rel=0.01)}


@pytest.mark.parametrize(
    "attribute", ["name", "Name", "NAME", "full_name", "firstName", "display-name", "names"]
)
def test_redaction_ignores_case_and_matches_words(
    attribute: str, make_service: MakeService, logs: LogLines
) -> None:
    stream = FakeStream()
    item = {"id": "u1", attribute: "Ada Lovelace", "plan": "pro"}

    make_service({"REDACT_ATTRIBUTES": "email,name"}).handle(stream.event([stream.insert(item)]))

    assert "Ada Lovelace" not in logs.getvalue()
    assert logs.entries()[0]["new_image"] == {"id": "u1", attribute: "***", "plan": "pro"}


def test_redaction_reaches_set_members_and_any_depth(
    make_service: MakeService, logs: LogLines
) -> None:
    stream = FakeStream()
    item = {
        "id": "u1",
        "Aliases": {"Names": {"Ada", "Augusta"}},  # a string set under a matching name
        "history": [{"profile": {"FullName": "Ada King"}}],
        "username": "ada1815",
    }

    make_service({"REDACT_ATTRIBUTES": "name,*user*"}).handle(stream.event([stream.insert(item)]))

    output = logs.getvalue()
    for planted in ("Augusta", "Ada King", "ada1815"):
        assert planted not in output
    image = logs.entries()[0]["new_image"]
    assert image["Aliases"] == {"Names": "***"}
    assert image["history"] == [{"profile": {"FullName": "***"}}]
    assert image["username"] == "***"


class ForgetfulLedger:
    """The email goes out, and the done mark cannot be written (as DynamoDBLedger reports it)."""

    def once(self, key: str, action: Any) -> str | None:
        return Unmarked(action(), open_until=1_700_000_120)


def test_a_failed_done_mark_logs_a_warning_naming_the_open_window(
    make_service: MakeService, logs: LogLines
) -> None:
    stream = FakeStream()
    sender = RecordingSender()

    response = make_service(sender=sender, ledger=ForgetfulLedger()).handle(
        stream.event([stream.insert(ADA)])
    )

    assert response == {"batchItemFailures": []}
    assert len(sender.sent) == 1
    assert logs.messages() == ["change", "welcome_email_sent", "welcome_email_not_marked_done"]
    warning = logs.entries()[-1]
    assert warning["level"] == "WARNING"
    assert warning["duplicate_window_open_until"] == 1_700_000_120
    assert "sends it again" in warning["reason"]
    assert warning["keys"] == {"id": "u1"}


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_on_a_real_text_stream_the_line_is_valid_utf8(errors: str) -> None:
    """Lambda's standard output encodes to UTF-8 and refuses a lone surrogate (strict); in the
    POSIX locale Python's would write some of them as raw bytes instead (surrogateescape).
    Either way the line arrives, as valid UTF-8 that parses."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors=errors, write_through=True)
    stream = FakeStream()
    forged = {"id": "u1", "bio": "\udc80\ud800 end"}

    UsersStream(
        environ={"WELCOME_EMAIL_SENDER": "w@example.com"}, sender=RecordingSender(), log_stream=out
    ).handle(stream.event([stream.insert(forged)]))

    line = raw.getvalue().decode("utf-8").splitlines()[0]  # strict: valid UTF-8
    assert json.loads(line)["new_image"]["bio"] == "\\udc80\\ud800 end"
