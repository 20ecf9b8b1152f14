"""Request-size limits, in one place: the transcript upload limit and what follows from it.

The settings (Django's upload buffering), the upload view and reader, and waitress
(``alliance.web.serving``) all read these, so the limits cannot drift apart.
"""

from __future__ import annotations

MIB = 1024 * 1024

#: The largest transcript file accepted; a bigger one gets a page naming this limit.
MAX_UPLOAD_BYTES = 5 * MIB
#: The most a clinic may set as its recording upload limit (``Clinic.recording_max_mb``, default
#: 200): a 60-minute session is about 30-60 MB as m4a or mp3 and 115 MB as 16 kHz mono WAV.
MAX_RECORDING_MB = 500
#: The largest request body waitress lets through (bigger ones get 413 before Django reads
#: them): a recording at the ceiling plus room for its multipart envelope.
MAX_REQUEST_BODY = MAX_RECORDING_MB * 1_000_000 + 3 * MIB
#: File parts are kept in memory up to this (whole request), never spooled to an unencrypted
#: temporary file: Django's only upload handler is the in-memory one, which drops a file in a
#: bigger request (the transcript view then names the limit; the recording view installs its
#: own handler, bounded by the clinic's limit). The transcript limit plus room, so a file a
#: little over the limit still reaches the view and gets its clear page.
MAX_FILE_IN_MEMORY = MAX_UPLOAD_BYTES + 3 * MIB
#: Ordinary (non-file) form posts: Django refuses bigger ones with a 400 before any view runs.
MAX_FORM_BODY = 64 * 1024
