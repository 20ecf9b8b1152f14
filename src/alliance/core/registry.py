"""The instruments available at a site: bundled definitions plus any licensed wording supplied."""

from __future__ import annotations

from pathlib import Path

from alliance.core import licensed_text
from alliance.core.errors import LicensedTextError, NeedsLicensedTextError
from alliance.core.instruments import Instrument, bundled_instruments, get_bundled


class Registry:
    """Looks instruments up by id, merging site-supplied text from ``data_dir``."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir if data_dir is not None else licensed_text.default_data_dir()

    def get(self, instrument_id: str) -> Instrument:
        instrument = get_bundled(instrument_id)
        if instrument.status != "licensed":
            return instrument
        stored = licensed_text.stored_texts(self.data_dir, instrument_id)
        if stored is None:
            return instrument
        texts, instructions = stored
        return instrument.with_texts(texts, instructions)

    def all(self) -> list[Instrument]:
        return [self.get(i) for i in sorted(bundled_instruments())]

    def administrable(self, instrument_id: str) -> Instrument:
        """The instrument, or :class:`NeedsLicensedTextError` if it has no wording yet."""
        instrument = self.get(instrument_id)
        if not instrument.has_text:
            raise NeedsLicensedTextError(
                f"{instrument_id} needs licensed text: supply it with "
                f"`alliance instruments add-text {instrument_id} FILE`"
            )
        return instrument

    def add_text(self, instrument_id: str, path: Path) -> Instrument:
        """Validate and store licensed wording for a licensed instrument."""
        instrument = get_bundled(instrument_id)
        if instrument.status != "licensed":
            raise LicensedTextError(f"{instrument_id} ships its own public wording; nothing to add")
        doc = licensed_text.read_text_file(path)
        texts, instructions = licensed_text.texts_from_document(instrument, doc)
        licensed_text.save_texts(self.data_dir, instrument_id, texts, instructions)
        return instrument.with_texts(texts, instructions)
