"""The context object Lambda passes as the handler's second argument (Python runtime shape)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LambdaContext"]


@dataclass
class LambdaContext:
    """What ``context`` offers in Lambda's Python runtime; the deadline is the function timeout.

    The timeout is not enforced by interrupting the handler (Python cannot stop a thread): the
    poller treats an invocation that ran past it as failed, as Lambda would.
    """

    function_name: str
    invoked_function_arn: str
    timeout_seconds: float
    memory_limit_in_mb: str = "128"
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    started: float = field(default=-1.0, repr=False)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        remaining = self.timeout_seconds - (self.clock() - self.started)
        return max(0, int(remaining * 1000))
