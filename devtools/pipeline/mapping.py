"""What an event source mapping is: its settings, and the function it invokes.

:class:`MappingConfig` holds the settings Lambda's ``CreateEventSourceMapping`` takes for a
DynamoDB stream, with the same defaults and limits. :func:`discover` reads the
``on_dynamodb_record`` handlers of a Chalice app: Chalice itself only knows the stream, the batch
size, the batching window and the starting position; the rest (partial batch responses, bisect,
retry limit, record age, on-failure destination) comes from options, as it does on AWS from the
merge template.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "DiscoveredHandler",
    "Handler",
    "MappingConfig",
    "checkpoint_key",
    "discover",
    "function_arn",
    "settings_from_template",
]

Handler = Callable[[dict[str, Any], Any], Any]
"""A Lambda handler: ``handler(event, context)``; what it returns is the function's response."""

STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")


@dataclass(frozen=True, slots=True)
class MappingConfig:
    """One event source mapping (defaults as in Lambda's API, except where noted).

    ``retry_backoff_seconds`` and ``retry_backoff_max_seconds`` shape the exponential wait
    between retries of a failed batch (Lambda does not document its own); ``poll_interval``
    is the wait after an empty ``GetRecords`` (Lambda polls each shard four times a second);
    ``timeout_seconds`` is the function's timeout (Chalice's default, 60).
    """

    function_name: str
    stream_arn: str
    batch_size: int = 100
    batching_window_seconds: float = 0
    starting_position: str = "LATEST"
    report_batch_item_failures: bool = False
    bisect_batch_on_function_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age_seconds: int = -1
    on_failure_destination: str | None = None
    timeout_seconds: float = 60
    memory_size_mb: int = 128
    poll_interval: float = 0.25
    retry_backoff_seconds: float = 1.0
    retry_backoff_max_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError("batch_size must be between 1 and 10000")
        if not 0 <= self.batching_window_seconds <= 300:
            raise ValueError("batching_window_seconds must be between 0 and 300")
        if self.starting_position not in STARTING_POSITIONS:
            raise ValueError("starting_position must be LATEST or TRIM_HORIZON")
        if not -1 <= self.maximum_retry_attempts <= 10_000:
            raise ValueError("maximum_retry_attempts must be between -1 and 10000")
        age = self.maximum_record_age_seconds
        if age != -1 and not 60 <= age <= 604_800:
            raise ValueError("maximum_record_age_seconds must be -1 (forever) or 60..604800")
        if self.timeout_seconds <= 0 or self.poll_interval < 0:
            raise ValueError("timeout_seconds must be positive and poll_interval not negative")
        if self.retry_backoff_seconds < 0 or self.retry_backoff_max_seconds < 0:
            raise ValueError("retry backoff must not be negative")
        region_and_account(self.stream_arn)

    def backoff(self, retries: int) -> float:
        """Seconds to wait before retry number ``retries`` (1, 2, ...): exponential, capped."""
        if retries <= 0:
            return 0.0
        return float(
            min(self.retry_backoff_max_seconds, self.retry_backoff_seconds * 2 ** (retries - 1))
        )

    def with_overrides(self, **changes: Any) -> MappingConfig:
        """A copy with the given settings replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def region_and_account(arn: str) -> tuple[str, str]:
    """``(region, account)`` of an ARN, or ``ValueError``."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[3] or not parts[4]:
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[3], parts[4]


def checkpoint_key(config: MappingConfig) -> str:
    """What identifies a mapping's checkpoints: the function and the stream (as Lambda's UUID)."""
    return f"{config.function_name}|{config.stream_arn}"


def function_arn(config: MappingConfig) -> str:
    """The ARN the function would have, in the stream's region and account."""
    region, account = region_and_account(config.stream_arn)
    return f"arn:aws:lambda:{region}:{account}:function:{config.function_name}"


