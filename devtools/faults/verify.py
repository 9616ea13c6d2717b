"""The fault run's verdict: from what was written, acknowledged, queued, sent and logged, the
figures of a :class:`Report` and its checks (each must be 0 / True)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from devtools.faults.workload import MARK, Workload

__all__ = ["Acknowledged", "Facts", "Report", "leaks", "verify"]

WORKLOAD_COUNTS = (
    "changes",
    "inserts",
    "recreations",
    "upserts",
    "invalid_addresses",
    "updates",
    "deletes",
)
FAULT_COUNTS = (
    "ses_throttle",
    "ses_5xx",
    "ledger_throttle",
    "kill_before_send",
    "kill_before_claim",
    "kill_after_batch",
    "poison_records",
)


def _sequence(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


class Acknowledged:
    """Wraps the handler as the poller sees it: the records each response acknowledged."""

    def __init__(self, key: str = "id") -> None:
        self.key = key
        self.phases: dict[str, list[tuple[int, str]]] = {"live": [], "replay": []}
        self.phase = "live"
        self.batches: list[list[int]] = []  # acknowledged sequence numbers of each replay batch

    def wrap(self, handler: Callable[[dict[str, Any], Any], Any]) -> Callable[..., Any]:
        def handle(event: dict[str, Any], context: Any) -> Any:
            response = handler(event, context)
            records = event["Records"]
            failed = {
                str(f.get("itemIdentifier"))
                for f in (response or {}).get("batchItemFailures") or []
            }
            cut = next(
                (i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed),
                len(records),
            )
            done = [(_sequence(r), r["dynamodb"]["Keys"][self.key]["S"]) for r in records[:cut]]
            self.phases[self.phase].extend(done)
            if self.phase == "replay":
                self.batches.append([s for s, _ in done])
            return response

        return handle


@dataclass
class Report:
    """The figures of one run, and the checks (each must be 0 / True)."""

    seed: int
    changes: int
    workload: dict[str, int]
    stream_records: int
    faults: dict[str, int]
    restarts: int
    pipeline: dict[str, int]
    queue_ranges: int
    queue_records: int
    replay: dict[str, int]
    users_to_welcome: int
    emails: int
    duplicates: int
    missing: int
    wrong_recipient: int
    unaccounted_before_replay: int
    lost: int
    order_violations: int
    log_lines: int
    leaks: int
    elapsed_seconds: float
    key: str = "id"  # the Users table's partition key
    wrong_sender_chunks: int = 0  # chunks written while WELCOME_EMAIL_SENDER was wrong
    wrong_sender_failures: int = 0  # error lines that named the wrong sender
    foreign_messages: int = 0  # on-failure messages of another table's stream
    foreign_emails: int = 0  # emails to that table's users: must be 0

    @property
    def ok(self) -> bool:
        return (
            self.duplicates == 0
            and self.missing == 0
            and self.wrong_recipient == 0
            and self.unaccounted_before_replay == 0
            and self.lost == 0
            and self.order_violations == 0
            and self.leaks == 0
            and self.foreign_emails == 0
            # Only the foreign messages are left, each refused as foreign.
            and self.replay.get("left_in_queue", -1) == self.foreign_messages
            and self.replay.get("foreign", -1) == self.foreign_messages
        )

    def text(self) -> str:
        w, f, p, r = self.workload, self.faults, self.pipeline, self.replay
        kills = f["kill_before_send"] + f["kill_before_claim"] + f["kill_after_batch"]
        return "\n".join(
            [
                f"fault run (seed {self.seed}): {self.changes} changes -> "
                f"{self.stream_records} stream records",
                f"  writes: {w['inserts']} inserts ({w['recreations']} re-created ids, "
                f"{w['upserts']} upserts, {w['invalid_addresses']} invalid addresses), "
                f"{w['updates']} updates, {w['deletes']} deletes",
                f"  faults: {f['ses_throttle']} SES throttles, {f['ses_5xx']} SES 5xx, "
                f"{f['ledger_throttle']} ledger throttles, {kills} kills "
                f"({f['kill_before_send']} before a send, {f['kill_before_claim']} before a "
                f"claim, {f['kill_after_batch']} after a batch) with {self.restarts} restarts, "
                f"{f['poison_records']} poison records",
                f"  pipeline: {p['invocations']} invocations, {p['partial_failures']} partial "
                f"failures, {p['retries']} retries, {self.queue_ranges} ranges "
                f"({self.queue_records} records) sent to the on-failure queue",
                f"  table keyed {self.key!r}; sender wrong in {self.wrong_sender_chunks} chunks "
                f"({self.wrong_sender_failures} error lines name it), then fixed",
                f"  replay: {r['messages']} messages, {r['records_replayed']} records replayed, "
                f"{r['left_in_queue']} left in the queue ({r.get('foreign', 0)} of "
                f"{self.foreign_messages} foreign, refused; {self.foreign_emails} emails to "
                "their users)",
                f"  emails: {self.emails} sent for {self.users_to_welcome} users to welcome: "
                f"duplicates {self.duplicates}, missing {self.missing}, wrong recipient "
                f"{self.wrong_recipient}",
                f"  records: unaccounted before the replay {self.unaccounted_before_replay}, "
                f"lost {self.lost}; per-key order violations {self.order_violations}",
                f"  logs: {self.log_lines} lines, {self.leaks} with an address or a redacted value",
                f"  {'PASS' if self.ok else 'FAIL'} in {self.elapsed_seconds:.1f}s",
            ]
        )


@dataclass
class Facts:
    """What one run observed, gathered after it (see :func:`verify`)."""

    seed: int
    changes: int
    workload: Workload
    stream: list[tuple[int, str]]  # every stream record: (sequence number, key), in order
    acks: Acknowledged
    queued: list[tuple[int, int]]  # the ranges on the on-failure queue before the replay
    replay: dict[str, int]
    sent: list[Any]  # the emails the emulator's SES accepted from the run's sender
    foreign_addresses: set[str]
    lines: list[str]  # every log line of the handler
    faults: Counter[str]
    pipeline: Counter[str]
    restarts: int
    wrong_sender_chunks: int
    elapsed: float


def verify(facts: Facts) -> Report:
    """The report of a run: its figures, and the checks that must all hold."""
    unaccounted, lost, queue_records = _accounting(facts)
    duplicates, missing, wrong, to_welcome = _emails(facts.sent, facts.workload)
    lines = facts.lines
    return Report(
        seed=facts.seed,
        changes=facts.changes,
        workload={kind: facts.workload.counts[kind] for kind in WORKLOAD_COUNTS},
        stream_records=len(facts.stream),
        faults={kind: facts.faults[kind] for kind in FAULT_COUNTS},
        restarts=facts.restarts,
        pipeline={k: facts.pipeline[k] for k in ("invocations", "partial_failures", "retries")},
        queue_ranges=len(facts.queued),
        queue_records=queue_records,
        replay=facts.replay,
        users_to_welcome=to_welcome,
        emails=len(facts.sent),
        duplicates=duplicates,
        missing=missing,
        wrong_recipient=wrong,
        unaccounted_before_replay=unaccounted,
        lost=lost,
        order_violations=_order_violations(facts.acks),
        log_lines=len(lines),
        leaks=sum(1 for line in lines if leaks(line)),
        elapsed_seconds=round(facts.elapsed, 1),
        key=facts.workload.key,
        wrong_sender_chunks=facts.wrong_sender_chunks,
        wrong_sender_failures=sum(
            1 for line in lines if "WELCOME_EMAIL_SENDER" in line or "SES refused" in line
        ),
        foreign_messages=len(facts.foreign_addresses),
        foreign_emails=sum(1 for e in facts.sent if set(e.to) & facts.foreign_addresses),
    )


def _accounting(facts: Facts) -> tuple[int, int, int]:
    """Records neither handled live nor queued; records never handled; records queued."""
    handled_live = {s for s, _ in facts.acks.phases["live"]}
    handled = handled_live | {s for s, _ in facts.acks.phases["replay"]}

    def queued_at(sequence: int) -> bool:
        return any(start <= sequence <= end for start, end in facts.queued)

    unaccounted = sum(1 for s, _ in facts.stream if s not in handled_live and not queued_at(s))
    lost = sum(1 for s, _ in facts.stream if s not in handled)
    return unaccounted, lost, sum(1 for s, _ in facts.stream if queued_at(s))


def _order_violations(acks: Acknowledged) -> int:
    """Per key, the first acknowledgements of the live run rise; so does every batch of the
    replay (a replayed range necessarily comes after later live records)."""
    violations = 0
    last: dict[str, int] = {}
    first_seen: set[int] = set()
    for sequence, key in acks.phases["live"]:
        if sequence in first_seen:
            continue
        first_seen.add(sequence)
        if sequence < last.get(key, -1):
            violations += 1
        last[key] = max(sequence, last.get(key, -1))
    return violations + sum(batch != sorted(batch) for batch in acks.batches)


def _emails(sent: list[Any], workload: Workload) -> tuple[int, int, int, int]:
    """Duplicates, users missing their email, emails to no user's valid address, and how
    many users were to be welcomed."""
    owner = {
        address: user_id
        for user_id, record in workload.users.items()
        for address, valid in record.creations
        if valid
    }
    per_user: Counter[str] = Counter()
    wrong = 0
    for email in sent:
        (recipient,) = email.to
        if recipient in owner:
            per_user[owner[recipient]] += 1
        else:
            wrong += 1
    to_welcome = [
        user_id
        for user_id, record in workload.users.items()
        if any(valid for _, valid in record.creations)
    ]
    duplicates = sum(max(0, n - 1) for n in per_user.values())
    missing = sum(1 for user_id in to_welcome if per_user[user_id] == 0)
    return duplicates, missing, wrong, len(to_welcome)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def leaks(line: str) -> bool:
    """A log line holds personal data: an address (any ``@``) or a planted value (``MARK``).

    Read as JSON, so that no escaping can hide a value from the check."""
    try:
        entry = json.loads(line)
    except ValueError:
        return True  # not one JSON line: a line break got in
    return any("@" in text or MARK in text for text in _strings(entry))
