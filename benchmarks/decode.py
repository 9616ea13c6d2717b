"""Figure 1: decoding every image (``Keys``, ``NewImage``, ``OldImage``) of a batch.

Contenders, all timed on the same event in the same process:

* ``users-stream``: :func:`chalicelib.decode_image` on each image.
* ``boto3``: ``TypeDeserializer`` on each attribute value. Stream events carry binary as base64
  text, which it rejects, so it runs as a subclass whose ``_deserialize_b`` base64-decodes
  first (``BS`` goes through the same method): the conversion happens inside the timed region,
  once per binary value, as a user of boto3 must do it.
* ``Powertools``: ``DynamoDBStreamEvent`` over the event; for each record the ``keys``,
  ``new_image`` and ``old_image`` properties, which deserialize (Powertools leaves binary as
  base64 text, so it does less work there).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from chalicelib.decoding import decode_image

__all__ = ["CONTENDERS", "boto3_decoder", "powertools_decoder", "users_stream_decoder"]

# With ``keep``, a contender returns what it decoded - per record: keys, new image, old image
# (None or {} where the record has none) - so that tests can check that they all do the same
# work. Timed, it keeps nothing: a handler drops each record's values before the next record,
# and holding 6 MB worth of decoded images alive would time memory traffic, not decoding.
Decoder = Callable[[], list[Any] | None]


def users_stream_decoder(
    event: dict[str, Any], decode: Callable[[Any], Any] = decode_image, *, keep: bool = False
) -> Decoder:
    records = event["Records"]

    def run() -> list[Any] | None:
        out: list[Any] | None = [] if keep else None
        for record in records:
            body = record["dynamodb"]
            new, old = body.get("NewImage"), body.get("OldImage")
            keys = decode(body["Keys"])
            new = None if new is None else decode(new)
            old = None if old is None else decode(old)
            if out is not None:
                out += (keys, new, old)
        return out

    return run


def boto3_decoder(event: dict[str, Any], *, keep: bool = False) -> Decoder:
    from boto3.dynamodb.types import Binary, TypeDeserializer

    class StreamDeserializer(TypeDeserializer):
        """boto3's deserializer, taught the base64 text that stream events carry."""

        def _deserialize_b(self, value: str) -> Binary:  # boto3's own body, after b64decode
            return Binary(base64.b64decode(value))

    records = event["Records"]

    def run() -> list[Any] | None:
        deserialize = StreamDeserializer().deserialize
        out: list[Any] | None = [] if keep else None
        for record in records:
            body = record["dynamodb"]
            new, old = body.get("NewImage"), body.get("OldImage")
            keys = {k: deserialize(v) for k, v in body["Keys"].items()}
            new = None if new is None else {k: deserialize(v) for k, v in new.items()}
            old = None if old is None else {k: deserialize(v) for k, v in old.items()}
            if out is not None:
                out += (keys, new, old)
        return out

    return run


def powertools_decoder(event: dict[str, Any], *, keep: bool = False) -> Decoder:
    from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

    def run() -> list[Any] | None:
        out: list[Any] | None = [] if keep else None
        for record in DynamoDBStreamEvent(event).records:
            body = record.dynamodb
            assert body is not None
            keys, new, old = body.keys, body.new_image, body.old_image  # these deserialize
            if out is not None:
                out += (keys, new, old)
        return out

    return run


CONTENDERS: dict[str, Callable[..., Decoder]] = {
    "users-stream": users_stream_decoder,
    "boto3": boto3_decoder,
    "Powertools": powertools_decoder,
}
