"""The background alert refresh on real ``alliance worker`` processes: a submission's queued
refresh is run by the database worker, and one whose worker died (its queue entry lost) is
redone by the next worker from the episode's marker."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from .test_web_transcript_worker import LEASE_SECONDS, Site, database_url, site

__all__ = ["database_url", "site"]  # the fixtures, shared with the transcript worker tests

SUBMIT = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from alliance.web.accounts.models import Clinic, Role, Team, User
from alliance.web.clinic.services import create_client, next_session
from alliance.web.feedback.services import create_link, link_instruments, submit
clinic = Clinic.objects.create(name="Refresh clinic")
team = Team.objects.create(clinic=clinic, name="Team")
user = User.objects.create(username="couns", role=Role.COUNSELOR, clinic=clinic, team=team)
episode = create_client(clinic, user, "Alex Refresh").current_episode()
link, _ = create_link(next_session(episode, status="attended"), user)
answers = {
    "phq9": {f"phq9_{i}": 2 for i in range(1, 10)},
    "gad7": {f"gad7_{i}": 1 for i in range(1, 8)},
    "alliance_check": {k: 1 for k in ("ac_heard", "ac_respect", "ac_trust", "ac_goals", "ac_tasks")},
}
given = {i.id: answers[i.id] for i in link_instruments(link)}
last = link_instruments(link)[-1]
submit(link, {k: v for k, v in given.items() if k != last.id}, last, given[last.id])
print(json.dumps(episode.pk))
"""


def _submit(site: Site) -> int:
    out = subprocess.run(
        [sys.executable, "-c", SUBMIT], env=site.env, timeout=300, capture_output=True
    )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return int(json.loads(out.stdout.decode().strip().splitlines()[-1]))


def _kinds(site: Site, episode_id: int) -> set[str]:
    rows = site.query(f"SELECT kind FROM alerts_alert WHERE episode_id = {episode_id}")
    return {str(r[0]) for r in rows}


def _marked(site: Site, episode_id: int) -> bool:
    sql = f"SELECT 1 FROM alerts_alertrefresh WHERE episode_id = {episode_id}"
    return bool(site.query(sql))


def _batch(site: Site) -> None:
    proc = site.start("worker", "--batch")
    assert proc.wait(timeout=300) == 0


def test_the_worker_refreshes_a_submitted_episode(site: Site) -> None:
    episode_id = _submit(site)
    assert _kinds(site, episode_id) == {"risk"} and _marked(site, episode_id)
    _batch(site)
    assert "alliance_rupture" in _kinds(site, episode_id)
    assert not _marked(site, episode_id)


def test_a_refresh_whose_worker_died_is_redone_by_the_next_worker(site: Site) -> None:
    episode_id = _submit(site)
    # The worker was killed mid-job: its entry is left RUNNING (never run again by the queue).
    site.query("UPDATE django_tasks_database_dbtaskresult SET status = 'RUNNING' RETURNING id")
    time.sleep(LEASE_SECONDS + 1)  # a wait, not a timing assertion: the marker's lease expires
    _batch(site)  # start-up recovery queues the marked episode again, and the batch runs it
    assert "alliance_rupture" in _kinds(site, episode_id)
    assert not _marked(site, episode_id)
