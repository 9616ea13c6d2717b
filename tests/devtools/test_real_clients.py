"""``make run`` driven by clients this project did not write: the AWS CLI, and boto3 in another
process. Every committed change must be logged once and in order, nothing phantom, emails right;
and the commands the serve banner prints must work as printed.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.devtools.processes import AWS_CLI, ROOT, Running, _env, _json

BIG = 400_000  # 400 KB: under DynamoDB's limit (409,600 bytes) and moto's (405,000)
BURST = 300


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Running, dict[str, Any]]]:
    """``make run PORT=0`` with JSON lines; its serve banner."""
    process = Running(["make", "-s", "run", "PORT=0", "RUN_ARGS=--json"], _env(), group=True)
    try:
        banner = _json(process.wait_for(lambda line: _json(line).get("kind") == "serving", 120))
        yield process, banner
        process.interrupt()
        stopped = [_json(line) for line in process.seen if _json(line).get("kind") == "stopped"]
        assert stopped, process.seen[-5:]
        assert "was in memory and is now gone" in stopped[-1]["message"]
    finally:
        if process.process.poll() is None:
            process.signal(signal.SIGKILL)
            process.process.wait()


def _aws(banner: dict[str, Any], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(AWS_CLI), "dynamodb", *args, "--endpoint-url", banner["endpoint_url"]],
        env=_env(AWS_DEFAULT_REGION="us-east-1"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode == 0) is ok, done.stderr
    return done


def _item(user: str, **attributes: str) -> str:
    item = {"id": {"S": user}, **{k: {"S": v} for k, v in attributes.items()}}
    return json.dumps(item)


BOTO3_WRITER = """
import sys, boto3
from decimal import Decimal
endpoint, table, big, burst = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
users = boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1").Table(table)
users.put_item(Item={
    "id": "types", "s": "text", "n": Decimal("-1.5E+20"), "b": b"\\x00\\xff", "bool": True,
    "null": None, "m": {"deep": {"list": [1, "two", False]}}, "l": [Decimal("3"), b"x"],
    "ss": {"a", "b"}, "ns": {Decimal("1"), Decimal("2.5")}, "bs": {b"x", b"y"},
})
users.put_item(Item={"id": "big", "blob": "x" * (big - len("id") - len("big") - len("blob"))})
with users.batch_writer() as batch:
    for number in range(burst):
        batch.put_item(Item={"id": f"burst{number:03d}", "n": number})
users.put_item(Item={"id": "last", "email": "last@example.com", "name": "Last"})
"""


def _write_with_the_aws_cli(banner: dict[str, Any]) -> None:
    """Commit changes through the AWS CLI, with three writes DynamoDB refuses on the way."""
    table = banner["table"]
    cli_table = ("--table-name", table)
    _aws(banner, "put-item", *cli_table, "--item", _item("c1", email="c1@example.com", name="C"))
    _aws(banner, "update-item", *cli_table, "--key", '{"id":{"S":"c1"}}',
         "--update-expression", "SET age = :a",
         "--expression-attribute-values", '{":a":{"N":"7"}}')  # fmt: skip
    batch = {
        table: [
            {"PutRequest": {"Item": json.loads(_item("b1", email="b1@example.com"))}},
            {"PutRequest": {"Item": json.loads(_item("b2"))}},
        ]
    }
    _aws(banner, "batch-write-item", "--request-items", json.dumps(batch))
    committed = [
        {"Put": {"TableName": table, "Item": json.loads(_item("t1", email="t1@example.com"))}},
        {"Update": {"TableName": table, "Key": {"id": {"S": "c1"}},
                    "UpdateExpression": "SET age = :a",
                    "ExpressionAttributeValues": {":a": {"N": "8"}}}},
    ]  # fmt: skip
    _aws(banner, "transact-write-items", "--transact-items", json.dumps(committed))
    _try_writes_that_are_refused(banner, table, cli_table)
    _aws(banner, "delete-item", *cli_table, "--key", '{"id":{"S":"b2"}}')


def _try_writes_that_are_refused(
    banner: dict[str, Any], table: str, cli_table: tuple[str, str]
) -> None:
    """A cancelled transaction, an invalid one and a failed condition: none may be logged."""
    cancelled = [
        {"Put": {"TableName": table, "Item": json.loads(_item("ghost1", email="g1@example.com"))}},
        {"ConditionCheck": {"TableName": table, "Key": {"id": {"S": "c1"}},
                            "ConditionExpression": "attribute_not_exists(id)"}},
    ]  # fmt: skip
    done = _aws(banner, "transact-write-items", "--transact-items", json.dumps(cancelled), ok=False)
    assert "TransactionCanceledException" in done.stderr
    rejected = [
        {"Put": {"TableName": table, "Item": json.loads(_item("ghost2", email="g2@example.com"))}},
        {"Delete": {"TableName": table, "Key": {"id": {"S": "ghost2"}}}},
    ]
    done = _aws(banner, "transact-write-items", "--transact-items", json.dumps(rejected), ok=False)
    assert "ValidationException" in done.stderr
    done = _aws(banner, "put-item", *cli_table, "--item", _item("c1", email="other@example.com"),
                "--condition-expression", "attribute_not_exists(id)", ok=False)  # fmt: skip
    assert "ConditionalCheckFailedException" in done.stderr


def _write_with_boto3(banner: dict[str, Any]) -> None:
    """Every attribute type, an item near the size limit, a burst, then ``last``: another
    process's boto3."""
    table = banner["table"]
    subprocess.run(
        [sys.executable, "-c", BOTO3_WRITER, banner["endpoint_url"], table, str(BIG), str(BURST)],
        env=_env(AWS_DEFAULT_REGION="us-east-1"),
        check=True,
        timeout=120,
    )


