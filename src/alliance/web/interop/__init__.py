"""Exchange with other systems: the clinic's data in standard formats (FHIR R4: ``fhir``)."""
