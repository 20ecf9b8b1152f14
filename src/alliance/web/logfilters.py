"""Logging filter that keeps feedback-link tokens out of application logs."""

from __future__ import annotations

import logging
import re

_TOKEN_PATH = re.compile(r"/(f|u)/[A-Za-z0-9_:\-]{8,}")


class RedactFilter(logging.Filter):
    """Replace feedback-link tokens in log messages with a placeholder."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/f/" in message or "/u/" in message:  # feedback and unsubscribe links
            record.msg = _TOKEN_PATH.sub(r"/\1/[token]", message)
            record.args = ()
        return True
