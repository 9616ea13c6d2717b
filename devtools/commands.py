"""What the local command lines share: clients for an endpoint, and the app's stream handler.

* :func:`session_for` - a boto3 session for the emulator of ``make run`` (or any endpoint), or
  for real AWS when asked for explicitly (``aws``); every client retries a bounded number of
  times, with timeouts, so that an endpoint that does not answer ends in one error line;
  :func:`add_endpoint_arguments` - the two flags that choose it;
* :func:`one_handler` - the app's single ``on_dynamodb_record`` handler (``--app``,
  ``--handler``), or a :class:`~devtools.cli.UsageError` that says what was found.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from devtools.cli import UsageError
from devtools.emulator import DEFAULT_PORT, FAKE_CREDENTIALS
from devtools.pipeline import DiscoveredHandler, discover

__all__ = [
    "DEFAULT_ENDPOINT",
    "REAL_AWS",
    "add_endpoint_arguments",
    "client_config",
    "one_handler",
    "session_for",
]

REAL_AWS = "aws"
DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"


def client_config() -> Any:
    """botocore settings for the tools: the function's retry budget (botocore's standard mode,
    :data:`chalicelib.clients.MAX_ATTEMPTS`), 5 s to connect, 30 s to read."""
    from chalicelib.clients import client_config as standard_retries

    return standard_retries(connect_timeout=5, read_timeout=30)


def add_endpoint_arguments(parser: argparse.ArgumentParser, serves: str) -> None:
    """``--endpoint-url`` (what :func:`session_for` takes) and ``--region``, for a command
    whose clients reach ``serves``."""
    parser.add_argument(
        "--endpoint-url",
        default=DEFAULT_ENDPOINT,
        help=f"endpoint of {serves} (default {DEFAULT_ENDPOINT}, the embedded emulator of "
        f"`make run`); '{REAL_AWS}' for real AWS",
    )
    parser.add_argument("--region", default=None, help="region (default: from the environment)")


def session_for(endpoint_url: str, region: str | None) -> tuple[Any, dict[str, Any]]:
    """A boto3 session and client arguments for ``endpoint_url`` (``aws``: the real one)."""
    import boto3

    if endpoint_url == REAL_AWS:
        return boto3.session.Session(region_name=region), {"config": client_config()}
    if not endpoint_url.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint-url must be an http(s) URL or 'aws', not {endpoint_url!r}")
    has_credentials = bool(os.environ.get("AWS_ACCESS_KEY_ID"))
    session = boto3.session.Session(
        region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=None if has_credentials else FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=(
            None if has_credentials else FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        ),
    )
    return session, {"endpoint_url": endpoint_url, "config": client_config()}


def one_handler(
    app: str, handler: str | None, *, stage: str = "dev", **overrides: Any
) -> DiscoveredHandler:
    """The one ``on_dynamodb_record`` handler of the Chalice app in module ``app``."""
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(app)
    except ModuleNotFoundError as exc:
        if exc.name and app.startswith(exc.name):
            raise UsageError(f"--app {app}: no such module") from exc
        raise
    chalice_app = getattr(module, "app", None)
    if chalice_app is None:
        raise UsageError(f"--app {app}: the module has no Chalice `app`")
    try:
        found = discover(chalice_app, stage=stage, module=module, **overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if handler:
        found = [h for h in found if h.name == handler]
    if len(found) != 1:
        names = ", ".join(h.name for h in found) or "none"
        raise UsageError(f"need exactly one on_dynamodb_record handler (found: {names}); --handler")
    return found[0]
