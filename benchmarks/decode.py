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

Decoder = Callable[[], object]


def users_stream_decoder(
    event: dict[str, Any], decode: Callable[[Any], object] = decode_image
) -> Decoder:
    records = event["Records"]

    def run() -> None:
        for record in records:
            body = record["dynamodb"]
            decode(body["Keys"])
            new = body.get("NewImage")
            if new is not None:
                decode(new)
            old = body.get("OldImage")
            if old is not None:
                decode(old)

    return run


def boto3_decoder(event: dict[str, Any]) -> Decoder:
    from boto3.dynamodb.types import Binary, TypeDeserializer

    class StreamDeserializer(TypeDeserializer):
        """boto3's deserializer, taught the base64 text that stream events carry."""

        def _deserialize_b(self, value: str) -> Binary:  # boto3's own body, after b64decode
            return Binary(base64.b64decode(value))

    records = event["Records"]

    def run() -> None:
        deserialize = StreamDeserializer().deserialize
        for record in records:
            body = record["dynamodb"]
            {k: deserialize(v) for k, v in body["Keys"].items()}
            new = body.get("NewImage")
            if new is not None:
                {k: deserialize(v) for k, v in new.items()}
            old = body.get("OldImage")
            if old is not None:
                {k: deserialize(v) for k, v in old.items()}

    return run


def powertools_decoder(event: dict[str, Any]) -> Decoder:
    from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

    def run() -> None:
        for record in DynamoDBStreamEvent(event).records:
            body = record.dynamodb
            assert body is not None
            body.keys  # noqa: B018 - the properties deserialize
            body.new_image  # noqa: B018
            body.old_image  # noqa: B018

    return run


CONTENDERS: dict[str, Callable[[dict[str, Any]], Decoder]] = {
    "users-stream": users_stream_decoder,
    "boto3": boto3_decoder,
    "Powertools": powertools_decoder,
}
