"""What users-stream does with each change: log it, and welcome each new user once."""

from __future__ import annotations

import logging

from chalicelib.batch import Deferred
from chalicelib.changelog import ChangeLog
from chalicelib.errors import ConfigurationError, PermanentEmailError
from chalicelib.keys import DEFAULT_KEY_SCHEMA, KeySchema
from chalicelib.ports import EmailSender, Ledger, Unmarked
from chalicelib.records import Change

__all__ = ["UserReactions", "welcome_key"]


def welcome_key(item_key: str) -> str:
    """The ledger key that makes the welcome email once-per-user, from the item's key
    (:meth:`~chalicelib.keys.KeySchema.item_key`)."""
    return f"welcome#{item_key}"


class UserReactions:
    """The change handler: one log line per change, a welcome email per new user.

    Called, it does everything at once. :meth:`start` does the same but leaves the email -
    the ledger claim and the SES call, the slow part - to a :class:`~chalicelib.batch.Deferred`
    that :func:`~chalicelib.batch.process_batch` runs alongside other records' emails.
    """

    def __init__(
        self,
        log: ChangeLog,
        sender: EmailSender,
        ledger: Ledger,
        from_address: str,
        key_schema: KeySchema | None = None,
    ) -> None:
        self._log = log
        self._sender = sender
        self._ledger = ledger
        self._from = from_address
        self._keys = key_schema if key_schema is not None else KeySchema.parse(DEFAULT_KEY_SCHEMA)

    def __call__(self, change: Change) -> None:
        email = self.start(change)
        if email is not None:
            email.finish(email.run())

    def start(self, change: Change) -> Deferred | None:
        """Log the change; for a new user, the welcome email still to send (or ``None``).

        A record whose ``Keys`` are not the table's key schema fails, before anything else.
        """
        self._keys.check(change)
        self._log.change(change)
        if change.event_name == "INSERT":
            return self.welcome(change)
        return None

    def welcome(self, change: Change) -> Deferred | None:
        """Check and compose the welcome email of a new user; ``None`` when none is due."""
        # Imported on the first new user, not at cold start (with html, which it needs).
        from chalicelib.welcome import compose_welcome, user_email

        item = change.new_image
        if item is None:  # KEYS_ONLY / OLD_IMAGE streams carry no new image to read
            self._log.event(logging.WARNING, "welcome_email_skipped", change, reason="no_image")
            return None
        if user_email(item) is None:
            self._log.event(logging.INFO, "welcome_email_skipped", change, reason="no_email")
            return None
        if not self._from:
            raise ConfigurationError("WELCOME_EMAIL_SENDER is not set")
        try:
            message = compose_welcome(item, self._from)
        except PermanentEmailError as exc:
            self._log.event(logging.ERROR, "welcome_email_rejected", change, reason=str(exc))
            return None
        key = welcome_key(self._keys.item_key(change))
        sender, ledger, log = self._sender, self._ledger, self._log

        def send() -> str:
            return sender.send(message)

        def run() -> str | PermanentEmailError | None:  # on a worker thread
            try:
                return ledger.once(key, send)
            except PermanentEmailError as exc:
                return exc  # a rejection is an outcome, not a failure of the record

        def finish(outcome: str | PermanentEmailError | None) -> None:  # in record order
            if isinstance(outcome, PermanentEmailError):
                log.event(logging.ERROR, "welcome_email_rejected", change, reason=str(outcome))
            elif outcome is None:
                log.event(logging.INFO, "welcome_email_duplicate", change)
            else:
                log.event(logging.INFO, "welcome_email_sent", change, message_id=outcome)
                if isinstance(outcome, Unmarked):
                    log.event(
                        logging.WARNING,
                        "welcome_email_not_marked_done",
                        change,
                        duplicate_window_open_until=int(outcome.open_until),
                        reason=(
                            "the email was sent but the ledger could not record it: until the "
                            "claim's lease runs out, a retry of this record sends it again"
                        ),
                    )

        return Deferred(run, finish, key)
