"""The fault run's workload: seeded writes to the Users table, and what a correct handler
must have done for them (who must be welcomed, at which addresses)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "HOSTILE_NAMES",
    "MARK",
    "UserRecord",
    "Workload",
    "foreign_messages",
    "keyed_template",
    "streamed_table",
]

MARK = "\u2603"  # every planted name and address-less value carries it: it must never be logged
HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "Ada\r\nBcc: spy@evil.test",
    '"><img src=x onerror=1>',
    "Zoë \u2028 Łukasz",
    "plain",
]


@dataclass
class UserRecord:
    """What the scenario wrote for one user id."""

    creations: list[tuple[str, bool]] = field(default_factory=list)  # (address, valid)
    alive: bool = False


@dataclass
class Workload:
    """Seeded writes to the Users table; remembers what a correct handler must have done."""

    seed: int
    key: str = "id"  # the Users table's partition key (a string)
    users: dict[str, UserRecord] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(init=False)
    _next: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - a reproducible workload

    def _name(self) -> str:
        return f"{MARK}{self._next}{MARK} {self.rng.choice(HOSTILE_NAMES)}"

    def _address(self, user_id: str, valid: bool) -> str:
        n = self.counts["addresses"]
        self.counts["addresses"] += 1
        if valid:
            return f"{user_id}.{n}@example.com"
        return self.rng.choice(
            [
                f"{user_id}.{n}@example.com\r\nBcc: spy{n}@evil.test",
                f"{user_id}.{n}@example.com, spy{n}@evil.test",
                f"{MARK}{user_id}.{n} at example.com",
                f"<{user_id}.{n}@example.com>",
                f"{user_id}.{n}@@example.com",
            ]
        )

    def write(self, dynamodb: Any, table: str, changes: int) -> None:
        for _ in range(changes):
            self.counts["changes"] += 1
            alive = [u for u, r in self.users.items() if r.alive]
            roll = self.rng.random()
            if not alive or roll < 0.40:
                self._insert(dynamodb, table)
            elif roll < 0.82:
                self._update(dynamodb, table, self.rng.choice(alive))
            else:
                user_id = self.rng.choice(alive)
                dynamodb.delete_item(TableName=table, Key={self.key: {"S": user_id}})
                self.users[user_id].alive = False
                self.counts["deletes"] += 1

    def _insert(self, dynamodb: Any, table: str) -> None:
        deleted = [u for u, r in self.users.items() if not r.alive]
        if deleted and self.rng.random() < 0.15:
            user_id = self.rng.choice(deleted)
            self.counts["recreations"] += 1
        else:
            user_id = f"user-{self._next:05d}"
            self._next += 1
        valid = self.rng.random() >= 0.05
        address = self._address(user_id, valid)
        self.counts["inserts"] += 1
        self.counts["invalid_addresses"] += not valid
        record = self.users.setdefault(user_id, UserRecord())
        record.creations.append((address, valid))
        record.alive = True
        name, plan = self._name(), self.rng.choice(["free", "pro"])
        if self.rng.random() < 0.1:  # an upsert: moto emits two INSERTs for it
            self.counts["upserts"] += 1
            dynamodb.update_item(
                TableName=table,
                Key={self.key: {"S": user_id}},
                UpdateExpression="SET email = :e, #n = :n, #p = :p",
                ExpressionAttributeNames={"#n": "name", "#p": "plan"},
                ExpressionAttributeValues={
                    ":e": {"S": address},
                    ":n": {"S": name},
                    ":p": {"S": plan},
                },
            )
            return
        item = {self.key: {"S": user_id}, "email": {"S": address}, "name": {"S": name}}
        dynamodb.put_item(TableName=table, Item={**item, "plan": {"S": plan}})

    def _update(self, dynamodb: Any, table: str, user_id: str) -> None:
        self.counts["updates"] += 1
        values = {":n": {"S": self._name()}, ":v": {"N": str(self.rng.randrange(1000))}}
        expression = "SET #n = :n, visits = :v"
        if self.rng.random() < 0.1:
            values[":e"] = {"S": self._address(user_id, True)}
            expression += ", email = :e"
        dynamodb.update_item(
            TableName=table,
            Key={self.key: {"S": user_id}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues=values,
        )


def streamed_table(dynamodb: Any, name: str, key: str) -> str:
    """Create table ``name`` keyed by the string ``key``, with a NEW_AND_OLD_IMAGES stream;
    its stream ARN."""
    described = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(described["TableDescription"]["LatestStreamArn"])


def keyed_template(key: str, directory: Path) -> Path:
    """infra/users-table.yaml, its Users table keyed by the run's key name."""
    from devtools.emulator import TEMPLATE

    if key == "id":
        return TEMPLATE
    body = TEMPLATE.read_text(encoding="utf-8")
    keyed = body.replace(
        "- { AttributeName: id, AttributeType: S }",
        f"- {{ AttributeName: {key}, AttributeType: S }}",
    ).replace(
        "- { AttributeName: id, KeyType: HASH }", f"- {{ AttributeName: {key}, KeyType: HASH }}"
    )
    if keyed.count(key) < 2:
        raise RuntimeError(f"cannot key the Users table of {TEMPLATE} by {key!r}")
    path = directory / "users-table.yaml"
    path.write_text(keyed, encoding="utf-8")
    return path


def foreign_messages(
    dynamodb: Any, streams: Any, queue: Any, table: str, count: int, now: float
) -> set[str]:
    """Put on ``queue``, for each of ``count`` new users of another table (``table``, keyed
    ``user_id``), the on-failure message Lambda would send for it; their addresses."""
    from devtools.pipeline.destination import failure_record
    from devtools.pipeline.events import lambda_record

    if not count:
        return set()
    arn = streamed_table(dynamodb, table, "user_id")
    addresses = {f"other-{n}-{table}@example.com" for n in range(count)}
    for n, address in enumerate(sorted(addresses)):
        item = {"user_id": {"S": f"other-{n}"}, "email": {"S": address}}
        dynamodb.put_item(TableName=table, Item=item)
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    for raw in streams.get_records(ShardIterator=iterator)["Records"]:
        queue.send(
            failure_record(
                records=[lambda_record(raw, arn)],
                shard_id=shard["ShardId"],
                stream_arn=arn,
                function_arn="arn:aws:lambda:us-east-1:000000000000:function:other",
                condition="RetryAttemptsExhausted",
                invoke_count=6,
                function_error=None,
                now=now,
            )
        )
    return addresses
