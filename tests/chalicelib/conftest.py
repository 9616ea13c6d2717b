"""Fixtures shared by the chalicelib tests: fake stream events, captured log lines, moto's SES."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from moto import mock_aws
from moto.backends import get_backend
from moto.core.models import DEFAULT_ACCOUNT_ID

from chalicelib.errors import ClaimHeldError
from chalicelib.ports import EmailSender, Ledger
from chalicelib.service import UsersStream
from chalicelib.welcome import EmailMessage
from devtools.stream_events import FakeStream

SENDER = "welcome@example.com"
REGION = "us-east-1"
BASE_ENV = {"WELCOME_EMAIL_SENDER": SENDER}


class LogLines(io.StringIO):
    """A log stream to hand to the app; reads back the JSON lines it was given."""

    def entries(self) -> list[dict[str, Any]]:
        lines = self.getvalue().splitlines()
        return [json.loads(line) for line in lines]

    def messages(self) -> list[str]:
        return [entry["message"] for entry in self.entries()]

    def with_message(self, message: str) -> list[dict[str, Any]]:
        return [entry for entry in self.entries() if entry["message"] == message]


@dataclass
class SesOutbox:
    """moto's SES, in process, with the sender identity verified.

    ``sent()`` is what moto's SES accepted (source, destinations, subject, HTML body: moto keeps
    only one body part); ``wire`` holds every SendEmail request exactly as it went over HTTP,
    parsed, which is where the plain-text part can be read back.
    """

    client: Any
    wire: list[dict[str, str]] = field(default_factory=list)

    def sent(self) -> list[Any]:
        return list(get_backend("ses")[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    def record_request(self, request: Any, **_: Any) -> None:
        body = request.body
        text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
        self.wire.append({k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()})

    def new_client(self) -> Any:
        """Another real SES client on the same moto backend, its requests recorded too."""
        client = boto3.client("ses", region_name=REGION)
        client.meta.events.register("before-send.ses.SendEmail", self.record_request)
        return client


class RecordingSender:
    """An honest EmailSender: keeps what it was asked to send and answers like SES, or fails
    with the error it was given."""

    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.error = error

    def send(self, message: EmailMessage) -> str:
        if self.error is not None:
            raise self.error
        self.sent.append(message)
        return f"message-{len(self.sent)}"


class MemoryLedger:
    """An honest in-memory Ledger: an action runs once per key unless it raised."""

    def __init__(self) -> None:
        self.done: dict[str, str] = {}

    def once(self, key: str, action: Callable[[], str]) -> str | None:
        if key in self.done:
            return None
        result = action()
        self.done[key] = result
        return result


class ClaimHeldLedger:
    """A Ledger whose every claim another invocation holds, as DynamoDBLedger then says."""

    def once(self, key: str, action: Callable[[], str]) -> str | None:
        raise ClaimHeldError("another invocation holds this side effect's claim; retry later")


@contextlib.contextmanager
def open_ses_outbox() -> Iterator[SesOutbox]:
    """moto's AWS, in process, for the duration; SES with :data:`SENDER` verified."""
    with mock_aws():
        client = boto3.client("ses", region_name=REGION)
        client.verify_email_identity(EmailAddress=SENDER)
        outbox = SesOutbox(client)
        client.meta.events.register("before-send.ses.SendEmail", outbox.record_request)
        yield outbox


@pytest.fixture
def ses() -> Iterator[SesOutbox]:
    with open_ses_outbox() as outbox:
        yield outbox


@pytest.fixture
def stream() -> FakeStream:
    return FakeStream()


@pytest.fixture
def logs() -> LogLines:
    return LogLines()


MakeService = Callable[..., UsersStream]


@pytest.fixture
def make_service(logs: LogLines) -> MakeService:
    """``make_service(env={...}, sender=..., ledger=...)``: a UsersStream logging to ``logs``,
    its environment ``env`` over :data:`BASE_ENV`."""

    def make(
        env: Mapping[str, str] | None = None,
        sender: EmailSender | None = None,
        ledger: Ledger | None = None,
    ) -> UsersStream:
        environ = {**BASE_ENV, **(env or {})}
        return UsersStream(environ=environ, sender=sender, ledger=ledger, log_stream=logs)

    return make
