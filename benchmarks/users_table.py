"""The handler's second workload: a Users table as it really is, unlike figure 2's own batch.

Figure 2's batch is MODIFY and REMOVE records of one item shape. This one is what a live
``Users`` table streams: INSERT, MODIFY and REMOVE mixed (new users get a welcome email, sent
to a sender that answers at once, so that only the handler's own work is timed), items of
several shapes - nested maps (settings inside preferences inside a profile), lists of maps,
string and number sets, binary values (and lists of them), numbers too large for a double
(38 digits, tiny and huge exponents), nulls - and names and email addresses in every script
(Latin with diacritics, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Han, Hiragana, Hangul,
Thai, emoji), updates that change one attribute or many. Seeded and deterministic; delivered
as Lambda delivers it (parsed from its JSON text), filled up to Lambda's 6 MB payload limit.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from benchmarks.workload import MAX_PAYLOAD_BYTES, Workload, filled, stream_records

__all__ = ["users_table_batch"]

SEED = 20261201
MIX = {"INSERT": 0.3, "MODIFY": 0.55, "REMOVE": 0.15}

# (given name, family name, the local part of the address: IDNA-free, as SES needs), per script
NAMES = (
    ("Zoë", "Łukasiewicz", "zoe.lukasiewicz"),
    ("Νίκος", "Παπαδόπουλος", "nikos.papadopoulos"),
    ("Дмитрий", "Иванов", "dmitry.ivanov"),
    ("فاطمة", "الزهراء", "fatima.alzahra"),
    ("אבי", "כהן", "avi.cohen"),
    ("प्रिया", "शर्मा", "priya.sharma"),
    ("伟", "王", "wei.wang"),
    ("さくら", "山田", "sakura.yamada"),
    ("민준", "김", "minjun.kim"),
    ("สมชาย", "ใจดี", "somchai.jaidee"),
    ("José", "Núñez", "jose.nunez"),
    ("Ada 🚀", "O'Brien", "ada.obrien"),
)
DOMAINS = ("example.com", "example.org", "mail.example.net", "例え.example")
THEMES = ("dark", "light", "system")


def _number(rng: random.Random) -> Decimal:
    kind = rng.random()
    if kind < 0.4:
        return Decimal(rng.randint(-1000, 10**6))
    if kind < 0.6:
        return Decimal(str(rng.randrange(10**37, 10**38)))  # 38 digits, the most DynamoDB keeps
    if kind < 0.8:
        return Decimal(f"{rng.uniform(-1e6, 1e6):.4f}")
    return Decimal(f"{rng.randint(1, 9)}E{rng.choice((-120, -30, 30, 125))}")


def _user(rng: random.Random, n: int) -> dict[str, Any]:
    given, family, local = rng.choice(NAMES)
    shape = rng.random()
    user: dict[str, Any] = {
        "id": f"user-{rng.getrandbits(64):016x}",
        "email": f"{local}{n}@{rng.choice(DOMAINS)}",
        "name": f"{given} {family}",
        "display_name": given,
        "created": _number(rng),
        "score": _number(rng),
        "flags": set(rng.sample(("beta", "staff", "vip", "\u03b1", "ß", "雪"), rng.randint(1, 4))),
    }
    if shape < 0.7:  # the full profile
        user["profile"] = {
            "preferences": {
                "settings": {"theme": rng.choice(THEMES), "font": _number(rng)},
                "languages": [rng.choice(("en", "el", "ru", "ar", "he", "hi", "zh", "ja"))],
                "notify": {"email": rng.random() < 0.5, "sms": None},
            },
            "contacts": [
                {"email": f"{local}.{k}@example.com", "primary": k == 0, "since": _number(rng)}
                for k in range(rng.randint(0, 3))
            ],
            "bio": f"{given} {family} " * rng.randint(1, 12),
        }
        user["lucky"] = {_number(rng) for _ in range(rng.randint(1, 6))}
    if shape > 0.3:  # binary: an avatar and its thumbnails
        user["avatar"] = rng.randbytes(rng.randint(64, 512))
        # A list, not a binary set: Powertools leaves binary as base64 text, so a set of it
        # could not be told from a string set and ordered as the app orders binary members.
        user["thumbs"] = [rng.randbytes(rng.randint(8, 48)) for _ in range(rng.randint(1, 3))]
    if shape > 0.9:
        user["deleted_at"] = None
    return user


def _updated(rng: random.Random, user: dict[str, Any]) -> dict[str, Any]:
    new = dict(user)
    new["score"] = _number(rng)
    if rng.random() < 0.3:
        new["email"] = f"new.{user['email']}"
    if rng.random() < 0.3 and "profile" in user:
        profile = dict(user["profile"])
        profile["bio"] = profile["bio"] + "✓"
        new["profile"] = profile
    if rng.random() < 0.2:
        new["flags"] = set(user["flags"]) | {"updated"}
    if rng.random() < 0.1:
        new.pop("display_name")
    return new


def users_table_batch(limit: int = MAX_PAYLOAD_BYTES) -> Workload:
    """The largest event of this workload whose JSON fits in ``limit`` bytes."""
    return filled(stream_records(SEED, MIX, _user, _updated), limit)
