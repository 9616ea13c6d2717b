"""Test-wide safety: no test can reach real AWS.

Fake credentials and region are set before any test module imports boto3 or the app, and
every shared AWS config file is hidden, so a developer's own profile is never used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_SANDBOX = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fake credentials, not a secret
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "USERS_TABLE_STREAM_ARN"):
    os.environ.pop(_name, None)
os.environ.update(_SANDBOX)


_EMULATOR = (
    "import sys\n"
    "from devtools.emulator import Emulator\n"
    "with Emulator() as emulator:\n"
    "    print(emulator.endpoint_url, flush=True)\n"
    "    sys.stdin.read()\n"
)


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """The endpoint of a fresh emulator in another process: moto keeps one state per process,
    so what a test finds there was made by that test alone."""
    process = subprocess.Popen(
        [sys.executable, "-c", _EMULATOR],
        cwd=Path(__file__).resolve().parent.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    endpoint = process.stdout.readline().strip()
    try:
        yield endpoint
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)
