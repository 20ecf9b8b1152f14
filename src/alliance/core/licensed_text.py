"""Site-supplied wording for licensed instruments.

alliance ships licensed instruments (WAI-SR, SRS, ORS) with structure and scoring only. A site
holding a licence supplies the wording as a small JSON/YAML file of item texts or as a FHIR R4
Questionnaire; it is stored in the site's data directory, never in the package.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from alliance.core.errors import LicensedTextError
from alliance.core.instruments import Instrument

MAX_TEXT_FILE_BYTES = 1_000_000
_LOINC = "http://loinc.org"


def default_data_dir() -> Path:
    """Where site data lives: ``$ALLIANCE_DATA_DIR``, else ``$XDG_DATA_HOME/alliance``."""
    explicit = os.environ.get("ALLIANCE_DATA_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "alliance"


def read_text_file(path: Path) -> Any:
    """Decode a JSON or YAML file, refusing huge or undecodable input with a clear message."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LicensedTextError(f"{path}: cannot read: {exc.strerror}") from exc
    if size > MAX_TEXT_FILE_BYTES:
        raise LicensedTextError(f"{path}: file is {size} bytes; the limit is {MAX_TEXT_FILE_BYTES}")
    try:
        return yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LicensedTextError(f"{path}: not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        raise LicensedTextError(
            f"{path}: not valid JSON or YAML: {str(exc).splitlines()[0]}"
        ) from exc


def texts_from_document(instrument: Instrument, doc: Any) -> tuple[dict[str, str], str | None]:
    """Item texts (by item id) and optional instructions from a decoded file of either kind."""
    if isinstance(doc, dict) and doc.get("resourceType") == "Questionnaire":
        return texts_from_questionnaire(instrument, doc), None
    if not isinstance(doc, dict) or "items" not in doc:
        raise LicensedTextError("expected a mapping with 'items' or a FHIR Questionnaire")
    named = doc.get("instrument")
    if named is not None and named != instrument.id:
        raise LicensedTextError(f"file is for instrument {named!r}, not {instrument.id!r}")
    raw = doc["items"]
    if isinstance(raw, list):
        try:
            raw = {entry["id"]: entry["text"] for entry in raw}
        except (TypeError, KeyError) as exc:
            raise LicensedTextError("each entry of 'items' needs 'id' and 'text'") from exc
    if not isinstance(raw, dict):
        raise LicensedTextError("'items' must map item ids to texts")
    instructions = doc.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise LicensedTextError("'instructions' must be text")
    return _checked(instrument, raw), instructions


def texts_from_questionnaire(
    instrument: Instrument, questionnaire: dict[str, Any]
) -> dict[str, str]:
    """Match a Questionnaire's answerable items to ours by LOINC code, then linkId, then order."""
    questions = [q for q in _walk(questionnaire.get("item", [])) if _is_answerable(q)]
    if not questions:
        raise LicensedTextError("the Questionnaire has no answerable items")
    by_code = {c: q for q in questions for c in _loinc_codes(q)}
    by_link = {q.get("linkId"): q for q in questions}
    texts: dict[str, str] = {}
    for item in instrument.items:
        match = by_code.get(item.loinc or "") or by_link.get(item.id)
        if match is not None:
            texts[item.id] = match.get("text", "")
    if not texts and len(questions) == len(instrument.items):
        texts = {
            item.id: q.get("text", "") for item, q in zip(instrument.items, questions, strict=True)
        }
    return _checked(instrument, texts)


def _walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def _is_answerable(item: dict[str, Any]) -> bool:
    if item.get("type") not in {"choice", "coding", "integer", "decimal"} or item.get("readOnly"):
        return False
    return not any("calculatedExpression" in e.get("url", "") for e in item.get("extension", []))


def _loinc_codes(item: dict[str, Any]) -> list[str]:
    return [c["code"] for c in item.get("code", []) if c.get("system") == _LOINC and "code" in c]


def _checked(instrument: Instrument, texts: dict[Any, Any]) -> dict[str, str]:
    ids = {item.id for item in instrument.items}
    unknown = sorted(str(k) for k in texts if k not in ids)
    if unknown:
        raise LicensedTextError(f"unknown item ids for {instrument.id}: {', '.join(unknown)}")
    missing = [i for i in sorted(ids) if not isinstance(texts.get(i), str) or not texts[i].strip()]
    if missing:
        raise LicensedTextError(f"no text for {instrument.id} items: {', '.join(missing)}")
    return {k: " ".join(str(v).split()) for k, v in texts.items()}


def save_texts(
    data_dir: Path, instrument_id: str, texts: dict[str, str], instructions: str | None
) -> Path:
    """Store validated texts as JSON in the site's data directory."""
    target = data_dir / "licensed-text" / f"{instrument_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {"instrument": instrument_id, "instructions": instructions, "items": texts}
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), "utf-8")
    tmp.replace(target)
    return target


def stored_texts(data_dir: Path, instrument_id: str) -> tuple[dict[str, str], str | None] | None:
    """Texts previously saved for ``instrument_id``, or None."""
    path = data_dir / "licensed-text" / f"{instrument_id}.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text("utf-8"))
    return dict(payload["items"]), payload.get("instructions")
