"""SesEmailSender: what SES receives, the lazy client, and which errors fail a record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.adapters.ses import SesEmailSender, classify_ses_error
from chalicelib.errors import ConfigurationError, PermanentEmailError, TransientError
from chalicelib.welcome import compose_welcome
from tests.chalicelib.conftest import SENDER, SesOutbox

MESSAGE = compose_welcome({"id": "u1", "email": "ada@example.com", "name": "Ada"}, SENDER)


def test_what_ses_receives(ses: SesOutbox) -> None:
    message_id = SesEmailSender(client_factory=lambda: ses.client).send(MESSAGE)

    (sent,) = ses.sent()
    assert sent.id == message_id
    assert sent.source == SENDER
    assert sent.destinations == {"ToAddresses": ["ada@example.com"]}
    assert sent.subject == "Welcome, Ada!"
    assert sent.body == MESSAGE.html
    (request,) = ses.wire
    assert request["Message.Body.Text.Data"] == MESSAGE.text
    assert request["Message.Body.Html.Data"] == MESSAGE.html
    assert request["Message.Body.Text.Charset"] == "UTF-8"
    assert request["Message.Subject.Charset"] == "UTF-8"
    assert "Destination.CcAddresses.member.1" not in request


def test_unicode_arrives_intact(ses: SesOutbox) -> None:
    message = compose_welcome({"email": "zoe@example.com", "name": "Zoë 李"}, SENDER)

    SesEmailSender(client_factory=lambda: ses.client).send(message)

    assert ses.sent()[0].subject == "Welcome, Zoë 李!"
    assert "Hello Zoë 李," in ses.wire[0]["Message.Body.Text.Data"]


def test_the_client_is_made_on_first_send_and_reused(
    ses: SesOutbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default client is a LazyClient (chalicelib.clients): made on the first send, once."""
    made: list[Any] = []
    real = boto3.client

    def client(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(boto3, "client", client)
    sender = SesEmailSender()
    assert made == []

    sender.send(MESSAGE)
    sender.send(MESSAGE)

    assert len(made) == 1
    assert len(ses.sent()) == 2


def test_the_default_client_is_a_real_ses_client(ses: SesOutbox) -> None:
    SesEmailSender().send(MESSAGE)

    assert [m.destinations for m in ses.sent()] == [{"ToAddresses": ["ada@example.com"]}]


def test_an_unverified_sender_fails_the_record_rather_than_dropping_the_email(
    ses: SesOutbox,
) -> None:
    unverified = compose_welcome({"email": "ada@example.com"}, "nobody@example.net")

    with pytest.raises(ConfigurationError) as caught:
        SesEmailSender(client_factory=lambda: ses.client).send(unverified)

    assert ses.sent() == []
    assert "MessageRejected" in str(caught.value)
    assert "nobody@example.net" not in str(caught.value)


# --- errors SES answers with, through botocore's Stubber on a real client --------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Stubber, SesEmailSender]]:
    client = boto3.client("ses", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber, SesEmailSender(client_factory=lambda: client)
        stubber.assert_no_pending_responses()


# Sources, for each code and message:
#   [API] SES API reference, SendEmail "Errors" and "Common Errors"
#         https://docs.aws.amazon.com/ses/latest/APIReference/API_SendEmail.html
#         https://docs.aws.amazon.com/ses/latest/APIReference/CommonErrors.html
#   [DG]  SES developer guide, "Amazon SES email sending errors"
#         https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-error-messages.html
#   [Q]   SES developer guide, "Errors related to the sending quotas for your Amazon SES account"
#         https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html
# Codes are the wire codes of botocore's SES model (ConfigurationSetDoesNotExistException is
# sent as "ConfigurationSetDoesNotExist").

TRANSIENT = [  # a retry can cure these: the record fails and is retried
    ("Throttling", 400, "Maximum sending rate exceeded."),  # [Q]
    ("Throttling", 400, "Daily message quota exceeded."),  # [Q]
    ("ServiceUnavailable", 503, "Service unavailable"),  # [API] common errors
    ("InternalFailure", 500, "Internal failure"),  # [API] common errors
]

SENDER_FAULTS = [  # the sender, its identity or the account: the record fails, nothing dropped
    ("AccessDenied", 403, "User is not authorized to perform `ses:SendEmail'"),  # [API] common
    ("AccountSendingPausedException", 400, "Sending paused for this account."),  # [API]
    ("ConfigurationSetDoesNotExist", 400, "Configuration set does not exist."),  # [API]
    ("ConfigurationSetSendingPausedException", 400, "Sending paused for configuration set."),
    ("MailFromDomainNotVerifiedException", 400, "MAIL FROM domain MX record not found."),  # [API]
    ("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
    (  # [DG]: an unverified sender, or in the sandbox an unverified recipient
        "MessageRejected",
        400,
        "Email address is not verified. The following identities failed "
        "the check in region US-EAST-1: ada@example.com",
    ),
    ("MessageRejected", 400, "Domain is not verified."),  # [DG]
    ("MessageRejected", 400, "Sending suspended for this account."),  # [DG]
    ("InvalidParameterValue", 400, "Missing final '@domain' in Source"),  # [API] common errors
]


PERMANENT = [  # the recipient or the message: a handled rejection (logged at ERROR)
    ("MessageRejected", "Address blacklisted."),  # [DG]
    ("MessageRejected", "Email address is on the suppression list."),
    ("InvalidParameterValue", "Illegal address"),  # [DG]
    ("InvalidParameterValue", "Local address contains control or whitespace"),  # [DG]
    ("InvalidParameterValue", "Message length is more than 10485760 bytes long."),  # [DG]
]

CASES = (
    [(*case, TransientError) for case in TRANSIENT]
    + [(*case, ConfigurationError) for case in SENDER_FAULTS]
    + [(code, 400, text, PermanentEmailError) for code, text in PERMANENT]
)


@pytest.mark.parametrize(
    ("code", "status", "text", "blame"), CASES, ids=[f"{c[0]}: {c[2]}" for c in CASES]
)
def test_each_documented_ses_error_is_blamed_on_the_right_party(
    stubbed: tuple[Stubber, SesEmailSender], code: str, status: int, text: str, blame: type
) -> None:
    """Transient: the record fails and is retried. Configuration (the sender, its identity,
    the account): the record fails, nothing is dropped, until someone fixes it. Permanent (the
    recipient or the message): a handled rejection."""
    stubber, sender = stubbed
    stubber.add_client_error("send_email", code, text, http_status_code=status)

    with pytest.raises(blame) as caught:
        sender.send(MESSAGE)

    assert type(caught.value) is blame
    assert code in str(caught.value)
    assert "ada@example.com" not in str(caught.value)
    assert isinstance(caught.value.__cause__, ClientError)


# --- failures below HTTP: an honest fake client -------------------------------------------------


class FailingClient:
    """Raises what botocore raises when SES cannot be reached."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send_email(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=["no-endpoint", "read-timeout", "reset"],
)
def test_network_failures_are_transient(error: Exception) -> None:
    client = FailingClient(error)

    with pytest.raises(TransientError) as caught:
        SesEmailSender(client_factory=lambda: client).send(MESSAGE)

    assert type(error).__name__ in str(caught.value)
    assert caught.value.__cause__ is error
    assert client.calls == 1


def test_classify_without_a_response_is_transient() -> None:
    assert isinstance(classify_ses_error(RuntimeError("boom")), TransientError)
