"""Send email through Amazon SES (the classic ``ses`` API, ``SendEmail``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.clients import LazyClient, error_code
from chalicelib.errors import ConfigurationError, PermanentEmailError, TransientError
from chalicelib.welcome import EmailMessage

__all__ = ["SesEmailSender", "classify_ses_error"]

# Whose fault an SES error is. Codes and messages from the SES API reference (SendEmail's
# errors, and the Common Errors of every action) and the SES developer guide's "Amazon SES email
# sending errors" and "Errors related to the sending quotas"; tests/chalicelib/adapters/
# test_ses.py names each one.
#
# The sender, its identity or the account: the function is misconfigured, and every welcome
# email would fail alike. The record fails (nothing is lost; alarms fire) until someone fixes it.
SENDER_CODES = frozenset(
    {
        "AccountSendingPausedException",  # sending paused for the whole account
        "ConfigurationSetDoesNotExist",
        "ConfigurationSetSendingPausedException",
        "MailFromDomainNotVerifiedException",  # the sender's custom MAIL FROM domain
        "AccessDenied",  # the role may not send as this identity (ses:SendEmail)
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "OptInRequired",
    }
)
# Text in a MessageRejected / InvalidParameterValue message that puts the blame on the sender,
# its identity or the account: "Email address is not verified. The following identities failed
# the check in region ...: <identities>" (an unverified sender, or - in the sandbox - an
# unverified recipient: the account's fault either way), "Domain is not verified", "Sending
# suspended for this account", "Sending paused ...".
_SENDER_MESSAGES = ("not verified", "suspended", "paused", "sandbox")
# The parameters that are the sender's: an InvalidParameterValue naming one is configuration.
_SENDER_PARAMETERS = ("source", "from", "sender", "return-path", "returnpath")
# The recipient or the message: retrying can never help, and no other email is affected.
RECIPIENT_CODES = frozenset({"MessageRejected", "InvalidParameterValue"})


def classify_ses_error(exc: Exception) -> Exception:
    """Map a botocore error to the exception that says whose fault it is.

    * :class:`ConfigurationError` - the sender, its identity or the account (see
      :data:`SENDER_CODES`, :data:`_SENDER_MESSAGES`): the record fails;
    * :class:`PermanentEmailError` - the recipient or the message (``MessageRejected`` or
      ``InvalidParameterValue`` about anything else, e.g. "Address blacklisted.", "Illegal
      address"): a handled rejection, logged at ERROR;
    * :class:`TransientError` - everything else (throttling, "Daily message quota exceeded",
      5xx, timeouts, codes not known here): the record fails and is retried.

    The sender's syntax is checked before any record (``Settings``), so an address error that
    gets this far is about the recipient unless SES names a sender parameter.
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return TransientError(f"SES call failed: {type(exc).__name__}")
    error = response.get("Error", {})
    code = error_code(exc)
    message = str(error.get("Message", "")).lower()
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in SENDER_CODES:
        return ConfigurationError(f"SES refused the sender or account: {code} (HTTP {status})")
    if code in RECIPIENT_CODES:
        if any(text in message for text in _SENDER_MESSAGES):
            return ConfigurationError(
                f"SES refused the sender's identity or the account: {code} (an identity is not "
                "verified, or sending is paused)"
            )
        if code == "InvalidParameterValue" and any(p in message for p in _SENDER_PARAMETERS):
            return ConfigurationError(f"SES refused the sender: {code} (HTTP {status})")
        return PermanentEmailError(f"SES rejected the message ({code})")
    return TransientError(f"SES error {code or 'unknown'} (HTTP {status})")


class SesEmailSender:
    """:class:`~chalicelib.ports.EmailSender` over SES. The client is made on first send."""

    def __init__(self, client_factory: Callable[[], Any] | None = None) -> None:
        # A LazyClient unless given: made on the first send, reused after.
        self._client = client_factory if client_factory is not None else LazyClient("ses")

    def send(self, message: EmailMessage) -> str:
        try:
            response = self._client().send_email(
                Source=message.sender,
                Destination={"ToAddresses": [message.recipient]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                },
            )
        except Exception as exc:  # botocore's ClientError, connection and timeout errors
            raise classify_ses_error(exc) from exc
        return str(response["MessageId"])
