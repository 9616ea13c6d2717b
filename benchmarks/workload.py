"""The benchmark workload: realistic ``Users`` stream batches, seeded and deterministic.

Each user item carries every kind of value the table holds: strings, numbers (integers and
decimals), booleans, nulls, a string set, a number set, binary (an avatar thumbnail) and a
nested ``profile`` map holding a list of address maps. Records are built with
:class:`devtools.stream_events.FakeStream` (view type ``NEW_AND_OLD_IMAGES``), so they are
shaped exactly as Lambda delivers them.

The maximum batch holds as many records as fit in Lambda's synchronous invocation payload
limit, 6,291,456 bytes of JSON, measured as compact UTF-8 JSON (``separators=(",", ":")``,
the most records that could arrive at once).

Events are handed out as Lambda's Python runtime hands them to a handler: parsed from their
JSON text (``json.loads``), so every string is its own object laid out in parse order, not a
value shared with the generator's tables.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from devtools.stream_events import FakeStream

__all__ = [
    "DEFAULT_MIX",
    "MAX_PAYLOAD_BYTES",
    "NO_INSERT_MIX",
    "Workload",
    "filled",
    "make_user",
    "max_batch",
    "payload_bytes",
    "sized_batch",
    "stream_records",
]

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's invocation payload limit: 6,291,456 bytes
DEFAULT_SEED = 20240601

# Share of INSERT, MODIFY and REMOVE records: a user table is mostly updated.
DEFAULT_MIX: Mapping[str, float] = {"INSERT": 0.25, "MODIFY": 0.6, "REMOVE": 0.15}
# The handler benchmark (figure 2) has no email to send: MODIFY and REMOVE only.
NO_INSERT_MIX: Mapping[str, float] = {"MODIFY": 0.8, "REMOVE": 0.2}

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Jo")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
_CITIES = (
    ("Berlin", "DE", "10115"),
    ("Lisboa", "PT", "1100-148"),
    ("Seattle", "US", "98109"),
    ("Zürich", "CH", "8001"),
    ("São Paulo", "BR", "01310-100"),
    ("Tōkyō", "JP", "100-0001"),
)
_STREETS = ("Main Street", "Rua Augusta", "Pine Street", "Bahnhofstrasse", "Avenida Paulista")
_TAGS = ("beta", "admin", "newsletter", "mobile", "premium", "early-adopter", "support", "vip")
_LOCALES = ("en-GB", "de-DE", "pt-PT", "ja-JP", "pt-BR", "fr-CH")
_PLANS = ("free", "starter", "team", "enterprise")


def _address(rng: random.Random, primary: bool) -> dict[str, Any]:
    city, country, zip_code = rng.choice(_CITIES)
    return {
        "street": f"{rng.randint(1, 999)} {rng.choice(_STREETS)}",
        "city": city,
        "zip": zip_code,
        "country": country,
        "primary": primary,
        "geo": {
            "lat": Decimal(f"{rng.uniform(-80, 80):.6f}"),
            "lon": Decimal(f"{rng.uniform(-179, 179):.6f}"),
        },
    }


def make_user(rng: random.Random, number: int) -> dict[str, Any]:
    """One realistic user item (``id`` is the partition key)."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    user_id = f"{rng.getrandbits(128):032x}"
    return {
        "id": user_id,
        "email": f"{first}.{last}{number}@example.com".lower(),
        "name": f"{first} {last}",
        "age": rng.randint(18, 90),
        "balance": Decimal(f"{rng.uniform(0, 10_000):.2f}"),
        "login_count": rng.randint(0, 5_000),
        "active": rng.random() < 0.9,
        "email_verified": rng.random() < 0.7,
        "deleted_at": None,
        "plan": rng.choice(_PLANS),
        "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        "tags": set(rng.sample(_TAGS, rng.randint(1, 4))),
        "favorite_numbers": {rng.randint(1, 10_000) for _ in range(rng.randint(1, 5))},
        "avatar_thumb": rng.randbytes(rng.randint(48, 160)),
        "profile": {
            "bio": " ".join(rng.choice(_TAGS) for _ in range(rng.randint(5, 25))),
            "locale": rng.choice(_LOCALES),
            "timezone": "Europe/Berlin",
            "marketing_opt_in": rng.random() < 0.4,
            "phone": f"+49 30 {rng.randint(1_000_000, 9_999_999)}",
            "addresses": [_address(rng, i == 0) for i in range(rng.randint(1, 3))],
        },
    }


