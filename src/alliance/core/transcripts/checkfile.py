"""``python -m alliance.core.transcripts.checkfile``: read an upload from stdin, print a summary.

Why: the web server reads uploaded transcripts in this child process, which it kills after a
time limit, so a file that is slow or costly to read costs one request its limit and never
holds the server's memory or interpreter lock. Prints one JSON object (UTF-8): ``{"text",
"format", "speakers", "utterances", "warnings"}`` or ``{"error": "one-line message"}``; ``text``
is the decoded file, so the server never decodes or reads the upload itself.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.readers import decode_bytes, read_transcripts

#: Address-space cap for the child: far above what a 5 MB transcript needs.
MEMORY_LIMIT = 1024 * 1024 * 1024


def summarise(data: bytes) -> dict[str, Any]:
    """The reader's verdict on one upload, as plain data."""
    try:
        text, warnings = decode_bytes(data)
        found = read_transcripts(text)
    except TranscriptError as exc:
        return {"error": str(exc)}
    except (RecursionError, ValueError, MemoryError):  # e.g. absurdly nested JSON
        return {"error": "the file's structure could not be read"}
    if len(found) != 1:
        return {"error": f"the file holds {len(found)} transcripts; upload one session at a time"}
    t = found[0]
    return {
        "text": text,
        "format": t.source_format,
        "speakers": t.speakers,
        "utterances": len(t.utterances),
        "warnings": warnings + t.warnings,
    }


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit remains
        pass


def main() -> None:
    _limit_memory()
    summary = json.dumps(summarise(sys.stdin.buffer.read()), ensure_ascii=False)
    sys.stdout.buffer.write(summary.encode())


if __name__ == "__main__":
    main()
