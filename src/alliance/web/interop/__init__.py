"""Data in and out of the web app: FHIR R4 (``fhir``), history import (``history_import``) and
the de-identified research export (``research_export``)."""
