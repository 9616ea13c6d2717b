"""The AWS edge's shared pieces: a client made lazily, its retry budget, an error's code.

Every AWS call of the function goes through a client from :class:`LazyClient`: made on first
use (a batch that sends no email never imports boto3), once, whichever thread asks first, with
botocore's ``standard`` retry mode and the one retry budget, :data:`MAX_ATTEMPTS`. The adapters
add no retry loop of their own: what botocore retries (throttling, 5xx, connection errors) is
retried there, once, and every tool that injects faults below botocore exercises that path.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["MAX_ATTEMPTS", "LazyClient", "client_config", "error_code"]

MAX_ATTEMPTS = 4  # botocore's standard mode: the first call and up to three retries, backed off
_CLIENTS = threading.Lock()  # boto3's default session is not thread-safe


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``"ThrottlingException"``), or ``""``
    for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code", "") or "")
    return ""


def client_config(pool: int = 10, **overrides: Any) -> Any:
    """A botocore ``Config`` with the standard retry mode and :data:`MAX_ATTEMPTS`."""
    from botocore.config import Config

    retries = {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    return Config(max_pool_connections=max(10, pool), retries=retries, **overrides)  # type: ignore[arg-type]


class LazyClient:
    """A boto3 client made on first call, once, whichever thread asks first.

    Emails go out from worker threads (EMAIL_CONCURRENCY), so the adapters' first calls can
    come at the same moment; the connection pool is sized for that many at once (botocore's
    default is 10).
    """

    def __init__(self, service: str, concurrency: int = 10) -> None:
        self._service = service
        self._pool = concurrency
        self._client: Any = None

    def __call__(self) -> Any:
        client = self._client
        if client is not None:
            return client
        with _CLIENTS:
            if self._client is None:
                import boto3  # deferred: a batch that sends no email never imports boto3

                config = client_config(self._pool)
                self._client = boto3.client(self._service, config=config)  # type: ignore[call-overload]
            return self._client
