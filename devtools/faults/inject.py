"""Faults, injected below botocore: the real retry path (standard mode) is what they meet.

:func:`inject` registers a ``before-send`` hook on a real boto3 client. For each HTTP request
botocore is about to send (each attempt, retries included), the hook asks ``before(method)``;
a :class:`Fault` it names is answered in place of the endpoint, as an HTTP error response in
the service's own protocol (JSON for DynamoDB and its streams, XML for SES's query API), which
botocore parses into its ``ClientError`` and retries or raises as it would with AWS. A
:class:`ProcessKilled` raised by ``before`` escapes botocore (a ``BaseException``, as a dying
runtime); a dead :class:`Process` makes every later request fail with a ``ConnectionError``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LEDGER_THROTTLE",
    "SES_5XX",
    "SES_THROTTLE",
    "Fault",
    "FaultPlan",
    "FaultRates",
    "Process",
    "ProcessKilled",
    "inject",
    "scripted",
]

Before = Callable[[str], "Fault | None"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected error: what it counts as, and the AWS error code and HTTP status it has."""

    kind: str
    code: str
    status: int


SES_THROTTLE = Fault("ses_throttle", "Throttling", 400)
SES_5XX = Fault("ses_5xx", "ServiceUnavailable", 503)
LEDGER_THROTTLE = Fault("ledger_throttle", "ProvisionedThroughputExceededException", 400)


class _Body:
    """The raw part of a botocore ``AWSResponse``: its body, streamed once."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def fault_response(fault: Fault, protocol: str, url: str) -> Any:
    """The HTTP response an AWS endpoint of ``protocol`` gives for ``fault``."""
    from botocore.awsrequest import AWSResponse, HeadersDict

    message = f"injected fault ({fault.kind})"
    if protocol == "query":  # SES: an XML ErrorResponse
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{fault.code}</Code><Message>{message}</Message></Error>"
            "<RequestId>injected</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": "injected"}
    else:  # DynamoDB, DynamoDB Streams: JSON 1.0
        body = json.dumps({"__type": f"com.amazonaws#{fault.code}", "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse(url, fault.status, HeadersDict(headers), _Body(body))  # type: ignore[arg-type]


def inject(client: Any, before: Before) -> Any:
    """Make ``client`` (a real boto3 client) meet the faults ``before`` names; ``client``."""
    from botocore import xform_name

    protocol = client.meta.service_model.protocol

    def hook(request: Any, event_name: str, **_: Any) -> Any:
        fault = before(xform_name(event_name.rsplit(".", 1)[-1]))  # SendEmail -> send_email
        return None if fault is None else fault_response(fault, protocol, request.url)

    client.meta.events.register("before-send", hook)
    return client


def scripted(plan: dict[str, Iterable[Fault | None]]) -> Before:
    """A ``before`` for tests: per method, the faults of its successive requests, then none."""
    queues = {method: list(faults) for method, faults in plan.items()}

    def before(method: str) -> Fault | None:
        queue = queues.get(method)
        return queue.pop(0) if queue else None

    return before


class ProcessKilled(BaseException):
    """The simulated runtime process died (a ``BaseException``: no handler catches it)."""


class Process:
    """One simulated runtime process. Once killed, every client it made fails."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.dead = False

    def kill(self, where: str) -> None:
        self.dead = True
        raise ProcessKilled(where)

    def check(self) -> None:
        if self.dead:
            raise ConnectionError(f"process {self.number} is gone")


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probabilities, per opportunity: per SES request, per ledger request, per batch, per
    record. A request botocore retries is another opportunity."""

    ses_throttle: float = 0.03
    ses_5xx: float = 0.02
    ledger_throttle: float = 0.01
    kill_before_send: float = 0.01
    kill_before_claim: float = 0.004
    kill_after_batch: float = 0.04
    poison: float = 0.002


class FaultPlan:
    """Decides every fault from one seeded generator, and counts them."""

    def __init__(self, rates: FaultRates, seed: int) -> None:
        self.rates = rates
        self.seed = seed
        self._streams: dict[str, random.Random] = {}
        self.active = True
        self.counts: Counter[str] = Counter()
        self._poisoned: dict[str, bool] = {}

    def _roll(self, kind: str, probability: float) -> bool:
        """One draw from ``kind``'s own seeded stream: kinds do not shift each other."""
        if not self.active:
            return False
        stream = self._streams.get(kind)
        if stream is None:
            stream = self._streams[kind] = random.Random(f"{self.seed}:{kind}")  # noqa: S311
        return stream.random() < probability

    def _fault(self, *faults: tuple[Fault, float]) -> Fault | None:
        for fault, rate in faults:
            if self._roll(fault.kind, rate):
                self.counts[fault.kind] += 1
                return fault
        return None

    def ses(self, process: Process) -> Before:
        def before(method: str) -> Fault | None:
            process.check()
            if method != "send_email":
                return None
            self.counts["ses_calls"] += 1
            if self._roll("kill_before_send", self.rates.kill_before_send):
                self.counts["kill_before_send"] += 1
                process.kill("before an SES send")
            return self._fault(
                (SES_THROTTLE, self.rates.ses_throttle), (SES_5XX, self.rates.ses_5xx)
            )

        return before

    def ledger(self, process: Process) -> Before:
        def before(method: str) -> Fault | None:
            process.check()
            if method not in ("put_item", "get_item", "update_item", "delete_item"):
                return None
            self.counts["ledger_calls"] += 1
            # Never between SES's acceptance and the done mark (update_item): that window is
            # the documented duplicate, not a fault the design can absorb.
            if method == "put_item" and self._roll(
                "kill_before_claim", self.rates.kill_before_claim
            ):
                self.counts["kill_before_claim"] += 1
                process.kill("before a ledger claim")
            return self._fault((LEDGER_THROTTLE, self.rates.ledger_throttle))

        return before

    def after_batch(self, process: Process) -> None:
        if self._roll("kill_after_batch", self.rates.kill_after_batch):
            self.counts["kill_after_batch"] += 1
            process.kill("after a batch, before its checkpoint")

    def poison(self, event: dict[str, Any]) -> dict[str, Any]:
        """FAULT INJECTION, not stream data: corrupt the chosen records of this delivery."""
        if not self.active:
            return event
        for record in event["Records"]:
            body = record["dynamodb"]
            sequence = body["SequenceNumber"]
            if sequence not in self._poisoned:
                self._poisoned[sequence] = self._roll("poison", self.rates.poison)
                self.counts["poison_records"] += self._poisoned[sequence]
            if self._poisoned[sequence]:
                image = body.get("NewImage") or body.get("OldImage")
                if image is not None:
                    image["poison"] = {"B": "!! injected: not base64 !!"}
        return event