@dataclass(frozen=True, slots=True)
class DiscoveredHandler:
    """An ``on_dynamodb_record`` handler found on a Chalice app."""

    name: str
    handler_string: str
    handler: Handler
    config: MappingConfig


def discover(
    app: Any, *, stage: str = "dev", module: ModuleType | None = None, **overrides: Any
) -> list[DiscoveredHandler]:
    """The ``on_dynamodb_record`` handlers registered on the Chalice ``app``.

    Each handler is the module attribute Chalice names in ``handler_string`` (for example
    ``app.handle_user_changes``; Chalice always says ``app`` outside blueprints, so pass the
    ``module`` that holds ``app`` when it is not importable as ``app``), callable as
    ``handler(event, context)`` exactly as Lambda calls it. ``overrides`` replace settings of
    every :class:`MappingConfig` (for example the stream ARN, or
    ``report_batch_item_failures``); ``None`` values are ignored.
    """
    from chalice.app import DynamoDBEventConfig  # deferred: only discovery needs Chalice

    found = []
    for source in getattr(app, "event_sources", []):
        if not isinstance(source, DynamoDBEventConfig):
            continue
        module_name, _, attribute = source.handler_string.rpartition(".")
        holder = module if module is not None and module_name == "app" else None
        handler = getattr(holder or importlib.import_module(module_name), attribute)
        config = MappingConfig(
            function_name=f"{app.app_name}-{stage}-{source.name}",
            stream_arn=overrides.get("stream_arn") or source.stream_arn,
            batch_size=source.batch_size,
            batching_window_seconds=source.maximum_batching_window_in_seconds,
            starting_position=source.starting_position,
        ).with_overrides(**overrides)
        found.append(DiscoveredHandler(source.name, source.handler_string, handler, config))
    return found


def settings_from_template(path: Path | str, function: str = "HandleUserChanges") -> dict[str, Any]:
    """The mapping settings the deployed stack gives ``function``, read from a CloudFormation
    (SAM) file such as ``infra/consumer.yaml``: its DynamoDB event's ``FunctionResponseTypes``,
    ``BisectBatchOnFunctionError``, ``MaximumRetryAttempts``, ``MaximumRecordAgeInSeconds``
    and, where set, ``BatchSize``, ``MaximumBatchingWindowInSeconds`` and
    ``StartingPosition``. ``Ref``\\ s to parameters resolve to their defaults.

    The result holds :class:`MappingConfig` field names, ready for ``with_overrides``; so the
    local pipeline runs with the settings the deployment has, not a second copy of them.
    """
    from infra.cfn import load_template

    template = load_template(Path(path))
    defaults = {
        name: spec.get("Default")
        for name, spec in template.get("Parameters", {}).items()
        if isinstance(spec, dict)
    }

    def value(raw: Any) -> Any:
        if isinstance(raw, dict) and set(raw) == {"Ref"}:
            return defaults.get(raw["Ref"])
        return raw

    events = template["Resources"][function]["Properties"].get("Events", {})
    for event in events.values():
        props = event.get("Properties", {})
        if "Stream" not in props:
            continue
        found: dict[str, Any] = {
            "report_batch_item_failures": "ReportBatchItemFailures"
            in (value(props.get("FunctionResponseTypes")) or []),
            "bisect_batch_on_function_error": str(
                value(props.get("BisectBatchOnFunctionError", False))
            ).lower()
            == "true",
        }
        numbers = {
            "MaximumRetryAttempts": "maximum_retry_attempts",
            "MaximumRecordAgeInSeconds": "maximum_record_age_seconds",
            "BatchSize": "batch_size",
            "MaximumBatchingWindowInSeconds": "batching_window_seconds",
        }
        for key, field_name in numbers.items():
            if value(props.get(key)) is not None:
                found[field_name] = int(value(props[key]))
        if value(props.get("StartingPosition")) is not None:
            found["starting_position"] = str(value(props["StartingPosition"]))
        return found
    raise ValueError(f"{path}: {function} has no DynamoDB stream event")
