"""Settings from environment variables: documented defaults, and a ConfigurationError naming the
variable for anything invalid."""

from __future__ import annotations

import pytest

from chalicelib.errors import ConfigurationError
from chalicelib.settings import (
    PLACEHOLDER_STREAM_ARN,
    Settings,
    StreamSettings,
    refuse_placeholder_deploy,
)

README_PLACEHOLDER = (
    "arn:aws:dynamodb:us-east-1:000000000000:table/Users/stream/1970-01-01T00:00:00.000"
)


def test_stream_defaults() -> None:
    assert StreamSettings.from_environ({}) == StreamSettings(
        stream_arn=README_PLACEHOLDER, batch_size=100, batching_window=0, starting_position="LATEST"
    )
    assert PLACEHOLDER_STREAM_ARN == README_PLACEHOLDER


def test_stream_settings_from_the_environment() -> None:
    arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/Users/stream/2024-05-01T00:00:00.000"
    env = {
        "USERS_TABLE_STREAM_ARN": f" {arn} ",
        "STREAM_BATCH_SIZE": "250",
        "STREAM_BATCHING_WINDOW_SECONDS": "5",
        "STREAM_STARTING_POSITION": "trim_horizon",
    }

    assert StreamSettings.from_environ(env) == StreamSettings(arn, 250, 5, "TRIM_HORIZON")


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_values_mean_the_default(blank: str) -> None:
    env = {
        "USERS_TABLE_STREAM_ARN": blank,
        "STREAM_BATCH_SIZE": blank,
        "STREAM_BATCHING_WINDOW_SECONDS": blank,
        "STREAM_STARTING_POSITION": blank,
    }

    assert StreamSettings.from_environ(env) == StreamSettings.from_environ({})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STREAM_BATCH_SIZE", "0"),
        ("STREAM_BATCH_SIZE", "10001"),
        ("STREAM_BATCH_SIZE", "ten"),
        ("STREAM_BATCH_SIZE", "1.5"),
        ("STREAM_BATCHING_WINDOW_SECONDS", "-1"),
        ("STREAM_BATCHING_WINDOW_SECONDS", "301"),
        ("STREAM_STARTING_POSITION", "AT_TIMESTAMP"),
    ],
)
def test_invalid_stream_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        StreamSettings.from_environ({name: value})


def test_bounds_are_inclusive() -> None:
    low = StreamSettings.from_environ({"STREAM_BATCH_SIZE": "1"})
    high = StreamSettings.from_environ(
        {"STREAM_BATCH_SIZE": "10000", "STREAM_BATCHING_WINDOW_SECONDS": "300"}
    )

    assert (low.batch_size, high.batch_size, high.batching_window) == (1, 10_000, 300)


SENDER_ONLY = {"WELCOME_EMAIL_SENDER": "welcome@example.com"}


def test_handler_defaults() -> None:
    assert Settings.from_environ(SENDER_ONLY) == Settings(
        sender="welcome@example.com",
        report_failures=False,
        log_level="INFO",
        redact=("email", "name"),
        ledger_table="",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" 1 ", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_report_batch_item_failures(value: str, expected: bool) -> None:
    env = {**SENDER_ONLY, "REPORT_BATCH_ITEM_FAILURES": value}

    assert Settings.from_environ(env).report_failures is expected


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_an_unreadable_flag_is_an_error_not_a_guess(value: str) -> None:
    with pytest.raises(ConfigurationError, match="REPORT_BATCH_ITEM_FAILURES"):
        Settings.from_environ({**SENDER_ONLY, "REPORT_BATCH_ITEM_FAILURES": value})


def test_handler_settings_from_the_environment() -> None:
    env = {
        "WELCOME_EMAIL_SENDER": " hello@example.com ",
        "REPORT_BATCH_ITEM_FAILURES": "true",
        "LOG_LEVEL": "debug",
        "REDACT_ATTRIBUTES": "phone, email,,phone , ssn",
        "LEDGER_TABLE": "users-stream-ledger",
    }

    assert Settings.from_environ(env) == Settings(
        sender="hello@example.com",
        report_failures=True,
        log_level="DEBUG",
        redact=("email", "phone", "ssn"),
        ledger_table="users-stream-ledger",
    )


def test_an_empty_redaction_list_redacts_nothing() -> None:
    assert Settings.from_environ({**SENDER_ONLY, "REDACT_ATTRIBUTES": ""}).redact == ()


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="LOG_LEVEL"):
        Settings.from_environ({"LOG_LEVEL": "VERBOSE"})


@pytest.mark.parametrize(
    ("stream_arn", "argv", "stops"),
    [
        (PLACEHOLDER_STREAM_ARN, ["/venv/bin/chalice", "deploy", "--stage", "dev"], True),
        (PLACEHOLDER_STREAM_ARN, ["chalice", "--project-dir", "p", "deploy"], True),
        (PLACEHOLDER_STREAM_ARN, ["chalice", "package", "build"], False),
        (PLACEHOLDER_STREAM_ARN, ["/var/runtime/bootstrap.py"], False),  # Lambda
        (PLACEHOLDER_STREAM_ARN, [], False),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/U/stream/x", ["chalice", "deploy"], False),
    ],
)
def test_only_chalice_deploy_on_the_placeholder_stream_is_stopped(stream_arn, argv, stops):
    stream = StreamSettings.from_environ({"USERS_TABLE_STREAM_ARN": stream_arn})
    if stops:
        with pytest.raises(SystemExit, match="deploy the table first"):
            refuse_placeholder_deploy(stream, argv)
    else:
        refuse_placeholder_deploy(stream, argv)
