"""``make demo``'s run: the sample users written to a running pipeline, what it did checked."""

from __future__ import annotations

from devtools.dashboard import draw_dashboard
from devtools.running import Pipeline, show_emails
from devtools.samples import EXPECTED_EMAILS, sample_writes

__all__ = ["run_demo"]


def run_demo(pipeline: Pipeline) -> int:
    """Write the sample users, check what the handler did; 0 if all is as it should be."""
    emulator, stack, poller = pipeline.emulator, pipeline.stack, pipeline.poller
    console, sweeper, stop = pipeline.console, pipeline.sweeper, pipeline.stop
    dynamodb = emulator.client("dynamodb")
    attribute = sweeper.attribute() or "expires_at"
    already = {e.message_id for e in emulator.sent_emails()}
    poller.start()
    poller.wait_until_caught_up(timeout=30)  # shards listed and read: LATEST is set from here
    for text, write in sample_writes(dynamodb, stack.table_name, sweeper, attribute):
        if stop.is_set():
            return 130
        console.say(f"> {text}", "write")
        write()
        poller.wait_until_caught_up(timeout=30)
    poller.stop()
    emails = [e for e in emulator.sent_emails() if e.message_id not in already]
    show_emails(console, emails)
    problems = []
    received = sorted(address for email in emails for address in email.to)
    if received != sorted(EXPECTED_EMAILS):
        problems.append(f"expected one email each to {EXPECTED_EMAILS}, got {received}")
    stats = poller.stats
    if stats.function_errors or stats.records_to_destination or stats.records_discarded:
        problems.append("some records failed (see the poller lines above)")
    for problem in problems:
        console.say(f"DEMO FAILED: {problem}", "error")
    draw_dashboard(pipeline)
    if not problems:
        console.say(
            "Demo complete: every change reached the handler, in order, and each new user got "
            "exactly one welcome email.",
            "done",
        )
    return 1 if problems else 0
