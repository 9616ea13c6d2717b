"""Hypothesis strategies shared by the chalicelib and devtools tests.

The values are what a decoded DynamoDB image holds: ``str``, ``Decimal`` (every number DynamoDB
accepts), ``bytes``, ``bool``, ``None``, ``dict``, ``list`` and non-empty sets of one kind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Modest but meaningful: every property test runs this many cases unless it says otherwise.
# No deadline: the machine is shared, and speed is proven by benchmarks, never by tests.
PROPERTY = settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

MAX_SIGNIFICANT = 10**38 - 1  # DynamoDB keeps at most 38 significant digits
MIN_ADJUSTED, MAX_ADJUSTED = -130, 125  # 1E-130 .. 9.99...E+125


@st.composite
def dynamodb_numbers(draw: st.DrawFn) -> Decimal:
    """Any number DynamoDB accepts, including long runs of trailing zeros.

    The significant part has 1 to 38 digits; up to 90 trailing zeros follow it (the form in
    which ``1E+100`` can be written out in full); the magnitude stays within 1E-130 and
    9.99...E+125.
    """
    if draw(st.integers(0, 15)) == 0:
        return Decimal(0)
    significant = draw(
        st.one_of(
            st.integers(1, MAX_SIGNIFICANT),
            st.sampled_from([1, 9, 10**37, MAX_SIGNIFICANT]),
        )
    )
    digits = tuple(int(d) for d in str(significant)) + (0,) * draw(st.integers(0, 90))
    adjusted = draw(
        st.one_of(
            st.integers(MIN_ADJUSTED, MAX_ADJUSTED),
            st.sampled_from([MIN_ADJUSTED, MAX_ADJUSTED, 0, -1]),
        )
    )
    sign = draw(st.integers(0, 1))
    return Decimal((sign, digits, adjusted - len(digits) + 1))


texts = st.text(max_size=20)
binaries = st.binary(max_size=24)
scalars = st.one_of(texts, dynamodb_numbers(), binaries, st.booleans(), st.none())
dynamo_sets = st.one_of(
    st.sets(texts, min_size=1, max_size=5),
    st.sets(dynamodb_numbers(), min_size=1, max_size=5),
    st.sets(binaries, min_size=1, max_size=5),
)
values = st.recursive(
    st.one_of(scalars, dynamo_sets),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(texts, children, max_size=4),
    ),
    max_leaves=12,
)
attribute_names = st.text(min_size=1, max_size=12)
items = st.dictionaries(attribute_names, values, max_size=6)


def canonical(value: Any) -> Any:
    """A hashable form that tells apart what ``==`` does not: ``Decimal('1.0')`` from
    ``Decimal('1')``, ``True`` from ``Decimal(1)``, a ``set`` from a ``frozenset``."""
    kind = type(value)
    if kind is Decimal:
        return ("N", value.as_tuple())
    if kind is dict:
        return ("M", frozenset((("key", type(k), k), canonical(v)) for k, v in value.items()))
    if kind is list:
        return ("L", tuple(canonical(v) for v in value))
    if kind is set:
        return ("SET", frozenset(canonical(m) for m in value))
    if value is None or kind in (str, bytes, bool):
        return (kind.__name__, value)
    raise TypeError(f"not a decoded DynamoDB value: {kind.__name__}")
