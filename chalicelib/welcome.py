"""The welcome email: composed from a new user's item, as a pure function.

User-controlled text is escaped in the HTML part and can never reach a header: a recipient
address with a line break, or that is not a single plain address, is refused with
:class:`~chalicelib.errors.PermanentEmailError`; line breaks in names are folded to spaces.
"""

from __future__ import annotations

import html
import re
from typing import Any, NamedTuple

from chalicelib.addresses import is_plain_address
from chalicelib.errors import PermanentEmailError

__all__ = ["WELCOME_ATTRIBUTES", "EmailMessage", "compose_welcome", "user_email"]

WELCOME_ATTRIBUTES = ("email", "name")  # all of a new user's item that the email reads

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # C0, DEL, C1 (NEL), LS, PS
MAX_NAME = 100


class EmailMessage(NamedTuple):  # not a dataclass: importing dataclasses costs cold start
    sender: str
    recipient: str
    subject: str
    text: str
    html: str


def user_email(item: dict[str, Any]) -> str | None:
    """The user's address, or ``None`` when the item has no usable ``email`` attribute."""
    value = item.get("email")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _clean_name(item: dict[str, Any]) -> str:
    name = item.get("name")
    if not isinstance(name, str):
        return ""
    return _CONTROL.sub(" ", name).strip()[:MAX_NAME]


def compose_welcome(item: dict[str, Any], sender: str) -> EmailMessage:
    """The welcome email for a new user ``item`` (a decoded ``NewImage``)."""
    recipient = user_email(item)
    if recipient is None:
        raise PermanentEmailError("the user has no email address")
    if not is_plain_address(recipient):
        raise PermanentEmailError("the user's email address is not a single valid address")
    name = _clean_name(item)
    greeting = f"Hello {name}," if name else "Hello,"
    text = f"{greeting}\n\nWelcome to our service! Your account is ready.\n\n-- The team\n"
    body = (
        "<!DOCTYPE html><html><body>"
        f"<p>{html.escape(greeting)}</p>"
        "<p>Welcome to our service! Your account is ready.</p>"
        "<p>&mdash; The team</p>"
        "</body></html>"
    )
    subject = f"Welcome, {name}!" if name else "Welcome!"
    return EmailMessage(sender=sender, recipient=recipient, subject=subject, text=text, html=body)
