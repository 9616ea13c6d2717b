"""The ports the user reactions talk through; adapters live in :mod:`chalicelib.adapters`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:  # a batch without new users never needs the email module (cold start)
    from chalicelib.welcome import EmailMessage

__all__ = ["EmailSender", "Ledger", "NoLedger", "Unmarked"]

T = TypeVar("T")


class EmailSender(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Send ``message``; return the provider's message id.

        Raises :class:`~chalicelib.errors.TransientError` where a retry may succeed and
        :class:`~chalicelib.errors.PermanentEmailError` where it never will.
        """
        ...


class Unmarked(str):
    """What an action returned, when the ledger could not record it as done.

    The action happened, but until ``open_until`` (epoch seconds: when the claim's lease runs
    out) nothing stops a retry from performing it again: the duplicate window is open.
    """

    open_until: float

    def __new__(cls, result: str, open_until: float) -> Unmarked:
        marked = super().__new__(cls, result)
        marked.open_until = open_until
        return marked


class Ledger(Protocol):
    def once(self, key: str, action: Callable[[], str]) -> str | None:
        """Run ``action`` unless an earlier run for ``key`` completed.

        Returns what ``action`` returned (an :class:`Unmarked` if that could not be recorded),
        or ``None`` when it had already been done. A failing ``action`` leaves ``key`` free to
        be tried again, and its exception propagates.
        """
        ...


class NoLedger:
    """No idempotency store: every call runs the action (at-least-once side effects)."""

    def once(self, key: str, action: Callable[[], str]) -> str | None:
        return action()
