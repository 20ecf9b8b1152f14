"""Tablet mode's one session key: while it is set, this browser is handed to a client."""

from __future__ import annotations

# request.session[TABLET_KEY] = {"client": <client id>} from hand-over until the counselor's
# password unlocks it (``TabletLockMiddleware`` sends every staff page to the locked screen).
TABLET_KEY = "tablet_lock"
