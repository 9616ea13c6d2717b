"""The Time to Live stand-in: only numbers expire, and no item a user can write breaks it."""

from __future__ import annotations

import time
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from devtools.ttl import IGNORED_AFTER_SECONDS, TtlSweeper, expires
from tests.devtools.conftest import StreamTable

NOW = 1_800_000_000.0

ANY_VALUE = st.recursive(
    st.one_of(
        st.builds(lambda s: {"S": s}, st.text(max_size=8)),
        st.builds(lambda n: {"N": str(n)}, st.integers() | st.decimals(allow_nan=False)),
        st.builds(lambda b: {"BOOL": b}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=3), min_size=1)),
    ),
    lambda inner: (
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3))
        | st.builds(lambda v: {"M": v}, st.dictionaries(st.text(max_size=3), inner, max_size=3))
    ),
    max_leaves=6,
)


@given(ANY_VALUE)
def test_only_a_number_within_five_years_before_now_expires(value):
    expected = "N" in value and (
        NOW - IGNORED_AFTER_SECONDS <= Decimal(value["N"]) < NOW
        if Decimal(value["N"]).is_finite()
        else False
    )
    assert expires(value, NOW) is expected


def test_edges():
    assert expires({"N": str(int(NOW) - 1)}, NOW)
    assert not expires({"N": str(int(NOW))}, NOW)
    assert not expires({"N": "1"}, NOW)  # 1970: more than five years ago, ignored
    assert not expires({"N": "9.9999999999999999999999999999999999999E+125"}, NOW)
    assert not expires({"N": "not a number"}, NOW)
    assert not expires({"S": str(int(NOW) - 1)}, NOW)
    assert not expires(None, NOW)


def test_a_table_full_of_odd_items_is_swept_without_an_error(table: StreamTable):
    dynamodb, name = table.dynamodb, table.name
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True}
    )
    now = int(time.time())
    odd = {
        "string": {"S": "tomorrow"},
        "string-number": {"S": str(now - 10)},
        "far-past": {"N": "1"},
        "too-large": {"N": "9.9999999999999999999999999999999999999E+125"},
        "milliseconds": {"N": str(now * 1000)},
        "negative": {"N": "-5"},
        "set": {"NS": [str(now - 10)]},
        "map": {"M": {"at": {"N": str(now - 10)}}},
        "null": {"NULL": True},
        "future": {"N": str(now + 3600)},
        "expired": {"N": str(now - 10)},
        "expired-fraction": {"N": f"{now - 10}.5"},
    }
    for user, value in odd.items():
        dynamodb.put_item(TableName=name, Item={"id": {"S": user}, "expires_at": value})
    dynamodb.put_item(TableName=name, Item={"id": {"S": "none"}})
    sweeper = TtlSweeper(dynamodb, name)
    deleted = sorted(key["id"]["S"] for key in sweeper.sweep())
    assert deleted == ["expired", "expired-fraction"]
    left = {item["id"]["S"] for item in dynamodb.scan(TableName=name)["Items"]}
    assert left == (set(odd) | {"none"}) - {"expired", "expired-fraction"}
    assert sweeper.sweep() == []


def test_an_item_renewed_after_the_scan_is_not_deleted(table: StreamTable):
    dynamodb, name = table.dynamodb, table.name
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True}
    )
    dynamodb.put_item(TableName=name, Item={"id": {"S": "r"}, "expires_at": {"N": "100"}})
    sweeper = TtlSweeper(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"id": {"S": "r"}, "expires_at": {"S": "renewed"}})
    assert not sweeper._delete({"id": {"S": "r"}}, "expires_at", {"N": "100"})
    assert dynamodb.get_item(TableName=name, Key={"id": {"S": "r"}})["Item"]["expires_at"] == {
        "S": "renewed"
    }
    removal = {"eventName": "REMOVE", "dynamodb": {"Keys": {"id": {"S": "r"}}}}
    assert "userIdentity" not in sweeper.mark(removal)
