"""Fault injection for the local pipeline (dev and test only).

:class:`FaultyClient` wraps a real boto3 client (pointed at the local emulator) and, when its
``choose`` function says so, raises a real :class:`botocore.exceptions.ClientError` *instead
of* delegating the call - exactly what a throttled or failing AWS endpoint looks like to the
code under test. Everything else goes through to the real client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Fault", "FaultyClient", "client_error", "scripted"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected error: what it counts as, and the AWS error code and HTTP status it has."""

    kind: str
    code: str
    status: int


SES_THROTTLE = Fault("ses_throttle", "Throttling", 400)
SES_5XX = Fault("ses_5xx", "ServiceUnavailable", 503)
LEDGER_THROTTLE = Fault("ledger_throttle", "ProvisionedThroughputExceededException", 400)


def client_error(fault: Fault, operation: str) -> Exception:
    """The :class:`~botocore.exceptions.ClientError` a real endpoint would raise."""
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": fault.code, "Message": f"injected fault ({fault.kind})"},
        "ResponseMetadata": {"HTTPStatusCode": fault.status, "RequestId": "injected"},
    }
    return ClientError(response, _operation_name(operation))


def _operation_name(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


class FaultyClient:
    """A boto3 client stand-in: ``choose(method)`` returns a :class:`Fault` to raise, or None."""

    def __init__(self, inner: Any, choose: Callable[[str], Fault | None]) -> None:
        self._inner = inner
        self._choose = choose

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            fault = self._choose(name)
            if fault is not None:
                raise client_error(fault, name)
            return attribute(*args, **kwargs)

        return call


def scripted(plan: dict[str, Iterable[Fault | None]]) -> Callable[[str], Fault | None]:
    """A ``choose`` for tests: per method, the faults of its successive calls, then none."""
    queues = {method: list(faults) for method, faults in plan.items()}

    def choose(method: str) -> Fault | None:
        queue = queues.get(method)
        return queue.pop(0) if queue else None

    return choose
