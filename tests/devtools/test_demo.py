"""``make demo``, ``make run`` and the poller's command line, run as a person runs them.

Each test starts a real process. The one-shot demo must exit 0 after showing the changes and
the emails; the serving demo must process a change written with the AWS CLI and stop cleanly
on Ctrl-C (SIGINT); the poller command must do the same against a given endpoint and stream.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from devtools.emulator import Emulator
from tests.devtools.conftest import StreamTable
from tests.devtools.processes import AWS_CLI, _env, _json, run_module


def test_make_demo_shows_every_change_and_each_welcome_email_and_exits_0(tmp_path):
    picture = tmp_path / "dashboard.png"
    result = run_module("devtools.demo", "--dashboard", str(picture))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for change in ("INSERT id=ada", "MODIFY id=ada", "REMOVE id=grace", "REMOVE id=temp"):
        assert f"captured {change}" in out
    assert "(Time to Live expiry)" in out
    assert "Welcome emails accepted by the emulator's SES: 4" in out
    for user in ("ada", "grace", "linus", "temp"):
        assert out.count(f"to {user}@example.com from welcome@example.com") == 1
    assert "Demo complete" in out
    logged = [_json(line) for line in out.splitlines() if line.startswith("{")]
    events = [line["event"] for line in logged if line.get("message") in ("change", "ttl_expiry")]
    assert events == [
        "INSERT",
        "INSERT",
        "MODIFY",
        "REMOVE",
        "INSERT",
        "INSERT",
        "INSERT",
        "REMOVE",
    ]
    # The function's metrics, collected from its EMF lines, and the dashboard drawn from them.
    metrics = [line for line in logged if "_aws" in line]
    assert sum(line["RecordsInsert"] for line in metrics) == 5
    assert sum(line["RecordsTtlExpiry"] for line in metrics) == 1
    assert "emails 4 sent / 1 skipped / 0 rejected / 0 duplicate" in out
    assert f"Dashboard drawn from {len(metrics)} EMF line(s)" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_make_run_serves_a_change_written_with_the_aws_cli_until_ctrl_c(running):
    demo = running(
        [sys.executable, "-m", "devtools.demo", "--serve", "--port", "0", "--json"], _env()
    )
    serving = _json(demo.wait_for(lambda line: _json(line).get("kind") == "serving"))
    url, table = serving["endpoint_url"], serving["table"]
    assert url.startswith("http://127.0.0.1:")
    user = f"cli-{uuid.uuid4().hex[:6]}"
    item = {"id": {"S": user}, "email": {"S": f"{user}@example.com"}, "name": {"S": "Cli"}}
    subprocess.run(
        [
            *(str(AWS_CLI), "dynamodb", "put-item", "--endpoint-url", url),
            *("--region", "us-east-1", "--table-name", table, "--item", json.dumps(item)),
        ],
        env=_env(AWS_DEFAULT_REGION="us-east-1"),
        check=True,
        capture_output=True,
        timeout=60,
    )
    demo.wait_for(lambda line: _json(line).get("message") == "welcome_email_sent")
    email = _json(demo.wait_for(lambda line: _json(line).get("kind") == "email"))
    assert email["to"] == [f"{user}@example.com"]
    assert demo.interrupt() == 0
    summaries = [_json(line) for line in demo.seen if _json(line).get("kind") == "summary"]
    assert summaries[-1]["stats"]["records_handled"] == 1
    (final,) = [_json(line) for line in demo.seen if _json(line).get("final") is True]
    assert (final["kind"], final["records"], final["emails"]["sent"]) == ("metrics", 1, 1)
    assert any(_json(line).get("kind") == "dashboard" for line in demo.seen)


def test_the_poller_command_reads_any_endpoint_and_prints_json_lines(
    running, emulator: Emulator, table: StreamTable
):
    table.put_many(2, prefix="cli")
    poller = running(
        [
            *(sys.executable, "-m", "devtools.poller", "--endpoint-url", emulator.endpoint_url),
            *("--stream-arn", table.stream_arn, "--starting-position", "TRIM_HORIZON", "--json"),
            *("--poll-interval", "0.05", "--on-failure", table.queue_arn),
        ],
        _env(AWS_DEFAULT_REGION="us-east-1"),
    )
    batch = _json(poller.wait_for(lambda line: _json(line).get("kind") == "batch", timeout=90))
    assert batch["source"] == "poller"
    assert batch["records"] == 2
    assert batch["outcome"] == "ok"
    assert poller.interrupt() == 0
    [summary] = [_json(line) for line in poller.seen if _json(line).get("kind") == "summary"]
    assert summary["stats"]["records_handled"] == 2
    start = next(_json(line) for line in poller.seen if _json(line).get("kind") == "start")
    assert start["on_failure_destination"] == table.queue_arn
