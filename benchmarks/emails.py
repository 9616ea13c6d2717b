"""Figure 4: welcome emails of a batch of new users, one at a time against EMAIL_CONCURRENCY.

The SES stand-in is a small HTTP server on 127.0.0.1 that speaks the part of the SES query API
the app uses (``Action=SendEmail``) and answers each request after 50 ms, on its own thread.
The app talks to it through its real path: :class:`chalicelib.service.UsersStream` with the
real :class:`chalicelib.adapters.ses.SesEmailSender` over a real boto3 client (endpoint on
loopback, fake credentials, the connection pool sized as the app sizes it), so request
signing, HTTP and response parsing are all in the measured time. This is more real than a
fake sender that sleeps, at the cost of a few milliseconds of boto3 per email.

The serial rate (``EMAIL_CONCURRENCY=1``) is measured on fewer records than the concurrent one
(it costs 50 ms each); a rate does not depend on the batch size. No ledger: the figure is
about SES round trips (with the DynamoDB ledger each email adds a claim and a done mark,
which run on the same worker threads). The stand-in counts what it receives: the concurrent
run must deliver each user's email exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from benchmarks.handler import devnull
from benchmarks.workload import sized_batch
from chalicelib.adapters.ses import SesEmailSender
from chalicelib.ports import NoLedger
from chalicelib.service import UsersStream

__all__ = ["EmailFigures", "SesStandIn", "measure_emails", "ses_stand_in"]

LATENCY_SECONDS = 0.05
CONCURRENCY = 16
SENDER = "welcome@example.com"
RESPONSE = """<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">
  <SendEmailResult><MessageId>{message_id}</MessageId></SendEmailResult>
  <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>
</SendEmailResponse>
"""


class SesStandIn(ThreadingHTTPServer):
    """SES's ``SendEmail`` over HTTP, answering after ``latency`` seconds."""

    daemon_threads = True

    def __init__(self, latency: float) -> None:
        super().__init__(("127.0.0.1", 0), _SesRequest)
        self.latency = latency
        self.lock = threading.Lock()
        self.recipients: Counter[str] = Counter()
        self.most_at_once = 0
        self._at_once = 0

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        with self.lock:
            self.recipients.clear()
            self.most_at_once = 0


class _SesRequest(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its pooled connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: SesStandIn

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode("utf-8"))
        server = self.server
        with server.lock:
            server._at_once += 1
            server.most_at_once = max(server.most_at_once, server._at_once)
        try:
            time.sleep(server.latency)
        finally:
            with server.lock:
                server._at_once -= 1
        if form.get("Action") != ["SendEmail"]:
            self._reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error>")
            return
        with server.lock:
            server.recipients[form["Destination.ToAddresses.member.1"][0]] += 1
        body = RESPONSE.format(message_id=uuid.uuid4().hex, request_id=uuid.uuid4())
        self._reply(200, body)

    def _reply(self, status: int, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it format
        pass  # a line per request would drown the benchmark's output


@contextmanager
def ses_stand_in(latency: float = LATENCY_SECONDS) -> Iterator[SesStandIn]:
    server = SesStandIn(latency)
    thread = threading.Thread(target=server.serve_forever, name="ses-stand-in", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _ses_client(endpoint: str, concurrency: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "ses",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=max(10, concurrency), retries={"max_attempts": 1}),
    )


@dataclass(frozen=True)
class EmailFigures:
    serial_emails: int
    serial_seconds: float
    concurrent_emails: int
    concurrent_seconds: float
    concurrency: int
    most_at_once: int
    each_once: bool

    @property
    def serial_rate(self) -> float:
        return self.serial_emails / self.serial_seconds

    @property
    def concurrent_rate(self) -> float:
        return self.concurrent_emails / self.concurrent_seconds

    @property
    def speedup(self) -> float:
        return self.concurrent_rate / self.serial_rate


def _send_batch(server: SesStandIn, records: int, concurrency: int) -> tuple[float, bool]:
    event = sized_batch(records, mix={"INSERT": 1.0}).event
    expected = Counter(r["dynamodb"]["NewImage"]["email"]["S"] for r in event["Records"])
    environ = {"WELCOME_EMAIL_SENDER": SENDER, "EMAIL_CONCURRENCY": str(concurrency)}
    client = _ses_client(server.endpoint, concurrency)
    with devnull() as sink:
        service = UsersStream(
            environ=environ,
            sender=SesEmailSender(client_factory=lambda: client),
            ledger=NoLedger(),
            log_stream=sink,
        )
        server.reset()
        start = time.perf_counter()
        response = service.handle(event)
        elapsed = time.perf_counter() - start
    assert response == {"batchItemFailures": []}, response
    return elapsed, server.recipients == expected


def measure_emails(*, serial_records: int, concurrent_records: int) -> EmailFigures:
    with ses_stand_in() as server:
        _send_batch(server, 5, CONCURRENCY)  # warm up: boto3's loaders, connections
        serial_seconds, serial_once = _send_batch(server, serial_records, 1)
        concurrent_seconds, concurrent_once = _send_batch(server, concurrent_records, CONCURRENCY)
        most = server.most_at_once
    return EmailFigures(
        serial_emails=serial_records,
        serial_seconds=serial_seconds,
        concurrent_emails=concurrent_records,
        concurrent_seconds=concurrent_seconds,
        concurrency=CONCURRENCY,
        most_at_once=most,
        each_once=serial_once and concurrent_once,
    )
