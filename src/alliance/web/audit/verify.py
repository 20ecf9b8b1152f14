"""Walk the audit chain in id order and find its first broken link.

Rows are read in keyset batches, so memory stays flat however long the trail is. Each event's
hash must match its own fields, and its ``prev_hash`` the hash of the event before it; the chain
head must name the newest event. A break is classified by what best explains it (changed row,
deleted row, reordered rows, forged row); see docs/operations.md for what the chain proves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from alliance.web.audit.hashing import FIELDS, GENESIS, event_hash
from alliance.web.audit.models import HEAD_PK, AuditChainHead, AuditEvent

BATCH = 2000
_COLUMNS = ("id", "prev_hash", "hash", *FIELDS)
_START: dict[str, Any] = {"id": 0, "hash": GENESIS, "at": None}  # before the first event
_AFTER_HEAD = "added after the chain head: not written by the audit log"


@dataclass(frozen=True)
class Break:
    """The first event where the chain does not hold, and why."""

    event_id: int
    at: dt.datetime | None
    kind: str  # changed, deleted, reordered, inserted, rewritten, forged, head_missing
    detail: str


@dataclass(frozen=True)
class ChainReport:
    """What verify found: ``events`` intact events, the newest of them ``last_*``."""

    events: int
    last_id: int | None
    last_hash: str
    last_at: dt.datetime | None
    first_break: Break | None = None

    @property
    def intact(self) -> bool:
        return self.first_break is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; when intact, ``head`` is the hash to keep somewhere the database is not."""
        head = {
            "event_id": self.last_id,
            "hash": self.last_hash,
            "at": _iso(self.last_at),
            "anchor": f"{self.last_id}:{self.last_hash}" if self.last_id else None,
        }
        brk = asdict(self.first_break) if self.first_break else None
        if brk is not None:
            brk["at"] = _iso(brk["at"])
        return {
            "intact": self.intact,
            "events": self.events,
            "head": head if self.intact else None,
            "first_break": brk,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _rows(after: int, batch: int) -> Iterator[dict[str, Any]]:
    while True:
        rows = list(
            AuditEvent.objects.filter(id__gt=after).order_by("id").values(*_COLUMNS)[:batch]
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1]["id"]


def verify_chain(batch: int = BATCH, anchor: tuple[int, str] | None = None) -> ChainReport:
    """Check every event, oldest first; stop at the first broken link.

    ``anchor`` is a head kept from an earlier run (event id, hash): the chain must still pass
    through it, which catches a chain rewritten from the start with fresh hashes. Events appended
    while the walk runs are walked too: the head is read after the walk, and a head newer than
    the walk means more rows to check, not rows missing."""
    count, prev = 0, _START
    while True:
        for row in _rows(prev["id"], batch):
            problem = _check(row, prev) or _check_anchor(row, prev, anchor)
            if problem is not None:
                return _report(count, prev, problem)
            count, prev = count + 1, row
        head = AuditChainHead.objects.filter(pk=HEAD_PK).first()
        newer = head is not None and (head.last_id or 0) > prev["id"]
        if not (newer and AuditEvent.objects.filter(id__gt=prev["id"]).exists()):
            problem = _check_head(head, prev) or _anchor_unseen(prev, anchor)
            return _report(count, prev, problem)


def _check_anchor(
    row: dict[str, Any], prev: dict[str, Any], anchor: tuple[int, str] | None
) -> Break | None:
    if anchor is None or row["id"] < anchor[0]:
        return None
    if row["id"] == anchor[0] and row["hash"] == anchor[1]:
        return None
    if row["id"] == anchor[0]:
        return _break(row, "rewritten", "its hash is not the one kept: the chain was rewritten")
    if prev["id"] < anchor[0]:  # walked past the kept event without meeting it
        return _break(row, "deleted", f"the kept event {anchor[0]} is gone")
    return None


def _anchor_unseen(last: dict[str, Any], anchor: tuple[int, str] | None) -> Break | None:
    if anchor is None or last["id"] >= anchor[0]:
        return None
    return Break(anchor[0], None, "deleted", f"the kept event {anchor[0]} is gone")


def _report(count: int, prev: dict[str, Any], problem: Break | None) -> ChainReport:
    return ChainReport(count, prev["id"] or None, prev["hash"], prev["at"], problem)


def _check(row: dict[str, Any], prev: dict[str, Any]) -> Break | None:
    own_ok = row["hash"] == event_hash(row["prev_hash"], row)
    link_ok = row["prev_hash"] == prev["hash"]
    if own_ok and link_ok:
        return None
    head = AuditChainHead.objects.filter(pk=HEAD_PK).first()
    if head is not None and (head.last_id is None or row["id"] > head.last_id):
        return _break(row, "forged", _AFTER_HEAD)
    if not own_ok and link_ok:
        return _break(row, "changed", "its fields no longer match its hash: changed after writing")
    if not own_ok:
        return _break(
            row, "forged", "neither its hash nor its link match: inserted or rewritten by hand"
        )
    return _link_break(row, prev)


def _link_break(row: dict[str, Any], prev: dict[str, Any]) -> Break:
    """The event is intact but does not follow the one before it: say which explanation fits."""
    target = (
        AuditEvent.objects.filter(hash=row["prev_hash"]).exclude(pk=row["id"]).order_by("id")
    ).values_list("id", flat=True)
    linked = target.first()
    before = f"event {prev['id']}" if prev["id"] else "the start of the chain"
    if linked is not None and linked > row["id"]:
        return _break(row, "reordered", f"it follows event {linked}, which now comes after it")
    if linked is not None:
        return _break(
            row, "inserted", f"it follows event {linked}: the events after {linked} were inserted"
        )
    if row["id"] - prev["id"] > 1:
        return _break(
            row, "deleted", f"the event it follows is gone: deleted between {before} and it"
        )
    return _break(row, "rewritten", f"it does not follow {before}: that event was rewritten")


def _check_head(head: AuditChainHead | None, last: dict[str, Any]) -> Break | None:
    """The head must name the newest event: catches the newest events deleted, or an event
    added after them by hand with a correct-looking hash."""
    last_id = last["id"] or None
    if head is None:
        if last_id is None:
            return None
        return Break(last_id, last["at"], "head_missing", "the chain head row is missing")
    if head.last_id == last_id and head.hash == last["hash"]:
        return None
    if last_id is not None and last_id > (head.last_id or 0):
        first = AuditEvent.objects.filter(id__gt=head.last_id or 0).order_by("id").first()
        assert first is not None
        return Break(first.pk, first.at, "forged", _AFTER_HEAD)
    if head.last_id is not None and head.last_id > (last_id or 0):
        gone = f"the newest events after {last_id or 'the start'}, up to event {head.last_id}, are gone"
        return Break(head.last_id, None, "deleted", gone)
    return Break(
        head.last_id or 0, last["at"], "rewritten", "the newest event does not match the chain head"
    )


def _break(row: dict[str, Any], kind: str, detail: str) -> Break:
    return Break(row["id"], row["at"], kind, detail)
