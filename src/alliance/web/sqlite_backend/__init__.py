"""Django's SQLite backend, with writers queued across processes (``base.DatabaseWrapper``)."""
