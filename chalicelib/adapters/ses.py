"""Send email through Amazon SES (the classic ``ses`` API, ``SendEmail``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.errors import PermanentEmailError, TransientError
from chalicelib.welcome import EmailMessage

__all__ = ["SesEmailSender", "classify_ses_error"]

# The recipient or message can never be accepted: retrying cannot help.
PERMANENT_CODES = frozenset({"MessageRejected", "InvalidParameterValue"})


def default_ses_client() -> Any:
    import boto3  # deferred: a batch that sends no email never pays for importing boto3

    return boto3.client("ses")


def classify_ses_error(exc: Exception) -> Exception:
    """Map a botocore error to :class:`TransientError` or :class:`PermanentEmailError`.

    Everything that is not a known permanent rejection is transient, including configuration
    errors (unverified sender, missing permissions, a paused account): they fail the record,
    so that nothing is lost while someone fixes them, and alarms fire.
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # SES answers an unverified sender (or, in the sandbox, recipient) with MessageRejected
        # too: that is configuration, so it fails the record like the other configuration errors.
        if "not verified" in str(response.get("Error", {}).get("Message", "")).lower():
            return TransientError(f"SES error {code} (HTTP {status}): an identity is not verified")
        if code in PERMANENT_CODES:
            return PermanentEmailError(f"SES rejected the message ({code})")
        return TransientError(f"SES error {code or 'unknown'} (HTTP {status})")
    return TransientError(f"SES call failed: {type(exc).__name__}")


class SesEmailSender:
    """:class:`~chalicelib.ports.EmailSender` over SES. The client is made on first send."""

    def __init__(self, client_factory: Callable[[], Any] = default_ses_client) -> None:
        self._client_factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def send(self, message: EmailMessage) -> str:
        try:
            response = self.client.send_email(
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
