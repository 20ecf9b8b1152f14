"""What one browser has done with a link, kept in that browser's own server-side session: the
answers it gave on earlier pages, and whether it sent them.

A link may be opened on two devices (the SMS app's browser and then Safari, or a family tablet).
Each browser answers on its own: a second one starts with empty pages and never sees, or
overwrites, the first one's answers; whichever submits first is recorded exactly as it answered,
and only that browser is told its answers were received.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase

from alliance.core.scoring import Answer
from alliance.web.feedback.models import FeedbackLink

KEY = "feedback_drafts"
SENT_KEY = "feedback_sent"
SENT_REMEMBERED = 20  # a tablet passes through many clients' links in a day; keep the latest

#: instrument id -> that instrument's answers, keyed by item id
Draft = dict[str, dict[str, Answer]]


def get(session: SessionBase, link: FeedbackLink) -> Draft:
    drafts: dict[str, Draft] = session.get(KEY, {})
    return dict(drafts.get(str(link.pk), {}))


def keep(session: SessionBase, link: FeedbackLink, draft: Draft) -> None:
    session[KEY] = {**session.get(KEY, {}), str(link.pk): draft}


def drop(session: SessionBase, link: FeedbackLink) -> None:
    """Forget this link's answers in this browser (sent, or no longer wanted)."""
    drafts = dict(session.get(KEY, {}))
    if drafts.pop(str(link.pk), None) is None:
        return
    if drafts:
        session[KEY] = drafts
    else:
        del session[KEY]


def mark_sent(session: SessionBase, link: FeedbackLink) -> None:
    sent = [pk for pk in session.get(SENT_KEY, []) if pk != link.pk]
    session[SENT_KEY] = [*sent, link.pk][-SENT_REMEMBERED:]


def was_sent(session: SessionBase, link: FeedbackLink) -> bool:
    return link.pk in session.get(SENT_KEY, [])


def clear(session: SessionBase) -> None:
    """Forget every link (a tablet handed back to its counselor)."""
    session.pop(KEY, None)
    session.pop(SENT_KEY, None)
