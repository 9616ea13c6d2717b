"""The contenders of each figure do the same work, so that their ratio means something; the
SES stand-in answers real boto3; the report judges a ratio against its target as stated.
Nothing here is timed."""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from typing import Any

import pytest

from benchmarks import decode, handler
from benchmarks.emails import SENDER, _ses_client, ses_stand_in
from benchmarks.report import Report, Row
from benchmarks.workload import NO_INSERT_MIX, sized_batch
from chalicelib.adapters.ses import SesEmailSender
from chalicelib.welcome import compose_welcome


def comparable(value: Any, *, binary_as_text: bool = False) -> Any:
    """Decoded values in one form: boto3's Binary as bytes; Powertools' base64 text (it does
    not decode binary) as bytes when ``binary_as_text``."""
    if isinstance(value, dict):
        return {k: comparable(v, binary_as_text=binary_as_text) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v, binary_as_text=binary_as_text) for v in value]
    if isinstance(value, set):
        return {comparable(v, binary_as_text=binary_as_text) for v in value}
    if type(value).__name__ == "Binary":
        return bytes(value.value)
    return value


def test_the_three_decoders_decode_every_image_to_the_same_values() -> None:
    event = sized_batch(120).event
    ours, theirs, powertools = (make(event, keep=True)() for make in decode.CONTENDERS.values())
    assert ours is not None
    assert theirs is not None
    assert powertools is not None

    assert len(ours) == 3 * 120
    assert [comparable(v) for v in theirs] == ours
    avatars = 0
    for mine, pt in zip(ours, powertools, strict=True):
        if mine is None:
            assert pt == {}  # Powertools: an image a record does not carry is empty
            continue
        for name, value in mine.items():
            if isinstance(value, bytes):  # Powertools leaves binary as the base64 text
                assert base64.b64decode(pt[name]) == value
                avatars += 1
            else:
                assert pt[name] == value
                assert type(pt[name]) is type(value) or isinstance(value, Decimal)
    assert avatars > 100


def _without_metrics(lines: list[str]) -> list[str]:
    """users-stream's log lines: it also writes its invocation's one metrics line
    (chalicelib.metrics) to the sink."""
    metrics = [line for line in lines if line.startswith('{"_aws"')]
    assert len(metrics) == 1
    return [line for line in lines if line not in metrics]


def test_both_handlers_write_the_same_log_lines() -> None:
    event = sized_batch(150, mix=NO_INSERT_MIX).event
    lines = {}
    for name, make in handler.CONTENDERS.items():
        sink = io.StringIO()
        make(event, sink)()
        lines[name] = sink.getvalue().splitlines()

    lines["users-stream"] = _without_metrics(lines["users-stream"])
    assert len(lines["users-stream"]) == 150
    assert lines["Powertools"] == lines["users-stream"]
    first = json.loads(lines["users-stream"][0])
    assert first["old_image"]["email"] == "***"
    assert "@" not in "".join(lines["users-stream"])


def test_the_handler_benchmark_refuses_to_send_email() -> None:
    with pytest.raises(AssertionError, match="must not send"):
        handler.RefusingSender().send(compose_welcome({"email": "a@example.com"}, SENDER))


def test_the_ses_stand_in_answers_the_real_boto3_client() -> None:
    message = compose_welcome({"email": "ada@example.com", "name": "Ada"}, SENDER)
    with ses_stand_in(latency=0) as server:
        client = _ses_client(server.endpoint, 4)
        message_id = SesEmailSender(client_factory=lambda: client).send(message)

        assert len(message_id) == 32
        assert server.recipients == {"ada@example.com": 1}


@pytest.mark.parametrize(
    ("row", "verdict"),
    [
        (Row("f", "1", "2", 0.5, 0.5), True),
        (Row("f", "1", "2", 0.51, 0.5), False),
        (Row("f", "1", "2", 8.0, 8, at_least=True), True),
        (Row("f", "1", "2", 7.9, 8, at_least=True), False),
        (Row("f", "1", "2"), None),
    ],
)
def test_a_ratio_passes_only_within_its_target(row: Row, verdict: bool | None) -> None:
    assert row.passed is verdict
    assert row.cells()[-1] == {True: "pass", False: "FAIL", None: ""}[verdict]


def test_the_report_names_command_machine_and_every_figure() -> None:
    report = Report(command="python -m benchmarks")
    report.add(Row("1. Decode", "53 ms", "boto3 113 ms", 0.47, 0.5))
    report.section("1. Decoding", "how it was measured")

    text = report.markdown("benchmark-decode.png")

    assert "`python -m benchmarks`" in text
    assert "Machine:" in text
    assert "Python 3." in text
    assert "| 1. Decode | 53 ms | boto3 113 ms | 0.47x | <= 0.5x | pass |" in text
    assert "![Decode time against batch size](benchmark-decode.png)" in text
    assert "## 1. Decoding" in text


def test_on_a_live_users_table_both_handlers_write_the_same_lines_and_emails() -> None:
    from benchmarks.users_table import users_table_batch

    event = users_table_batch(limit=400_000).event
    lines = {}
    for name, make in handler.CONTENDERS.items():
        sink = io.StringIO()
        make(event, sink, handler.InstantSender())()
        lines[name] = sink.getvalue().splitlines()

    lines["users-stream"] = _without_metrics(lines["users-stream"])
    assert lines["Powertools"] == lines["users-stream"]
    messages = [json.loads(line)["message"] for line in lines["users-stream"]]
    assert {"change", "welcome_email_sent", "welcome_email_rejected"} <= set(messages)
    assert messages.count("change") == len(event["Records"])
    assert {r["eventName"] for r in event["Records"]} == {"INSERT", "MODIFY", "REMOVE"}
    assert "@" not in "".join(lines["users-stream"])
