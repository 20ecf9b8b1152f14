"""Sessions that end after a period of idleness without a database write on every request.

Django's ``SESSION_SAVE_EVERY_REQUEST`` slides the idle timeout by saving the session row on
every page view: a write transaction for a read, and on SQLite a turn at the database's one
writer lock and a disk sync, which queued behind (and held up) clients' submissions. Here the
session records when it was last slid forward and is saved only when it changed or that was at
least ``SLIDE_SECONDS`` ago, so a session still ends between ``SESSION_COOKIE_AGE`` minus a
minute and ``SESSION_COOKIE_AGE`` after the last request.
"""

from __future__ import annotations

import time

from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

SLID_KEY = "_slid_at"
SLIDE_SECONDS = 60


def _slide_due(session: SessionBase, now: int) -> bool:
    return bool(now - int(session.get(SLID_KEY, 0)) >= SLIDE_SECONDS)


class SlidingSessionMiddleware(SessionMiddleware):
    """Django's session middleware with the idle timeout slid forward at most once a minute."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.is_empty():
            now = int(time.time())
            if _slide_due(session, now):
                session[SLID_KEY] = now
        return super().process_response(request, response)


def save_now(session: SessionBase) -> None:
    """Save ``session`` at once, inside the caller's transaction, so that the response does not
    write it again in a transaction of its own (a client's submission commits once)."""
    session[SLID_KEY] = int(time.time())
    session.save()
    session.modified = False
