"""Session transcripts: upload, background analysis by the core, the report, deletion policy."""
