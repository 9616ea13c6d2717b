"""devtools.cli: every error is one line on stderr, with the right exit status."""

from __future__ import annotations

import argparse
import io
from collections.abc import Sequence

import boto3
import pytest
from botocore.config import Config
from hypothesis import given
from hypothesis import strategies as st

from devtools import cli


def _tool(action: object = None) -> object:
    def main(argv: Sequence[str]) -> int:
        p = cli.parser("tool", "A tool.")
        p.add_argument("--count", type=cli.positive_int, default=1, help="how many")
        p.parse_args(argv)
        if isinstance(action, BaseException):
            raise action
        return 0

    return main


def _run(main: object, argv: list[str]) -> tuple[int, list[str]]:
    err = io.StringIO()
    status = cli.run(main, argv, prog="tool", stderr=err)  # type: ignore[arg-type]
    return status, err.getvalue().splitlines()


def test_a_bad_value_is_a_one_line_usage_error_with_exit_2():
    status, lines = _run(_tool(), ["--count", "0"])
    assert status == 2
    assert lines == ["tool: error: argument --count: must be at least 1, not 0 (see --help)"]


def test_an_unknown_flag_is_a_usage_error():
    status, lines = _run(_tool(), ["--nope"])
    assert status == 2
    assert len(lines) == 1
    assert "unrecognized arguments: --nope" in lines[0]


def test_an_unreachable_endpoint_is_one_line_naming_it_with_exit_1():
    client = boto3.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )

    def main(argv: Sequence[str]) -> int:
        client.list_tables()
        return 0

    status, lines = _run(main, [])
    assert status == 1
    assert len(lines) == 1
    assert "cannot reach http://127.0.0.1:9" in lines[0]
    assert "--debug" in lines[0]


def test_debug_prints_the_traceback_as_well():
    status, lines = _run(_tool(RuntimeError("boom")), ["--debug"])
    assert status == 1
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "tool: error: RuntimeError: boom"


def test_an_aws_error_names_its_code_and_keeps_one_line_of_its_message():
    from botocore.exceptions import ClientError

    html = "<html>\n<body>" + "x" * 500 + "</body>\n</html>"
    exc = ClientError({"Error": {"Code": "404", "Message": html}}, "DescribeStream")
    status, lines = _run(_tool(exc), [])
    assert status == 1
    assert len(lines) == 1
    assert lines[0].startswith("tool: error: DescribeStream failed: 404: <html>")
    assert cli.error_code(exc) == "404"


def test_a_missing_file_and_ctrl_c():
    assert _run(_tool(FileNotFoundError(2, "No such file or directory", "x.json")), []) == (
        1,
        ["tool: error: No such file or directory: x.json (--debug for the traceback)"],
    )
    assert _run(_tool(KeyboardInterrupt()), []) == (130, ["tool: error: interrupted"])


def test_help_exits_0_and_every_flag_has_help(capsys):
    assert _run(_tool(), ["--help"]) == (0, [])
    assert "--debug" in capsys.readouterr().out


@given(st.text(max_size=12))
def test_number_types_accept_exactly_their_range(text):
    for kind, check in (
        (cli.positive_int, lambda v: isinstance(v, int) and v >= 1),
        (cli.positive_float, lambda v: v > 0),
        (cli.non_negative_float, lambda v: v >= 0),
    ):
        try:
            value = kind(text)
        except argparse.ArgumentTypeError:
            continue
        assert check(value)


def test_error_code_of_anything_that_is_not_an_aws_error_is_empty():
    assert cli.error_code(ValueError("x")) == ""
    with pytest.raises(argparse.ArgumentTypeError):
        cli.positive_int("1.5")
