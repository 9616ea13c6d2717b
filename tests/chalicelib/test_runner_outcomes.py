"""What an invocation did, counted in one place (chalicelib.runner.invoke's outcomes): records
by event name, reactions, failures reported and not, claims lost to another invocation, the
oldest record's creation time and the duration."""

from __future__ import annotations

import io

from chalicelib.changelog import ChangeLog
from chalicelib.redaction import Redactor
from chalicelib.runner import invoke
from chalicelib.sink import LineSink, make_logger
from devtools.stream_events import FakeStream
from tests.chalicelib.runner_support import seqs


def test_the_outcomes_of_an_invocation_are_counted_over_the_batch() -> None:
    from chalicelib.keys import KeySchema
    from chalicelib.ports import NoLedger
    from chalicelib.reactions import UserReactions
    from tests.chalicelib.conftest import SENDER, RecordingSender

    stream = FakeStream()
    ada = {"id": "u1", "email": "ada@example.com"}
    records = [
        stream.insert(ada),
        stream.insert({"id": "u2"}),  # no address: skipped
        stream.insert({"id": "u3", "email": "not an address"}),  # rejected
        stream.modify(ada, {**ada, "n": 1}),
        stream.remove(ada),
        stream.insert({"id": "u4", "email": "bob@example.com"}),
    ]
    records[-1]["dynamodb"]["Keys"] = {"pk": {"S": "u4"}}  # not the key schema: fails
    records[0]["dynamodb"]["ApproximateCreationDateTime"] = 1_600_000_000
    log = ChangeLog("INFO", Redactor(()))
    reactions = UserReactions(log, RecordingSender(), NoLedger(), SENDER, KeySchema.parse("id:S"))
    out = io.StringIO()

    ran = invoke(
        stream.event(records),
        reactions.handle,
        log=log,
        sink=LineSink(make_logger("INFO", out)),
        report_failures=True,
        concurrency=4,
    )

    outcomes = ran.outcomes
    assert outcomes.records == {"INSERT": 3, "MODIFY": 1, "REMOVE": 1}
    assert outcomes.reactions == {"email_sent": 1, "email_skipped": 1, "email_rejected": 1}
    assert (outcomes.failed, outcomes.reported, outcomes.claims_lost) == (1, 1, 0)
    assert outcomes.oldest_created is not None
    assert outcomes.oldest_created.timestamp() == 1_600_000_000
    assert outcomes.duration > 0
    assert ran.verdict.response == {
        "batchItemFailures": [{"itemIdentifier": seqs(stream.event(records))[-1]}]
    }


def test_a_claim_held_by_another_invocation_is_counted_as_lost() -> None:
    from chalicelib.keys import KeySchema
    from chalicelib.reactions import UserReactions
    from tests.chalicelib.conftest import SENDER, ClaimHeldLedger, RecordingSender

    stream = FakeStream()
    log = ChangeLog("INFO", Redactor(()))
    reactions = UserReactions(
        log, RecordingSender(), ClaimHeldLedger(), SENDER, KeySchema.parse("id:S")
    )
    event = stream.event([stream.insert({"id": "u1", "email": "ada@example.com"})])

    ran = invoke(
        event,
        reactions.handle,
        log=log,
        sink=LineSink(make_logger("INFO", io.StringIO())),
        report_failures=False,
    )

    assert (ran.outcomes.failed, ran.outcomes.reported, ran.outcomes.claims_lost) == (1, 0, 1)
    assert ran.verdict.failure is not None
