"""Errors the core raises for bad input: each carries a one-line, user-facing message."""


class AllianceError(ValueError):
    """Base for every error caused by input, not by a bug; its ``str`` is shown to users."""


class DefinitionError(AllianceError):
    """An instrument definition file is malformed."""


class UnknownInstrumentError(AllianceError):
    """No instrument has the requested id."""


class InvalidAnswersError(AllianceError):
    """Answers do not fit the instrument (count, range, unknown item)."""


class NeedsLicensedTextError(AllianceError):
    """A licensed instrument cannot be administered until a site supplies its wording."""


class LicensedTextError(AllianceError):
    """A supplied file of licensed item wording cannot be used."""


class FhirImportError(AllianceError):
    """A FHIR resource cannot be turned into an instrument definition."""
