"""Wiring: builds the change handler from settings and adapters, and runs an invocation.

``app.py`` holds one :class:`UsersStream`. The settings and the adapters (the SES sender, the
ledger) are made at the first invocation and reused across warm invocations; tests and tools
pass their own through the constructor instead of patching anything.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from chalicelib.changelog import ChangeLog
from chalicelib.contract import BatchResponse
from chalicelib.errors import ConfigurationError
from chalicelib.logline import render
from chalicelib.metrics import metrics_settings, request_id, write_metrics
from chalicelib.ports import EmailSender, Ledger, NoLedger
from chalicelib.reactions import UserReactions
from chalicelib.redaction import Redactor, scrub_text
from chalicelib.runner import Outcomes, invoke
from chalicelib.settings import Settings
from chalicelib.sink import LineSink, make_logger

if TYPE_CHECKING:
    from chalicelib.metrics import LineSink as MetricsSink

__all__ = ["UsersStream"]


def default_sender(settings: Settings) -> EmailSender:
    from chalicelib.adapters.ses import SesEmailSender
    from chalicelib.clients import LazyClient  # with the adapters: not at cold start

    return SesEmailSender(client_factory=LazyClient("ses", settings.email_concurrency))


def default_ledger(settings: Settings) -> Ledger:
    if not settings.ledger_table:
        return NoLedger()
    from chalicelib.adapters.ledger import DynamoDBLedger
    from chalicelib.clients import LazyClient

    client = LazyClient("dynamodb", settings.email_concurrency)
    return DynamoDBLedger(settings.ledger_table, client_factory=client)


class _Built(NamedTuple):
    settings: Settings
    metrics: tuple[str, str]  # the metrics line's namespace and stage
    log: ChangeLog
    sender: EmailSender
    ledger: Ledger
    sink: LineSink


class UsersStream:
    """The users-stream function: ``handle(event)`` processes one Lambda stream event.

    The settings are read from the environment at the first invocation and kept, as the
    environment of a Lambda container never changes; a setting that is missing or wrong
    fails that invocation (and the next, read again) before any record. Other settings mean
    another function: a new instance (tests import the app afresh, as a new container would).
    """

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        sender: EmailSender | None = None,
        ledger: Ledger | None = None,
        log_stream: TextIO | None = None,
        metrics_stream: MetricsSink | None = None,
    ) -> None:
        self._environ = environ
        self._sender = sender
        self._ledger = ledger
        self._log_stream = log_stream
        self._metrics_stream = metrics_stream  # None: standard output as it is at each write
        self._built: _Built | None = None

    def _build(self) -> _Built:
        """The settings and what they make, once: :class:`ConfigurationError` if wrong."""
        if self._built is not None:
            return self._built
        env = os.environ if self._environ is None else self._environ
        settings = Settings.from_environ(env)
        where = metrics_settings(env)
        log = ChangeLog(settings.log_level, Redactor(settings.redact))
        sink = LineSink(make_logger(settings.log_level, self._log_stream))
        sender = self._sender if self._sender is not None else default_sender(settings)
        ledger = self._ledger if self._ledger is not None else default_ledger(settings)
        self._built = _Built(settings, where, log, sender, ledger, sink)
        return self._built

    def handle(self, event: Any, context: Any = None) -> BatchResponse:
        """Handle one Lambda stream event: what Lambda is told is returned, or raised.

        ``context`` is Lambda's: its request id goes on every line, the invocation's metrics
        line (:mod:`chalicelib.metrics`) included, which is written once the batch is done.
        """
        requested = request_id(context)
        try:
            built = self._build()
        except ConfigurationError as wrong:  # before any record: one error for the invocation
            line: dict[str, Any] = {"level": "ERROR", "message": "configuration_error"}
            line["cause"] = str(wrong)
            if requested is not None:
                line["request_id"] = requested
            # A logger of its own: the shared one's level belongs to the settings (LOG_LEVEL).
            stream = sys.stdout if self._log_stream is None else self._log_stream
            make_logger("ERROR", stream).error(render(line, scrub_text))
            raise
        settings, where = built.settings, built.metrics
        log = built.log.for_request(requested)
        reactions = UserReactions(
            log, built.sender, built.ledger, settings.sender, settings.key_schema
        )
        try:
            ran = invoke(
                event,
                reactions.handle,
                log=log,
                sink=built.sink,
                report_failures=settings.report_failures,
                concurrency=settings.email_concurrency,
            )
        except BaseException:  # not the documented failure: nothing is known to be handled
            write_metrics(self._metrics_stream, Outcomes(), context, where)
            raise
        # What this invocation did, counted over the batch (chalicelib.runner): its one metrics
        # line, whether the batch failed or not.
        write_metrics(self._metrics_stream, ran.outcomes, context, where)
        response, failure = ran.verdict
        if failure is not None:
            raise failure
        assert response is not None
        if isinstance(event, Mapping) and "window" in event:
            # A tumbling-window event: Lambda hands the state returned now to the next
            # invocation of the window. This function keeps none; it passes it on unchanged.
            response["state"] = event.get("state") or {}
        return response
