"""Wiring: builds the change handler from settings and adapters, and runs a batch with it.

``app.py`` holds one :class:`UsersStream`. Adapters (the SES sender, the ledger) are built once
per settings and reused across warm invocations; tests and tools pass their own through the
constructor instead of patching anything.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from chalicelib.batch import BatchResponse, InOrder, process_batch
from chalicelib.changelog import ChangeLog, make_logger
from chalicelib.errors import ClaimHeld, ConfigurationError, RecordError
from chalicelib.logline import render
from chalicelib.metrics import Tally, metrics_settings, request_id, write_metrics
from chalicelib.ports import EmailSender, Ledger, NoLedger
from chalicelib.reactions import UserReactions
from chalicelib.redaction import Redactor, scrub_text
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.metrics import LineSink

__all__ = ["UsersStream"]


_CLIENTS = threading.Lock()  # boto3's default session is not thread-safe


class LazyClient:
    """A boto3 client made on first use, once, whichever thread asks first.

    Emails go out from worker threads (EMAIL_CONCURRENCY), so the adapters' first calls can
    come at the same moment; the connection pool is sized for that many at once.
    """

    def __init__(self, service: str, concurrency: int) -> None:
        self._service = service
        self._pool = max(10, concurrency)  # botocore's default is 10
        self._client: Any = None

    def __call__(self) -> Any:
        with _CLIENTS:
            if self._client is None:
                import boto3  # deferred: a batch that sends no email never imports boto3
                from botocore.config import Config

                config = Config(max_pool_connections=self._pool)
                self._client = boto3.client(self._service, config=config)  # type: ignore[call-overload]
            return self._client


def default_sender(settings: Settings) -> EmailSender:
    from chalicelib.adapters.ses import SesEmailSender

    return SesEmailSender(client_factory=LazyClient("ses", settings.email_concurrency))


def default_ledger(settings: Settings) -> Ledger:
    if not settings.ledger_table:
        return NoLedger()
    from chalicelib.adapters.ledger import DynamoDBLedger

    client = LazyClient("dynamodb", settings.email_concurrency)
    return DynamoDBLedger(settings.ledger_table, client_factory=client)


class UsersStream:
    """The users-stream function: ``handle(event)`` processes one Lambda stream event."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        sender: EmailSender | None = None,
        ledger: Ledger | None = None,
        log_stream: TextIO | None = None,
        metrics_stream: LineSink | None = None,
    ) -> None:
        self._environ = environ
        self._sender = sender
        self._ledger = ledger
        self._log_stream = log_stream
        self._metrics_stream = metrics_stream  # None: standard output as it is at each write
        self._built: tuple[Settings, UserReactions, ChangeLog] | None = None

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def settings(self) -> Settings:
        return Settings.from_environ(self._env())

    def _build(self, settings: Settings) -> tuple[UserReactions, ChangeLog]:
        built = self._built
        if built is not None and built[0] == settings:
            return built[1], built[2]
        log = ChangeLog(
            make_logger(settings.log_level, self._log_stream), Redactor(settings.redact)
        )
        sender = self._sender if self._sender is not None else default_sender(settings)
        ledger = self._ledger if self._ledger is not None else default_ledger(settings)
        reactions = UserReactions(log, sender, ledger, settings.sender, settings.key_schema)
        self._built = (settings, reactions, log)
        return reactions, log

    def handle(self, event: Any, context: Any = None) -> BatchResponse:
        tally = Tally()  # metrics (issue 14): counted during the batch, one EMF line after it
        try:
            settings = self.settings()
            namespace, stage = metrics_settings(self._env())
        except ConfigurationError as wrong:  # before any record: one error for the invocation
            line: dict[str, Any] = {"level": "ERROR", "message": "configuration_error"}
            line["cause"] = str(wrong)
            if request_id(context) is not None:
                line["request_id"] = request_id(context)
            # A logger of its own: the shared one's level belongs to the settings (LOG_LEVEL).
            stream = sys.stdout if self._log_stream is None else self._log_stream
            make_logger("ERROR", stream).error(render(line, scrub_text))
            raise
        reactions, log = self._build(settings)

        def failed(error: RecordError) -> None:
            reported = settings.report_failures and error.sequence_number is not None
            tally.failed(
                error.index, reported=reported, claim_lost=isinstance(error.__cause__, ClaimHeld)
            )
            log.event(
                logging.ERROR,
                "record_failed",
                sequence_number=error.sequence_number,
                event_id=error.event_id,
                index=error.index,
                field=error.field,
                cause=error.cause,
                reported=reported,
            )

        # Emails of a batch go out together; its log lines still come out in record order.
        order = InOrder()
        log.route, log.tally = order.write, tally.event
        log.request_id = request_id(context)
        finished = False
        try:
            response = process_batch(
                event,
                reactions.start,
                report_failures=settings.report_failures,
                on_failure=failed,
                concurrency=settings.email_concurrency,
                output=order,
            )
            finished = True
        except BaseException:
            finished = tally.failed_at is not None  # stopped at a failed record, as documented
            raise
        finally:
            log.route = log.tally = log.request_id = None
            # Metrics (issue 14): the invocation's one EMF line, whatever the outcome.
            write_metrics(
                self._metrics_stream, tally, event, context, (namespace, stage), finished=finished
            )
        if isinstance(event, Mapping) and "window" in event:
            # A tumbling-window event: Lambda hands the state returned now to the next
            # invocation of the window. This function keeps none; it passes it on unchanged.
            response["state"] = event.get("state") or {}
        return response
