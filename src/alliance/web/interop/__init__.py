"""Data in and out of the web app: FHIR, history import, research export."""
