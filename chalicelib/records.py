"""One DynamoDB stream record as a typed, read-only change.

:class:`Change` checks the record's envelope eagerly (cheap) and leaves the images to be
decoded on first access, once. Every fault is a :class:`~chalicelib.errors.RecordError` that
names the record and the field.

AWS's ``Record`` and ``StreamRecord`` references mark every field optional. The handler needs
three: ``dynamodb.SequenceNumber`` (what Lambda checkpoints and a failure is reported by),
``eventName`` (what happened) and ``dynamodb.Keys`` (which item). Every other field may be
absent (``eventID``, ``ApproximateCreationDateTime``, ``SizeBytes``, ``eventSourceARN``,
``StreamViewType``, ``eventSource``, ``userIdentity``): the change is handled and the log
line says ``null``. A field that is present is still checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeGuard

from chalicelib.decoding import DecodeError, decode_image
from chalicelib.errors import RecordError

__all__ = ["Change"]

EVENT_NAMES = frozenset(("INSERT", "MODIFY", "REMOVE"))
STREAM_VIEW_TYPES = frozenset(("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"))
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"
_UNSET: Any = object()


class Change:
    """A change to one item, as captured by the stream."""

    __slots__ = (
        "_keys",
        "_new",
        "_old",
        "_raw",
        "approximate_creation_time",
        "event_id",
        "event_name",
        "event_source_arn",
        "index",
        "is_ttl_expiry",
        "sequence_number",
        "size_bytes",
        "stream_view_type",
        "table_name",
    )

    event_name: str
    event_id: str | None  # optional in AWS's Record reference, as are the ones below
    sequence_number: str
    index: int
    size_bytes: int | None
    stream_view_type: str
    event_source_arn: str
    table_name: str
    approximate_creation_time: datetime | None
    is_ttl_expiry: bool

    def __init__(self, raw: Mapping[str, Any], index: int = 0) -> None:
        self._raw = raw
        self.index = index
        self._keys = self._new = self._old = _UNSET
        self._parse_envelope()

    # -- envelope -------------------------------------------------------------------------

    def error(self, cause: str, field: str | None = None) -> RecordError:
        """A :class:`RecordError` about this record (to raise), naming ``field``."""
        return self._fail(cause, field)

    def _fail(self, cause: str, field: str | None = None) -> RecordError:
        raw = self._raw if isinstance(self._raw, Mapping) else {}
        body = raw.get("dynamodb")
        seq = body.get("SequenceNumber") if isinstance(body, Mapping) else None
        event_id = raw.get("eventID")
        return RecordError(
            cause,
            index=self.index,
            sequence_number=seq if _is_sequence_number(seq) else None,
            event_id=event_id if isinstance(event_id, str) else None,
            field=field,
        )

    def _parse_envelope(self) -> None:
        raw = self._raw
        # type(x) is dict first: isinstance against the Mapping ABC costs some 0.2 us a call,
        # and what Lambda delivers is plain dicts.
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise self._fail("record is not an object")
        body = raw.get("dynamodb")
        if type(body) is not dict and not isinstance(body, Mapping):
            raise self._fail("missing or not an object", "dynamodb")
        seq = body.get("SequenceNumber")
        if not _is_sequence_number(seq):
            raise self._fail("missing or not a sequence number", "dynamodb.SequenceNumber")
        self.sequence_number = seq
        event_name = raw.get("eventName")
        if type(event_name) is not str or event_name not in EVENT_NAMES:  # a list is unhashable
            raise self._fail("not INSERT, MODIFY or REMOVE", "eventName")
        self.event_name = event_name
        event_id = raw.get("eventID")
        if event_id is not None and type(event_id) is not str:
            raise self._fail("not a string", "eventID")
        self.event_id = event_id
        source = raw.get("eventSource", "aws:dynamodb")
        if source != "aws:dynamodb":
            raise self._fail("not a DynamoDB stream record", "eventSource")
        view = body.get("StreamViewType", "NEW_AND_OLD_IMAGES")
        if type(view) is not str or view not in STREAM_VIEW_TYPES:
            raise self._fail("unknown stream view type", "dynamodb.StreamViewType")
        self.stream_view_type = view
        keys = body.get("Keys")
        if type(keys) is not dict and not isinstance(keys, Mapping):
            raise self._fail("missing or not an object", "dynamodb.Keys")
        created: Any = body.get("ApproximateCreationDateTime")
        if created is None:
            self.approximate_creation_time = None
        elif type(created) not in (int, float):
            raise self._fail("not epoch seconds", "dynamodb.ApproximateCreationDateTime")
        else:
            try:
                self.approximate_creation_time = datetime.fromtimestamp(created, UTC)
            except (OverflowError, OSError, ValueError):
                raise self._fail("out of range", "dynamodb.ApproximateCreationDateTime") from None
        size = body.get("SizeBytes")
        if size is not None and (type(size) is not int or size < 0):
            raise self._fail("not a byte count", "dynamodb.SizeBytes")
        self.size_bytes = size
        arn = raw.get("eventSourceARN", "")
        if type(arn) is not str:
            raise self._fail("not a string", "eventSourceARN")
        self.event_source_arn = arn
        self.table_name = _table_name(arn)
        identity = raw.get("userIdentity")
        self.is_ttl_expiry = (
            event_name == "REMOVE"
            and (type(identity) is dict or isinstance(identity, Mapping))
            and identity.get("type") == "Service"
            and identity.get("principalId") == _TTL_PRINCIPAL
        )

    # -- images, decoded on first access ------------------------------------------------------

    def _image(self, name: str, image: Any = _UNSET) -> dict[str, Any] | None:
        if image is _UNSET:
            image = self._raw["dynamodb"].get(name)
        if image is None:
            return None
        try:
            return decode_image(image)
        except DecodeError as exc:
            field = f"dynamodb.{name}" + (f".{exc.path}" if exc.path else "")
            raise self._fail(exc.reason, field) from None

    @property
    def keys(self) -> dict[str, Any]:
        if self._keys is _UNSET:
            self._keys = self._image("Keys")
        return self._keys  # type: ignore[no-any-return]

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change (``None`` for REMOVE, or when the view type omits it)."""
        if self._new is _UNSET:
            self._new = self._image("NewImage")
        return self._new  # type: ignore[no-any-return]

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change (``None`` for INSERT, or when the view type omits it)."""
        if self._old is _UNSET:
            self._old = self._image("OldImage")
        return self._old  # type: ignore[no-any-return]

    def check_images(self) -> None:
        """Fail (:class:`RecordError` naming the attribute) unless every image decodes."""
        _ = self.keys, self.old_image, self.new_image

    def new_values(self, names: tuple[str, ...]) -> dict[str, Any] | None:
        """The attributes ``names`` of the item after the change, decoded, those it has; the
        rest of the image is not decoded. ``None`` where :attr:`new_image` is ``None``."""
        if self._new is not _UNSET:
            return None if self._new is None else {n: self._new[n] for n in names if n in self._new}
        image = self._raw["dynamodb"].get("NewImage")
        if image is None or (type(image) is not dict and not isinstance(image, Mapping)):
            return self.new_image  # None, or the RecordError that names it
        return self._image("NewImage", {name: image[name] for name in names if name in image})

    @property
    def raw(self) -> Mapping[str, Any]:
        """The record exactly as Lambda delivered it."""
        return self._raw

    def image_fault(self, name: str) -> RecordError:
        """Why the image ``name`` (``NewImage``, ``OldImage``, ``Keys``) cannot be read: the
        :class:`RecordError` naming the broken attribute, for a reader that met a fault in it
        (:mod:`chalicelib.loggable`)."""
        try:
            self._image(name)
        except RecordError as fault:
            return fault
        return self._fail("could not be read", f"dynamodb.{name}")

    def __repr__(self) -> str:
        return (
            f"Change({self.event_name} {self.table_name or '?'} seq={self.sequence_number} "
            f"eventID={self.event_id})"
        )


def _is_sequence_number(seq: object) -> TypeGuard[str]:
    # ASCII digits only: str.isdigit() alone also takes "²" and "١٢", which Lambda would not
    # recognise as an itemIdentifier.
    return type(seq) is str and seq.isascii() and seq.isdigit()


@lru_cache(maxsize=64)  # every record of a batch has the same ARN
def _table_name(arn: str) -> str:
    # arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2024-01-01T00:00:00.000
    parts = arn.split(":", 5)
    if len(parts) == 6:
        resource = parts[5].split("/")
        if len(resource) >= 2 and resource[0] == "table":
            return resource[1]
    return ""
