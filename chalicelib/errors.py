"""The documented error types. Every failure that leaves the handler is one of these."""

from __future__ import annotations


class RecordError(Exception):
    """A stream record that could not be handled.

    It names the record (position in the batch, ``SequenceNumber``, ``eventID``), the field at
    fault where there is one (``dynamodb.NewImage.profile.age``), and the cause. Messages never
    carry attribute values: they may be personal data.
    """

    def __init__(
        self,
        cause: str,
        *,
        index: int,
        sequence_number: str | None = None,
        event_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.cause = cause
        self.index = index
        self.sequence_number = sequence_number
        self.event_id = event_id
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        where = [f"record {self.index}"]
        where.append(f"SequenceNumber {self.sequence_number or '<unknown>'}")
        where.append(f"eventID {self.event_id or '<unknown>'}")
        text = f"{where[0]} ({', '.join(where[1:])})"
        if self.field:
            text += f", field {self.field}"
        return f"{text}: {self.cause}"


class BatchFailedError(RuntimeError):
    """Raised to make Lambda retry the batch when partial batch responses are not enabled.

    ``error`` is the first failing record; records before it were handled, the ones after it
    were not attempted.
    """

    def __init__(self, error: RecordError, handled: int) -> None:
        self.error = error
        self.handled = handled
        super().__init__(
            f"stopped at the first failing record after {handled} handled: {error.describe()}"
        )


class TransientError(Exception):
    """A dependency failed in a way that a retry may fix (throttling, 5xx, timeouts)."""


class ClaimHeld(TransientError):
    """The ledger claim of a side effect is held by another invocation (retry later)."""


class PermanentEmailError(Exception):
    """The welcome email can never be sent as asked (invalid or rejected recipient)."""


class ConfigurationError(Exception):
    """The function is misconfigured (a required setting is missing or invalid)."""
