"""Transcripts are not editable in Django admin: they are client data behind the permission layer."""
