"""The research model pack in the web app: off by default (the worker never opens its files,
no page shows an empathy value and each says why), switched only by a clinic admin who accepts
its terms, every change audited, and labelled with its terms when on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from alliance.web.audit.models import AuditEvent
from alliance.web.transcripts.models import ClinicTranscripts, Transcript, research_pack_on

from .test_transcript_packs import research_files_opened
from .test_web_transcripts import run_worker, upload
from .web_fixtures import World, logged_in

pytestmark = pytest.mark.django_db(transaction=True)
SETTINGS_URL = "manage:transcript_models"
EMPATHY = ("emotional_reactions", "interpretations", "explorations")


def _switch(world: World, on: bool, accept: bool = True, user: Any = None) -> Any:
    data = {"research_pack": "on"} if on else {}
    if accept:
        data["accept_terms"] = "on"
    return logged_in(user or world.admin).post(reverse(SETTINGS_URL), data)


def _analysed(world: World, capture: Any) -> tuple[Transcript, dict[str, Any], str]:
    upload(world, "zoom.vtt", capture)
    run_worker()
    transcript = Transcript.objects.latest("pk")
    assert transcript.status == "done", transcript.error
    page = logged_in(world.counselor).get(reverse("transcripts:detail", args=[transcript.pk]))
    return transcript, json.loads(str(transcript.report)), page.content.decode()


def test_off_by_default_worker_opens_no_research_file_and_pages_say_why(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    assert not research_pack_on(world.clinic.pk)
    with research_files_opened() as opened:
        transcript, report, page = _analysed(world, django_capture_on_commit_callbacks)
    assert opened == []
    assert report["research"] is False
    assert not any(set(EMPATHY) & set(u) for u in report["utterances"])
    assert not any(k.startswith("empathy_") for k in transcript.metrics)
    assert "ER/IP/EX" not in page and "Empathy:" not in page
    assert "research pack" in page and "Transcript models" in page


@pytest.mark.parametrize("role", ["counselor", "supervisor"])
def test_only_a_clinic_admin_may_switch_it_and_refusals_are_audited(
    world: World, role: str
) -> None:
    user = world.user(role)
    assert logged_in(user).get(reverse(SETTINGS_URL)).status_code == 403
    assert _switch(world, True, user=user).status_code == 403
    assert not research_pack_on(world.clinic.pk)
    denied = AuditEvent.objects.filter(user=user, outcome="denied")
    assert denied.filter(action="research_pack_enable").exists()


def test_turning_it_on_needs_the_terms_accepted(world: World) -> None:
    page = logged_in(world.admin).get(reverse(SETTINGS_URL)).content.decode()
    assert "NON-COMMERCIAL RESEARCH ONLY" in page and "Any use, commercial included" in page
    refused = _switch(world, True, accept=False)
    assert refused.status_code == 200 and "accept its terms" in refused.content.decode()
    assert not research_pack_on(world.clinic.pk)
    assert not AuditEvent.objects.filter(action="research_pack_enable").exists()


def test_on_then_off_is_audited_labelled_and_hides_earlier_empathy(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    assert _switch(world, True).status_code == 302
    assert research_pack_on(world.clinic.pk) and not research_pack_on(world.other_clinic.pk)
    event = AuditEvent.objects.get(action="research_pack_enable")
    assert event.user == world.admin and event.object_type == "clinictranscripts"
    transcript, report, page = _analysed(world, django_capture_on_commit_callbacks)
    counselor = [u for u in report["utterances"] if u["role"] == "counselor"]
    assert report["research"] is True and all(u["explorations"] for u in counselor)
    assert "ER/IP/EX (research pack)" in page and "non-commercial research only" in page
    assert _switch(world, False).status_code == 302
    assert AuditEvent.objects.filter(action="research_pack_disable", user=world.admin).exists()
    assert ClinicTranscripts.objects.get(clinic=world.clinic).research_pack is False
    url = reverse("transcripts:detail", args=[transcript.pk])
    page = logged_in(world.counselor).get(url).content.decode()
    assert "ER/IP/EX" not in page and "Empathy:" not in page and "is off" in page


def test_a_clinic_admin_sets_the_transcript_and_recording_policies(world: World) -> None:
    """The recording upload limit and audio deletion are the clinic's to set, in the app."""
    url = reverse("manage:transcript_policy")
    policy = {"transcript_deletion": "keep_metrics", "recording_max_mb": "80"}
    assert logged_in(world.admin).post(url, policy).status_code == 302
    world.clinic.refresh_from_db()
    assert (world.clinic.recording_max_mb, world.clinic.delete_recordings) == (80, False)
    assert AuditEvent.objects.filter(action="transcript_policy_change", outcome="ok").exists()
    for bad in ("0", "501", "lots"):
        refused = logged_in(world.admin).post(url, {**policy, "recording_max_mb": bad})
        assert refused.status_code == 400, bad
    world.clinic.refresh_from_db()
    assert world.clinic.recording_max_mb == 80
    counselor = logged_in(world.counselor).post(url, {**policy, "recording_max_mb": "400"})
    assert counselor.status_code == 403
    world.clinic.refresh_from_db()
    assert world.clinic.recording_max_mb == 80
    assert AuditEvent.objects.filter(action="transcript_policy_change", outcome="denied").exists()
