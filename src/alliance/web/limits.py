"""Request-size limits, in one place: the transcript upload limit and what follows from it.

The settings (Django's upload buffering), the upload view and reader, and waitress
(``alliance.web.serving``) all read these, so the limits cannot drift apart.
"""

from __future__ import annotations

MIB = 1024 * 1024

#: The largest transcript file accepted; a bigger one gets a page naming this limit.
MAX_UPLOAD_BYTES = 5 * MIB
#: The largest request body waitress lets through (bigger ones get 413 before Django reads
#: them): the upload limit plus room, so a file a little over the limit still reaches the view
#: and gets its clear page, and the multipart envelope (part headers, CSRF token, counselor
#: name) of a file at the limit always fits.
MAX_REQUEST_BODY = MAX_UPLOAD_BYTES + 3 * MIB
#: Ordinary (non-file) form posts: Django refuses bigger ones with a 400 before any view runs.
MAX_FORM_BODY = 64 * 1024