def _modified(rng: random.Random, user: dict[str, Any]) -> dict[str, Any]:
    """The user after a typical update: a login, sometimes a profile or tag change."""
    new = dict(user)
    new["login_count"] = user["login_count"] + 1
    new["last_login"] = f"2024-06-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
    if rng.random() < 0.3:
        new["tags"] = set(user["tags"]) | {rng.choice(_TAGS)}
    if rng.random() < 0.2:
        profile = dict(user["profile"])
        profile["bio"] = profile["bio"] + " updated"
        new["profile"] = profile
    if rng.random() < 0.1:
        new["plan"] = rng.choice(_PLANS)
    return new


User = Callable[[random.Random, int], dict[str, Any]]
Update = Callable[[random.Random, dict[str, Any]], dict[str, Any]]


def stream_records(
    seed: int, mix: Mapping[str, float], user: User | None = None, update: Update | None = None
) -> Iterator[dict[str, Any]]:
    """An endless, deterministic stream of records in the given INSERT/MODIFY/REMOVE mix, of
    items made by ``user`` (:func:`make_user`) and changed by ``update`` (a typical login)."""
    rng = random.Random(seed)
    stream = FakeStream()
    names, weights = list(mix), list(mix.values())
    make, change = user or make_user, update or _modified
    number = 0
    while True:
        number += 1
        item = make(rng, number)
        kind = rng.choices(names, weights)[0]
        if kind == "INSERT":
            record = stream.insert(item)
        elif kind == "MODIFY":
            record = stream.modify(item, change(rng, item))
        else:
            record = stream.remove(item)
        record["eventID"] = f"{rng.getrandbits(128):032x}"  # FakeStream's uuid4 is not seeded
        body = record["dynamodb"]
        for image in ("Keys", "NewImage", "OldImage"):
            if image in body:
                _sort_sets(body[image])
        yield record


def _sort_sets(image: dict[str, Any]) -> None:
    """Put set members in a fixed order: a str set's iteration order changes per process."""
    for av in image.values():
        if "SS" in av:
            av["SS"].sort()
        elif "M" in av:
            _sort_sets(av["M"])
        elif "L" in av:
            for item in av["L"]:
                if "M" in item:
                    _sort_sets(item["M"])


def payload_bytes(value: Any) -> int:
    """The size of ``value`` as compact UTF-8 JSON, as counted against Lambda's limit."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


@dataclass(frozen=True)
class Workload:
    """A Lambda event and what it holds."""

    event: dict[str, Any]
    payload_bytes: int

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.event["Records"]  # type: ignore[no-any-return]

    def counts(self) -> dict[str, int]:
        counts = {"INSERT": 0, "MODIFY": 0, "REMOVE": 0}
        for record in self.records:
            counts[record["eventName"]] += 1
        return counts


def sized_batch(
    records: int, *, seed: int = DEFAULT_SEED, mix: Mapping[str, float] = DEFAULT_MIX
) -> Workload:
    """An event of exactly ``records`` records."""
    source = stream_records(seed, mix)
    return _delivered(FakeStream.event(next(source) for _ in range(records)))


def max_batch(
    *,
    seed: int = DEFAULT_SEED,
    mix: Mapping[str, float] = DEFAULT_MIX,
    limit: int = MAX_PAYLOAD_BYTES,
) -> Workload:
    """The largest event whose JSON fits in ``limit`` bytes (Lambda's 6 MB by default)."""
    return filled(stream_records(seed, mix), limit)


def filled(source: Iterable[dict[str, Any]], limit: int = MAX_PAYLOAD_BYTES) -> Workload:
    """The largest event of ``source``'s first records whose JSON fits in ``limit`` bytes."""
    envelope = payload_bytes({"Records": []})  # '{"Records":[]}'
    total = envelope
    chosen: list[dict[str, Any]] = []
    for record in source:
        size = payload_bytes(record) + (1 if chosen else 0)  # the comma between records
        if total + size > limit:
            break
        chosen.append(record)
        total += size
    return _delivered(FakeStream.event(chosen))


def _delivered(event: dict[str, Any]) -> Workload:
    """The event as Lambda delivers it: parsed from its JSON text."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return Workload(json.loads(text), len(text.encode("utf-8")))
