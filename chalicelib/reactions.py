"""What users-stream does with each change: log it, and welcome each new user once.

:meth:`UserReactions.handle` returns a :class:`~chalicelib.result.Result`: the change's log
line, and for a new user the welcome email as :class:`~chalicelib.result.Slow` work (the
ledger claim and the SES call) that the runner runs alongside other records' emails.
A new reaction is one more branch in :meth:`~UserReactions.handle` that returns its lines and,
if it must call out, its slow work (docs/architecture.md).
"""

from __future__ import annotations

import logging

from chalicelib.changelog import ChangeLog
from chalicelib.errors import ConfigurationError, PermanentEmailError
from chalicelib.keys import KeySchema
from chalicelib.ports import EmailSender, Ledger, Unmarked
from chalicelib.records import Change
from chalicelib.result import Line, Result, Slow

__all__ = ["UserReactions", "welcome_key"]

INFO, WARNING, ERROR = logging.INFO, logging.WARNING, logging.ERROR


def welcome_key(item_key: str) -> str:
    """The ledger key that makes the welcome email once-per-user, from the item's key
    (:meth:`~chalicelib.keys.KeySchema.item_key`)."""
    return f"welcome#{item_key}"


class UserReactions:
    """The change handler: one log line per change, a welcome email per new user."""

    def __init__(
        self,
        log: ChangeLog,
        sender: EmailSender,
        ledger: Ledger,
        from_address: str,
        key_schema: KeySchema,
    ) -> None:
        self._log = log
        self._sender = sender
        self._ledger = ledger
        self._from = from_address
        self._keys = key_schema

    def handle(self, change: Change) -> Result:
        """The change's line; for a new user, the welcome email still to send.

        A record whose ``Keys`` are not the table's key schema fails, before anything else;
        so does one with an image that cannot be read, whatever the log level (one forged
        case aside: :func:`chalicelib.loggable.plain_update`).
        """
        self._keys.check(change)
        lines = self._log.change(change)  # checks the images, at any log level
        if change.event_name == "INSERT":
            return self.welcome(change, lines)
        return Result(lines)

    def welcome(self, change: Change, lines: tuple[Line, ...]) -> Result:
        """A new user's welcome email, checked and composed, as slow work (after ``lines``)."""
        # Imported on the first new user, not at cold start (with html, which it needs).
        from chalicelib.welcome import WELCOME_ATTRIBUTES, compose_welcome, user_email

        log = self._log
        item = change.new_values(WELCOME_ATTRIBUTES)  # the rest of the item is not decoded
        if item is None:  # KEYS_ONLY / OLD_IMAGE streams carry no new image to read
            skipped = log.event(WARNING, "welcome_email_skipped", change, reason="no_image")
            return Result(lines + skipped, outcome="email_skipped")
        if user_email(item) is None:
            skipped = log.event(INFO, "welcome_email_skipped", change, reason="no_email")
            return Result(lines + skipped, outcome="email_skipped")
        if not self._from:
            return Result(lines, error=ConfigurationError("WELCOME_EMAIL_SENDER is not set"))
        try:
            message = compose_welcome(item, self._from)
        except PermanentEmailError as exc:
            rejected = log.event(ERROR, "welcome_email_rejected", change, reason=str(exc))
            return Result(lines + rejected, outcome="email_rejected")
        key = welcome_key(self._keys.item_key(change))
        sender, ledger = self._sender, self._ledger

        def send() -> str:
            return sender.send(message)

        def run() -> str | PermanentEmailError | None:  # on a worker thread
            try:
                return ledger.once(key, send)
            except PermanentEmailError as exc:
                return exc  # a rejection is an outcome, not a failure of the record

        def then(outcome: str | PermanentEmailError | None) -> Result:  # in record order
            return sent_lines(log, change, outcome)

        return Result(lines, Slow(run, then, key))


def sent_lines(log: ChangeLog, change: Change, outcome: str | PermanentEmailError | None) -> Result:
    """What a welcome email's ``outcome`` (the ledger's answer) says, as lines."""
    if isinstance(outcome, PermanentEmailError):
        rejected = log.event(ERROR, "welcome_email_rejected", change, reason=str(outcome))
        return Result(rejected, outcome="email_rejected")
    if outcome is None:
        return Result(log.event(INFO, "welcome_email_duplicate", change), outcome="email_duplicate")
    lines = log.event(INFO, "welcome_email_sent", change, message_id=outcome)
    if isinstance(outcome, Unmarked):
        lines += log.event(
            WARNING,
            "welcome_email_not_marked_done",
            change,
            duplicate_window_open_until=int(outcome.open_until),
            reason=(
                "the email was sent but the ledger could not record it: until the "
                "claim's lease runs out, a retry of this record sends it again"
            ),
        )
    return Result(lines, outcome="email_sent")
