"""``make run STATE=FILE``: a restarted pipeline has its tables, stream, ledger and emails back,
and its poller resumes after the last change it handled: nothing lost, nothing handled twice."""

from __future__ import annotations

import sys
from typing import Any

import boto3
import pytest

from devtools import cli, state
from tests.devtools.processes import Running, _env, _json, run_module


def _serve(path: str) -> tuple[Running, dict[str, Any]]:
    args = [sys.executable, "-m", "devtools.demo", "--serve", "--port", "0", "--json"]
    process = Running([*args, "--state", path], _env())
    banner = _json(process.wait_for(lambda line: _json(line).get("kind") == "serving", 120))
    return process, banner


def _dynamodb(banner: dict[str, Any]) -> Any:
    return boto3.client("dynamodb", endpoint_url=banner["endpoint_url"], region_name="us-east-1")


def _put(banner: dict[str, Any], user: str, email: str | None = None) -> None:
    item = {"id": {"S": user}, **({"email": {"S": email}} if email else {})}
    _dynamodb(banner).put_item(TableName=banner["table"], Item=item)


def _changes(process: Running) -> list[tuple[str, str]]:
    return [
        (line["event"], line["keys"]["id"])
        for line in map(_json, process.drain())
        if line.get("message") == "change"
    ]


def test_a_restart_with_a_state_file_resumes_where_it_stopped(tmp_path):
    path = str(tmp_path / "state.pickle")
    first, banner = _serve(path)
    assert banner["state"] == path
    _put(banner, "ada", "ada@example.com")
    first.wait_for(lambda line: _json(line).get("kind") == "email")
    assert first.interrupt() == 0
    [stopped] = [_json(line) for line in first.seen if _json(line).get("kind") == "stopped"]
    assert stopped["message"].endswith(f"The emulator's state is saved in {path}.")

    second, again = _serve(path)
    assert again["stream_arn"] == banner["stream_arn"]  # the same stream, resumed
    # ada deleted and created again: the restored ledger knows she was welcomed already
    _dynamodb(again).delete_item(TableName=again["table"], Key={"id": {"S": "ada"}})
    _put(again, "ada", "ada@example.com")
    _put(again, "grace", "grace@example.com")
    second.wait_for(lambda line: _json(line).get("kind") == "email")
    assert second.interrupt() == 0
    assert _changes(first) == [("INSERT", "ada")]
    assert _changes(second) == [("REMOVE", "ada"), ("INSERT", "ada"), ("INSERT", "grace")]
    emails = [_json(line)["to"] for line in second.seen if _json(line).get("kind") == "email"]
    assert emails == [["grace@example.com"]]
    assert any(_json(line).get("kind") == "state" for line in second.seen)


def test_a_state_file_that_is_not_one_is_one_line(tmp_path):
    bad = tmp_path / "state.pickle"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(cli.Failure, match="is not a state file this tool wrote"):
        state.load(bad, "us-east-1")
    done = run_module("devtools.demo", "--state", str(bad))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "python -m devtools.demo: error: --state keeps the state of make run: it needs --serve"
    ]
    assert done.stdout == ""
