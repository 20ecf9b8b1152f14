"""Evidence-informed prompts attached to alerts; the texts and citations live in suggestions.yaml."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def _data() -> dict[str, Any]:
    text = (resources.files("alliance.core.alerts") / "suggestions.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def suggestion_for(kind: str, rule: str) -> str | None:
    """The prompt for a rule, else for its kind, with whitespace normalised."""
    texts: dict[str, str] = _data()["suggestions"]
    text = texts.get(rule) or texts.get(kind)
    return " ".join(text.split()) if text else None


def sources() -> dict[str, str]:
    return {k: " ".join(v.split()) for k, v in _data()["sources"].items()}
