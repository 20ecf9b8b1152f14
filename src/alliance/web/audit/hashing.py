"""The audit chain's hash: SHA-256 over one event's fields and the previous event's hash.

The serialisation is fixed forever (any change would make every stored hash look tampered), so
it is versioned and written out by hand: sorted-key JSON, ASCII only, no spaces; time in UTC
with microseconds; IP addresses as their packed bytes, so a Python or database upgrade that
prints addresses differently cannot change a hash. Migrations import this module too, so it
depends on nothing but the standard library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
VERSION = 1
# The stored columns a hash covers, in the order verify reads them.
FIELDS = (
    "at",
    "user_id",
    "username",
    "clinic_id_ref",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "route",
)


def _at(value: dt.datetime) -> str:
    if value.tzinfo is None:  # a naive time can only be UTC here (USE_TZ with TIME_ZONE UTC)
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return "ip:" + ipaddress.ip_address(value).packed.hex()
    except ValueError:  # not an address at all: hash it as stored
        return "raw:" + value


def canonical(prev_hash: str, values: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed for one event (``values`` keyed by ``FIELDS``)."""
    doc: dict[str, Any] = {name: values.get(name) for name in FIELDS}
    doc["at"] = _at(values["at"])
    doc["ip"] = _ip(values.get("ip"))
    doc["v"] = VERSION
    doc["prev"] = prev_hash
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def event_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """Hex SHA-256 of ``canonical(prev_hash, values)``."""
    return hashlib.sha256(canonical(prev_hash, values)).hexdigest()
