"""Every command line: help on every flag, and each mistake is one line with the right status."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence

import pytest

from benchmarks import __main__ as benchmarks_main
from benchmarks import pipeline as benchmarks_pipeline
from devtools import cli, demo, poller, replay
from tests.devtools.conftest import StreamTable
from tests.devtools.processes import run_module

UNREACHABLE = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "build",
    [
        poller.parser,
        replay.parser,
        demo.parser,
        benchmarks_main.parser,
        benchmarks_pipeline.parser,
    ],
)
def test_every_flag_has_help_text(build):
    for action in build()._actions:
        assert action.help, f"{action.option_strings} has no help"
    assert "--debug" in build().format_help()


def _run(main: Callable[[list[str]], int], argv: Sequence[str]) -> tuple[int, list[str]]:
    err = io.StringIO()
    status = cli.run(main, list(argv), prog="tool", stderr=err)
    return status, err.getvalue().splitlines()


ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2026-01-01T00:00:00.000"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--batch-size", "0"], "argument --batch-size: must be between 1 and 10000, not 0"),
        (["--poll-interval", "-1"], "argument --poll-interval: must be 0 or more, not -1"),
        (["--timeout", "0"], "argument --timeout: must be more than 0, not 0"),
        (["--maximum-record-age", "5"], None),  # accepted by argparse, refused by the mapping
        (["--stream-arn", "not-an-arn"], "not an ARN: 'not-an-arn'"),
        (["--stream-arn", ARN, "--app", "nosuch"], "--app nosuch: no such module"),
        (["--endpoint-url", "localhost:8000"], "--endpoint-url must be an http(s) URL"),
        (["--bisect", "maybe"], "expected true or false, not 'maybe'"),
    ],
)
def test_poller_usage_errors_are_one_line_with_exit_2(argv, says):
    status, lines = _run(
        poller.main, [*argv] if "--stream-arn" in argv else [*argv, "--stream-arn", ARN]
    )
    assert status == 2, lines
    assert len(lines) == 1
    assert lines[0].startswith("tool: error: ")
    if says:
        assert says in lines[0]


def test_poller_on_an_endpoint_that_does_not_answer_is_one_line_naming_it():
    status, lines = _run(poller.main, ["--endpoint-url", UNREACHABLE, "--stream-arn", ARN])
    assert status == 1
    assert len(lines) == 1
    assert f"cannot reach {UNREACHABLE}" in lines[0]


def test_poller_with_a_broken_checkpoint_file_or_no_table(table: StreamTable, tmp_path):
    broken = tmp_path / "cp.json"
    broken.write_text("{not json")
    url = table.emulator.endpoint_url
    argv = [
        "--endpoint-url",
        url,
        "--stream-arn",
        table.stream_arn,
        "--checkpoint-file",
        str(broken),
    ]
    status, lines = _run(poller.main, argv)
    assert (status, len(lines)) == (2, 1)
    assert "is not a checkpoint file (not JSON)" in lines[0]
    status, lines = _run(poller.main, ["--endpoint-url", url, "--table", "no-such-table"])
    assert (status, lines) == (
        2,
        ["tool: error: no table no-such-table at the endpoint: pass --table or --stream-arn"],
    )


def test_poller_without_a_stream_arn_reads_the_tables_latest_stream(
    table: StreamTable, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    url = table.emulator.endpoint_url
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")  # restored (unset) after the test
    monkeypatch.setenv("WELCOME_EMAIL_SENDER", "")
    built = poller.build(poller.parser().parse_args(["--endpoint-url", url, "--table", table.name]))
    assert built.config.stream_arn == table.stream_arn
    assert built.watch is not None
    assert os.environ["AWS_ENDPOINT_URL"] == url  # the handler's clients go to the emulator too
    warnings = [event["message"] for event in built.progress.of_kind("warning")]
    assert warnings[0].startswith("AWS_ENDPOINT_URL is not set: the handler's clients")
    assert warnings[1].startswith("WELCOME_EMAIL_SENDER is not set")
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_replay_with_a_wrong_queue_or_endpoint_is_one_line_and_debug_shows_the_traceback(
    table: StreamTable,
):
    url = table.emulator.endpoint_url
    wrong_queue = f"{url}/123456789012/no-such-queue"
    done = run_module("devtools.replay", "--queue-url", wrong_queue, "--endpoint-url", url)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("python -m devtools.replay: error: ReceiveMessage failed: ")
    done = run_module("devtools.replay", "--queue-url", wrong_queue, "--endpoint-url", UNREACHABLE)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert f"cannot reach {UNREACHABLE}" in line
    done = run_module(
        "devtools.replay", "--queue-url", wrong_queue, "--endpoint-url", UNREACHABLE, "--debug"
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last):" in done.stderr
    done = run_module("devtools.replay", "--queue-url", wrong_queue, "--attempts", "0")
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1


def test_demo_and_benchmarks_usage_errors():
    assert _run(demo.main, ["--port", "70000"])[0] == 2
    status, lines = _run(benchmarks_main.main, ["--only", "nope"])
    assert (status, lines) == (2, ["tool: error: --only: unknown figures: nope"])
    status, lines = _run(benchmarks_pipeline.main, ["--records", "0"])
    assert status == 2
    assert len(lines) == 1


def test_demo_on_a_busy_port_is_one_line(emulator):
    status, lines = _run(demo.main, ["--port", str(emulator.port)])
    assert status == 1
    assert len(lines) == 1
    assert "cannot start the emulator: cannot listen on 127.0.0.1:" in lines[0]
    assert "make run PORT=8001" in lines[0]
