"""The second handler workload holds what it claims: a mixed, many-shaped, many-script Users
table, as many records as fit in 6 MB, the same on every run."""

from __future__ import annotations

import json

from benchmarks.users_table import NAMES, users_table_batch
from benchmarks.workload import MAX_PAYLOAD_BYTES
from chalicelib.decoding import decode_image


def test_the_batch_fits_lambdas_limit_and_is_the_same_every_time() -> None:
    batch = users_table_batch()
    assert batch.payload_bytes <= MAX_PAYLOAD_BYTES < batch.payload_bytes + 4000
    assert users_table_batch(limit=200_000).event == users_table_batch(limit=200_000).event


def test_it_holds_every_kind_of_value_and_every_script() -> None:
    records = users_table_batch(limit=1_500_000).records
    text = json.dumps(records, ensure_ascii=False)
    tags = {tag for tag in ('"SS"', '"NS"', '"B"', '"M"', '"L"', '"NULL"', '"BOOL"') if tag in text}
    assert tags == {'"SS"', '"NS"', '"B"', '"M"', '"L"', '"NULL"', '"BOOL"'}
    assert all(given in text for given, _, _ in NAMES)
    assert {r["eventName"] for r in records} == {"INSERT", "MODIFY", "REMOVE"}
    numbers = [
        value
        for r in records
        for value in decode_image(r["dynamodb"].get("NewImage") or {}).values()
        if type(value).__name__ == "Decimal"
    ]
    assert any(len(n.as_tuple().digits) >= 38 for n in numbers)
    assert any(abs(int(n.as_tuple().exponent)) >= 100 for n in numbers)
