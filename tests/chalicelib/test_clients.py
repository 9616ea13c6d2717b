"""The AWS edge's one helper each: the error code, the lazy client and its retry budget."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.clients import MAX_ATTEMPTS, LazyClient, error_code


def test_the_error_code_of_a_client_error() -> None:
    error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutItem")
    assert error_code(error) == "ThrottlingException"


@pytest.mark.parametrize(
    "exc",
    [ValueError("x"), EndpointConnectionError(endpoint_url="http://x"), ClientError({}, "Op")],
)
def test_anything_else_has_no_error_code(exc: Exception) -> None:
    assert error_code(exc) == ""


def test_a_lazy_client_is_made_once_whichever_thread_asks_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[Any] = []
    real = boto3.client

    def client(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, region_name="us-east-1", **kwargs))  # type: ignore[call-overload]
        return made[-1]

    monkeypatch.setattr(boto3, "client", client)
    lazy = LazyClient("dynamodb", concurrency=32)
    assert made == []
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(lazy())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(made) == 1
    assert all(c is made[0] for c in got)
    config = made[0].meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert config.max_pool_connections == 32
