"""Settings from environment variables (see the README for each one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from chalicelib.addresses import is_plain_address
from chalicelib.errors import ConfigurationError
from chalicelib.keys import DEFAULT_KEY_SCHEMA, KeySchema

__all__ = ["PLACEHOLDER_STREAM_ARN", "Settings", "StreamSettings", "refuse_placeholder_deploy"]

# Used when USERS_TABLE_STREAM_ARN is unset, so that tests, `chalice package` and tools can
# import the app. A function deployed with it would consume nothing: set the real ARN per stage.
PLACEHOLDER_STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:000000000000:table/Users/stream/1970-01-01T00:00:00.000"
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")
DEFAULT_EMAIL_CONCURRENCY = 16  # welcome emails of a batch in flight at once; 1: one by one
MAX_EMAIL_CONCURRENCY = 64


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}")
    return value


# NamedTuple rather than a dataclass: immutable and compared by value all the same, without
# importing dataclasses (and inspect) or compiling generated methods at every cold start.
class StreamSettings(NamedTuple):
    """The event source settings, read once at import (Chalice registers them then)."""

    stream_arn: str
    batch_size: int
    batching_window: int
    starting_position: str

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> StreamSettings:
        position = env.get("STREAM_STARTING_POSITION", "LATEST").strip().upper() or "LATEST"
        if position not in STARTING_POSITIONS:
            raise ConfigurationError("STREAM_STARTING_POSITION must be LATEST or TRIM_HORIZON")
        return cls(
            stream_arn=env.get("USERS_TABLE_STREAM_ARN", "").strip() or PLACEHOLDER_STREAM_ARN,
            batch_size=_int(env, "STREAM_BATCH_SIZE", 100, 1, 10_000),
            batching_window=_int(env, "STREAM_BATCHING_WINDOW_SECONDS", 0, 0, 300),
            starting_position=position,
        )


def refuse_placeholder_deploy(stream: StreamSettings, argv: Sequence[str]) -> None:
    """Stop a bare ``chalice deploy`` of a stage whose stream is still the placeholder.

    Chalice imports the app before it creates anything; deployed as it is, it would create a
    role and a function, fail on the mapping (no such stream) and record neither, so that
    ``chalice delete`` could not remove them. Only the ``chalice deploy`` command is stopped:
    tests, ``chalice package`` and Lambda import the app with the placeholder as before.
    """
    if stream.stream_arn != PLACEHOLDER_STREAM_ARN or not argv:
        return
    if argv[0].rsplit("/", 1)[-1] == "chalice" and "deploy" in argv[1:]:
        raise SystemExit(
            "users-stream: USERS_TABLE_STREAM_ARN is the placeholder, so chalice deploy would "
            "leave a role and a function behind; deploy the table first: python -m "
            "infra.chalice_deploy deploy --stage <stage> --sender <address>"
        )


class Settings(NamedTuple):
    """What the handler reads at its first invocation (:class:`~chalicelib.service.UsersStream`)."""

    sender: str
    report_failures: bool
    log_level: str
    redact: tuple[str, ...]
    ledger_table: str
    email_concurrency: int = DEFAULT_EMAIL_CONCURRENCY
    key_schema: KeySchema = KeySchema.parse(DEFAULT_KEY_SCHEMA)

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        """The settings; :class:`ConfigurationError` naming the first that is missing or wrong.

        Read before any record of an invocation, so a wrong setting fails the invocation
        once, before anything is handled, whichever way the function was deployed.
        """
        redact = env.get("REDACT_ATTRIBUTES", "email,name")
        level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigurationError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        sender = env.get("WELCOME_EMAIL_SENDER", "").strip()
        # Unset, nothing can be sent: a new user with an address fails its record (tools that
        # only log changes run so). Set, it must be an address SES could send from.
        if sender and not is_plain_address(sender):
            raise ConfigurationError(
                "WELCOME_EMAIL_SENDER must be one plain address with a dotted domain and no "
                "display name, a verified SES identity"
            )
        return cls(
            sender=sender,
            report_failures=_flag(env, "REPORT_BATCH_ITEM_FAILURES", False),
            log_level=level,
            redact=tuple(sorted({n.strip() for n in redact.split(",") if n.strip()})),
            ledger_table=env.get("LEDGER_TABLE", "").strip(),
            email_concurrency=_int(
                env, "EMAIL_CONCURRENCY", DEFAULT_EMAIL_CONCURRENCY, 1, MAX_EMAIL_CONCURRENCY
            ),
            key_schema=KeySchema.parse(
                env.get("USERS_TABLE_KEY", "").strip() or DEFAULT_KEY_SCHEMA
            ),
        )
