"""What users-stream does with each change: log it, and welcome each new user once."""

from __future__ import annotations

import logging

from chalicelib.changelog import ChangeLog
from chalicelib.errors import ConfigurationError, PermanentEmailError
from chalicelib.ports import EmailSender, Ledger
from chalicelib.records import Change
from chalicelib.welcome import compose_welcome, user_email

__all__ = ["UserReactions", "welcome_key"]


def welcome_key(user_id: object) -> str:
    """The ledger key that makes the welcome email once-per-user."""
    return f"welcome#{user_id}"


class UserReactions:
    """The change handler: one log line per change, a welcome email per new user."""

    def __init__(
        self, log: ChangeLog, sender: EmailSender, ledger: Ledger, from_address: str
    ) -> None:
        self._log = log
        self._sender = sender
        self._ledger = ledger
        self._from = from_address

    def __call__(self, change: Change) -> None:
        self._log.change(change)
        if change.event_name == "INSERT":
            self.welcome(change)

    def welcome(self, change: Change) -> None:
        item = change.new_image
        if item is None:  # KEYS_ONLY / OLD_IMAGE streams carry no new image to read
            self._log.event(logging.WARNING, "welcome_email_skipped", change, reason="no_image")
            return
        if user_email(item) is None:
            self._log.event(logging.INFO, "welcome_email_skipped", change, reason="no_email")
            return
        if not self._from:
            raise ConfigurationError("WELCOME_EMAIL_SENDER is not set")
        try:
            message = compose_welcome(item, self._from)
        except PermanentEmailError as exc:
            self._log.event(logging.ERROR, "welcome_email_rejected", change, reason=str(exc))
            return
        user_id = change.keys.get("id", item.get("id"))

        def send() -> str:
            return self._sender.send(message)

        try:
            message_id = self._ledger.once(welcome_key(user_id), send)
        except PermanentEmailError as exc:
            self._log.event(logging.ERROR, "welcome_email_rejected", change, reason=str(exc))
            return
        if message_id is None:
            self._log.event(logging.INFO, "welcome_email_duplicate", change)
        else:
            self._log.event(logging.INFO, "welcome_email_sent", change, message_id=message_id)