# What the writes above commit, in order; the refused writes (ghost1, ghost2) commit nothing.
COMMITTED = [
    ("INSERT", "c1"),
    ("MODIFY", "c1"),
    ("INSERT", "b1"),
    ("INSERT", "b2"),
    ("INSERT", "t1"),
    ("MODIFY", "c1"),
    ("REMOVE", "b2"),
    ("INSERT", "types"),
    ("INSERT", "big"),
    *[("INSERT", f"burst{n:03d}") for n in range(BURST)],
    ("INSERT", "last"),
]


def _changes_to_the_users_written(logged: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The logged changes (event, id) of every user the writes above touched or tried to."""
    mine = {"c1", "b1", "b2", "t1", "ghost1", "ghost2", "types", "big", "last"}
    return [
        (line["event"], line["keys"]["id"])
        for line in logged
        if line.get("message") == "change"
        and (line["keys"]["id"] in mine or line["keys"]["id"].startswith("burst"))
    ]


def test_every_committed_change_is_logged_once_in_order_and_nothing_else(live):
    process, banner = live
    _write_with_the_aws_cli(banner)
    _write_with_boto3(banner)
    process.wait_for(
        lambda line: (
            _json(line).get("kind") == "email" and _json(line)["to"] == ["last@example.com"]
        ),
        timeout=120,
    )
    logged = [_json(line) for line in process.drain()]
    assert _changes_to_the_users_written(logged) == COMMITTED
    emails = sorted(_emails(logged))
    assert [e for e in emails if e != "someone@example.com"] == [
        "b1@example.com",
        "c1@example.com",
        "last@example.com",
        "t1@example.com",
    ]
    images = {line["keys"]["id"]: line for line in logged if line.get("message") == "change"}
    assert set(images["types"]["new_image"]) == set(
        ["id", "s", "n", "b", "bool", "null", "m", "l", "ss", "ns", "bs"]
    )
    big = images["big"]
    assert big["size_bytes"] > BIG


def _emails(logged: list[dict[str, Any]]) -> list[str]:
    """The addresses of the welcome emails serve mode showed."""
    return [address for line in logged if line.get("kind") == "email" for address in line["to"]]


def _shell(command: str) -> list[str]:
    return ["bash", "-c", command]


def test_the_commands_the_banner_prints_work_as_printed(live):
    process, banner = live
    commands = banner["commands"]
    assert banner["ledger_table"] in commands["poller"]
    assert banner["sender"] in commands["replay"]
    assert shlex.quote(banner["stream_arn"]) in commands["poller"]
    put = subprocess.run(_shell(commands["put"]), cwd=ROOT, env=_env(), capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert put.returncode == 0, put.stderr
    line = process.wait_for(
        lambda text: _json(text).get("message") == "change" and _json(text)["keys"]["id"] == "u1"
    )
    sequence = _json(line)["sequence_number"]

    def covers_u1(text: str) -> bool:
        batch = _json(text)
        if batch.get("kind") != "batch":
            return False
        assert batch["outcome"] == "ok", batch
        first, last = batch["first_sequence_number"], batch["last_sequence_number"]
        return int(first) <= int(sequence) <= int(last)

    # A second consumer of the whole stream: every change again, and still one email per user.
    reader = f"{commands['poller']} --json --starting-position TRIM_HORIZON"
    second = Running(_shell(reader), _env(), group=True)
    try:
        batch = _json(second.wait_for(covers_u1, timeout=120))
        assert second.interrupt() == 0
    finally:
        if second.process.poll() is None:
            second.signal(signal.SIGKILL)
    # The range of that INSERT, as Lambda would send it to the on-failure queue, then replayed.
    message = {
        "DDBStreamBatchInfo": {
            "shardId": batch["shard"], "startSequenceNumber": sequence,
            "endSequenceNumber": sequence, "batchSize": 1, "streamArn": banner["stream_arn"],
        }
    }  # fmt: skip
    import boto3

    sqs = boto3.client("sqs", endpoint_url=banner["endpoint_url"], region_name="us-east-1")
    sqs.send_message(QueueUrl=banner["on_failure_queue_url"], MessageBody=json.dumps(message))
    replay = subprocess.run(_shell(commands["replay"]), cwd=ROOT, env=_env(), capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "[replay] 1 message(s): 1 replayed and deleted (1 records)" in replay.stdout
    time.sleep(1)
    emails = _emails([_json(text) for text in process.drain()])
    assert emails.count("someone@example.com") == 1  # two pollers and a replay: one email
    assert len(emails) == len(set(emails))
