"""Items as a DynamoDB stream carries them, written by boto3's serializer, not by this project."""

from __future__ import annotations

import base64
from typing import Any

from boto3.dynamodb.types import Binary, TypeSerializer

__all__ = ["stream_json"]


class _Serializer(TypeSerializer):
    """boto3's, except that a number is its ``str()``: boto3's 38-digit context refuses numbers
    DynamoDB stores (``1E+125`` written out in full with its trailing zeros)."""

    def _serialize_n(self, value: Any) -> str:
        return str(value)


_serializer = _Serializer()


def stream_json(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` as a stream image, by boto3's serializer; binary as Lambda's base64 text."""

    def lambda_form(av: Any) -> Any:
        if isinstance(av, dict):
            return {tag: lambda_form(value) for tag, value in av.items()}
        if isinstance(av, list | set):
            return [lambda_form(member) for member in av]
        if isinstance(av, Binary | bytes):
            # boto3's stubs type Binary.__bytes__ as returning str; it returns its bytes
            return base64.b64encode(bytes(av)).decode("ascii")  # type: ignore[arg-type]
        return av

    return {name: lambda_form(_serializer.serialize(value)) for name, value in item.items()}
