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

# Each contender returns what it decoded - per record: keys, new image, old image (None or {}
# where the record has none) - so that tests can check that they all did the same work.
Decoder = Callable[[], list[Any]]


def users_stream_decoder(
    event: dict[str, Any], decode: Callable[[Any], Any] = decode_image
) -> Decoder:
    records = event["Records"]

    def run() -> list[Any]:
        out: list[Any] = []
        for record in records:
            body = record["dynamodb"]
            new, old = body.get("NewImage"), body.get("OldImage")
            out.append(decode(body["Keys"]))
            out.append(None if new is None else decode(new))
            out.append(None if old is None else decode(old))
        return out

    return run


def boto3_decoder(event: dict[str, Any]) -> Decoder:
    from boto3.dynamodb.types import Binary, TypeDeserializer

    class StreamDeserializer(TypeDeserializer):
        """boto3's deserializer, taught the base64 text that stream events carry."""

        def _deserialize_b(self, value: str) -> Binary:  # boto3's own body, after b64decode
            return Binary(base64.b64decode(value))

    records = event["Records"]

    def run() -> list[Any]:
        deserialize = StreamDeserializer().deserialize
        out: list[Any] = []
        for record in records:
            body = record["dynamodb"]
            new, old = body.get("NewImage"), body.get("OldImage")
            out.append({k: deserialize(v) for k, v in body["Keys"].items()})
            out.append(None if new is None else {k: deserialize(v) for k, v in new.items()})
            out.append(None if old is None else {k: deserialize(v) for k, v in old.items()})
        return out

    return run


def powertools_decoder(event: dict[str, Any]) -> Decoder:
    from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

    def run() -> list[Any]:
        out: list[Any] = []
        for record in DynamoDBStreamEvent(event).records:
            body = record.dynamodb
            assert body is not None
            out.append(body.keys)  # the properties deserialize
            out.append(body.new_image)
            out.append(body.old_image)
        return out

    return run


CONTENDERS: dict[str, Callable[[dict[str, Any]], Decoder]] = {
    "users-stream": users_stream_decoder,
    "boto3": boto3_decoder,
    "Powertools": powertools_decoder,
}
