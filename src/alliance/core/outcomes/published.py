"""Published national rates to read a clinic's own beside (cited in ``published.yaml``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Published:
    """One published rate: its value (fraction), counts when given, period, denominator, source."""

    name: str
    value: float
    period: str
    denominator: str
    source: str
    count: int | None = None
    of: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _load() -> dict[str, Published]:
    text = (resources.files("alliance.core.outcomes") / "published.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {
        name: Published(
            name=name,
            value=float(entry["value"]),
            period=str(entry["period"]),
            denominator=str(entry["denominator"]),
            source=" ".join(str(entry["source"]).split()),
            count=entry.get("count"),
            of=entry.get("of"),
        )
        for name, entry in data.items()
    }


PUBLISHED: dict[str, Published] = _load()
