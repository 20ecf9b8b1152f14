"""Strict readers for settings in the environment.

A value that does not parse stops the process with ``ImproperlyConfigured`` naming the variable,
the bad value and what is allowed, so a typo (``ALLIANCE_HTTPS=ture``) never silently means the
default. An unset or empty variable means the default. Every reader takes an optional ``env``
mapping (``os.environ`` when omitted) so callers such as ``alliance.web.serving`` can parse a
mapping of their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from django.core.exceptions import ImproperlyConfigured

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def _raw(name: str, env: Mapping[str, str] | None) -> str | None:
    """The variable's value with surrounding blanks removed; None when unset or empty."""
    value = (os.environ if env is None else env).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _fail(name: str, raw: str, allowed: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name} must be {allowed}, not {raw!r}")


def envbool(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    """A switch: 1/0, true/false, yes/no, on/off (any case); anything else is an error."""
    raw = _raw(name, env)
    if raw is None:
        return default
    if raw.lower() in TRUE:
        return True
    if raw.lower() in FALSE:
        return False
    raise _fail(name, raw, "one of 1/0, true/false, yes/no, on/off")


def envint(
    name: str,
    default: int,
    *,
    min: int = 1,
    max: int | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """A whole number (ASCII digits, optionally signed) from ``min`` to ``max``; ``min`` is 1
    unless given, since the counts, seconds and limits set this way are all positive."""
    raw = _raw(name, env)
    if raw is None:
        return default
    digits = raw[1:] if raw[0] in "+-" else raw
    value = int(raw) if digits.isascii() and digits.isdigit() else None
    if value is None or value < min or (max is not None and value > max):
        span = f"from {min} to {max}" if max is not None else f"of at least {min}"
        raise _fail(name, raw, f"a whole number {span}")
    return value


def envstr(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    """Text, taken as it is (secrets may hold any character); empty means the default."""
    value = (os.environ if env is None else env).get(name, "")
    return value if value.strip() else default


def envchoice(
    name: str, default: str, choices: Sequence[str], env: Mapping[str, str] | None = None
) -> str:
    """One of ``choices`` (matched in any case; returned as spelt in ``choices``)."""
    raw = _raw(name, env)
    if raw is None:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise _fail(name, raw, f"one of {', '.join(choices)}")


def envlist(
    name: str,
    default: Sequence[str],
    *,
    choices: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Comma-separated items, blanks dropped (none at all means the default); with ``choices`` each item must be one of them
    (matched in any case; returned as spelt in ``choices``)."""
    raw = _raw(name, env)
    if raw is None:
        return list(default)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        return list(default)
    if choices is None:
        return items
    known = {c.lower(): c for c in choices}
    unknown = [item for item in items if item.lower() not in known]
    if unknown:
        raise ImproperlyConfigured(
            f"{name}: unknown value {unknown[0]!r}; choose from {', '.join(choices)}"
        )
    return [known[item.lower()] for item in items]
