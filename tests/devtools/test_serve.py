"""Serve mode's supervision: a part that fails is one line, then recovery or exit 1 + a summary."""

from __future__ import annotations

import io
import json
import threading
from typing import Any, cast

import boto3
import pytest
from botocore.config import Config

from devtools import serve
from devtools.emulator import Emulator, Stack
from devtools.pipeline import MappingConfig, Poller, Progress
from devtools.running import Console, Pipeline
from devtools.ttl import TtlSweeper


class FlakySweeper:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def sweep(self) -> list[Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError(f"sweep {self.calls} failed")
        return []


def _pipeline(emulator: Any, poller: Any, sweeper: Any, out: io.StringIO) -> Pipeline:
    stack = cast(Stack, None)
    return Pipeline(
        cast(Emulator, emulator), stack, poller, Console(True, out), sweeper, threading.Event()
    )


def _supervisor(emulator: Any, sweeper: Any, out: io.StringIO) -> serve.Supervisor:
    poller = Poller.__new__(Poller)
    poller.failure = None
    return serve.Supervisor(_pipeline(emulator, poller, sweeper, out))


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def fast_sweeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "SWEEP_EVERY", 0.0)


def test_a_failing_sweeper_is_one_line_each_time_and_stops_serving_the_third(emulator, fast_sweeps):
    out = io.StringIO()
    supervisor = _supervisor(emulator, FlakySweeper(5), out)
    assert supervisor.problem() is None
    assert supervisor.problem() is None
    problem = supervisor.problem()
    assert problem == "the Time to Live sweeper failed 3 times: OSError: sweep 3 failed"
    assert [line["message"] for line in _lines(out)] == [
        "the Time to Live sweeper failed (OSError: sweep 1 failed); trying again in 0s",
        "the Time to Live sweeper failed (OSError: sweep 2 failed); trying again in 0s",
    ]


def test_a_sweeper_that_recovers_says_so(emulator, fast_sweeps):
    out = io.StringIO()
    supervisor = _supervisor(emulator, FlakySweeper(1), out)
    assert supervisor.problem() is None
    assert supervisor.problem() is None
    assert [line["message"] for line in _lines(out)][-1] == "the Time to Live sweeper works again"


def test_a_stopped_emulator_is_a_problem():
    stopped = Emulator().start()
    stopped.stop()
    supervisor = _supervisor(stopped, FlakySweeper(0), io.StringIO())
    assert supervisor.problem() == "the emulator (moto's server) stopped serving"


def test_a_poller_that_dies_stops_serving_with_exit_1_and_a_summary(
    emulator: Emulator, users_stack: Stack
):
    streams = boto3.client(
        "dynamodbstreams",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    config = MappingConfig(function_name="f", stream_arn=users_stack.stream_arn, poll_interval=0.01)
    poller = Poller(
        config,
        lambda event, context: None,
        streams,
        progress=Progress(quiet=True),
        unreachable_after=0.3,
    )
    out = io.StringIO()
    sweeper = TtlSweeper(emulator.client("dynamodb"), users_stack.table_name)
    pipeline = Pipeline(
        emulator, users_stack, poller, Console(True, out), sweeper, threading.Event()
    )
    assert serve.serve(pipeline) == 1
    lines = _lines(out)
    [last] = [line for line in lines if line["kind"] == "error"]
    assert last["problem"].startswith(
        "the poller stopped: RuntimeError: the stream at http://127.0.0.1:9 has not answered"
    )
    assert last["message"].endswith("The emulator's state was in memory and is now gone.")
    assert not [line for line in lines if line["kind"] == "serving"]  # no banner: never served
