"""Security from the first line: hashing, lockout, CSRF, headers, sessions, encryption at rest,
the append-only audit trail, no PHI in logs, and oversized posts."""

from __future__ import annotations

import logging
import time

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.sessions.models import Session as DjangoSession
from django.db import connection
from django.test import Client as HttpClient
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alliance.web.accounts.models import User
from alliance.web.audit.models import AuditEvent, AuditImmutableError
from alliance.web.clinic.models import Client
from alliance.web.fields import fernet
from alliance.web.logfilters import RedactFilter
from alliance.web.sessions import SLID_KEY, SLIDE_SECONDS

from .web_fixtures import PASSWORD, World, logged_in, token_from


def login(http: HttpClient, username: str, password: str) -> int:
    response = http.post(reverse("accounts:login"), {"username": username, "password": password})
    return int(response.status_code)


def test_passwords_are_hashed_with_argon2(world: World) -> None:
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = User.objects.get(username="couns_a")
    assert user.password.startswith("argon2$")
    user.set_password("another-Strong-pass-1")
    assert user.password.startswith("argon2$")


def test_login_works_and_is_audited(world: World) -> None:
    http = HttpClient()
    assert login(http, "couns_a", PASSWORD) == 302
    assert http.get(reverse("dashboard:caseload")).status_code == 200
    assert AuditEvent.objects.filter(action="login", outcome="ok", username="couns_a").exists()


def test_repeated_failures_lock_the_account(world: World) -> None:
    http = HttpClient()
    for _ in range(settings.ALLIANCE_LOGIN_MAX_FAILURES):
        assert login(http, "couns_a", "wrong-password") == 200
    response = http.post(reverse("accounts:login"), {"username": "couns_a", "password": PASSWORD})
    assert b"locked" in response.content
    assert http.get(reverse("dashboard:caseload")).status_code == 302  # still logged out
    assert AuditEvent.objects.filter(action="login", outcome="failed").count() == 5
    assert AuditEvent.objects.filter(action="login", outcome="locked").exists()
    assert login(HttpClient(), "couns_b", PASSWORD) == 302  # other accounts unaffected


def test_csrf_is_enforced_on_staff_and_client_forms(world: World) -> None:
    anonymous = HttpClient(enforce_csrf_checks=True)
    denied = anonymous.post(reverse("accounts:login"), {"username": "x", "password": "y"})
    assert denied.status_code == 403
    staff = logged_in(world.counselor, enforce_csrf_checks=True)
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    assert staff.post(reverse("feedback:create_link", args=[session.pk])).status_code == 403
    page = staff.get(reverse("dashboard:sessions", args=[world.own.pk]))
    assert b"csrfmiddlewaretoken" in page.content
    staff_ok = logged_in(world.counselor)
    token = token_from(
        staff_ok.post(reverse("feedback:create_link", args=[session.pk])).content.decode()
    )
    phone = HttpClient(enforce_csrf_checks=True)
    assert phone.post(reverse("feedback:step", args=[token, 1]), {}).status_code == 403


def test_security_headers(world: World) -> None:
    response = logged_in(world.counselor).get(reverse("dashboard:caseload"))
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in response.headers["Cache-Control"]
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


@override_settings(SECURE_HSTS_SECONDS=31536000, SESSION_COOKIE_SECURE=True)
def test_hsts_and_secure_cookies_on_https(world: World) -> None:
    http = HttpClient()
    response = http.post(
        reverse("accounts:login"), {"username": "couns_a", "password": PASSWORD}, secure=True
    )
    assert response.cookies[settings.SESSION_COOKIE_NAME]["secure"]
    page = http.get(reverse("dashboard:caseload"), secure=True)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_sessions_time_out_when_idle(world: World) -> None:
    assert settings.SESSION_COOKIE_AGE <= 3600
    http = logged_in(world.counselor)
    session = http.session
    session.set_expiry(-1)
    session.save()
    assert http.get(reverse("dashboard:caseload")).status_code == 302


def test_identifying_fields_are_encrypted_at_rest(world: World) -> None:
    Client.objects.filter(pk=world.own.pk).update(external_id="NHS-123-456")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT display_name, external_id FROM clinic_client WHERE id = %s", [world.own.pk]
        )
        raw_name, raw_external = cursor.fetchone()
    assert "Alex" not in raw_name and "NHS" not in raw_external
    assert fernet().decrypt(raw_name.encode()).decode() == "Alex Own"
    assert Client.objects.get(pk=world.own.pk).external_id == "NHS-123-456"


def test_field_keys_rotate(world: World) -> None:
    new_key = Fernet.generate_key().decode()
    with override_settings(ALLIANCE_FIELD_KEYS=[new_key, *settings.ALLIANCE_FIELD_KEYS]):
        assert Client.objects.get(pk=world.own.pk).display_name == "Alex Own"  # old key reads
        Client.objects.filter(pk=world.own.pk).update(display_name="Alex Rotated")
        with connection.cursor() as cursor:
            cursor.execute("SELECT display_name FROM clinic_client WHERE id = %s", [world.own.pk])
            raw = cursor.fetchone()[0]
        assert Fernet(new_key.encode()).decrypt(raw.encode()) == b"Alex Rotated"


def test_field_keys_are_not_the_secret_key() -> None:
    assert settings.SECRET_KEY not in settings.ALLIANCE_FIELD_KEYS


def test_audit_trail_is_append_only(world: World) -> None:
    logged_in(world.counselor).get(reverse("dashboard:client", args=[world.own.pk]))
    event = AuditEvent.objects.get(action="view")
    assert (event.username, event.object_type, event.object_id) == (
        "couns_a",
        "client",
        str(world.own.pk),
    )
    assert event.ip == "127.0.0.1"
    event.action = "tampered"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.update(action="x")
    assert AuditEvent.objects.get(pk=event.pk).action == "view"


def test_reads_and_writes_of_client_data_are_audited(world: World) -> None:
    http = logged_in(world.counselor)
    http.get(reverse("dashboard:client", args=[world.own.pk]))
    http.post(reverse("clinic:client_new"), {"display_name": "Eve New"})
    http.post(
        reverse("clinic:session_new", args=[world.own.pk]),
        {"date": "2026-02-01", "status": "attended"},
    )
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"view", "client_create", "session_create"} <= actions
    for event in AuditEvent.objects.all():
        assert "Eve" not in f"{event.object_id} {event.object_type} {event.route}"


def test_no_phi_or_tokens_in_application_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http = logged_in(world.counselor)
    http.post(reverse("clinic:client_new"), {"display_name": "Zelda Quintessa"})
    client = Client.objects.order_by("-pk").first()
    assert client is not None
    http.get(reverse("dashboard:client", args=[client.pk]))
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    token = token_from(
        http.post(reverse("feedback:create_link", args=[session.pk])).content.decode()
    )
    HttpClient().post(reverse("feedback:step", args=[token, 1]), {"phq9_1": "9"})
    HttpClient().get(f"/f/{token}/77/")
    logging.getLogger("alliance.web").warning("Not Found: /f/%s/77/", token)
    text = caplog.text + " ".join(str(r.msg) for r in caplog.records)
    assert "Zelda" not in text and "Quintessa" not in text
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactFilter) for f in h.filters)
    ]
    assert handlers, "the configured log handler must redact tokens"
    formatted = " ".join(handlers[0].format(r) for r in caplog.records if handlers[0].filter(r))
    assert "/f/[token]" in formatted and token not in formatted


def test_oversized_and_overfull_posts_get_400_not_500(world: World) -> None:
    http = logged_in(world.counselor)
    big = http.post(reverse("clinic:client_new"), {"display_name": "x" * 200_000})
    assert big.status_code == 400
    many = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 10)}
    assert http.post(reverse("clinic:client_new"), many).status_code == 400
    assert Client.objects.count() == 4


def test_long_names_are_refused_by_the_form(world: World) -> None:
    http = logged_in(world.counselor)
    response = http.post(reverse("clinic:client_new"), {"display_name": "y" * 101})
    assert response.status_code == 200 and b"at most 100" in response.content
    assert Client.objects.count() == 4


def test_django_admin_login_shares_the_lockout(world: World) -> None:
    world.admin.is_staff = True
    world.admin.save()
    http = HttpClient()
    for _ in range(settings.ALLIANCE_LOGIN_MAX_FAILURES):
        http.post("/admin/login/", {"username": "admin_a", "password": "wrong"})
    response = http.post("/admin/login/", {"username": "admin_a", "password": PASSWORD})
    assert response.status_code == 200 and b"locked" in response.content
    assert http.get("/admin/").status_code == 302


@override_settings(ALLIANCE_LOGIN_MAX_FAILURES_PER_IP=4)
def test_one_address_trying_many_names_is_locked_out(world: World) -> None:
    http = HttpClient()
    for name in ("a", "b", "c", "d"):
        assert login(http, name, "wrong-password") == 200
    response = http.post(reverse("accounts:login"), {"username": "couns_a", "password": PASSWORD})
    assert b"locked" in response.content


def test_csrf_failure_page_is_friendly(world: World) -> None:
    response = HttpClient(enforce_csrf_checks=True).post(reverse("accounts:login"), {})
    assert response.status_code == 403 and b"Please reload the page" in response.content


def test_page_views_slide_the_idle_timeout_without_a_write_each(world: World) -> None:
    """The session row is written when it changed or was last slid a minute ago or more, not on
    every page view (a write transaction for a read)."""
    http = logged_in(world.counselor)
    key = http.session.session_key
    caseload = reverse("dashboard:caseload")

    def expires() -> object:
        return DjangoSession.objects.get(session_key=key).expire_date

    http.get(caseload)
    slid = expires()
    with CaptureQueriesContext(connection) as queries:
        assert http.get(caseload).status_code == 200
    assert not [q for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    assert expires() == slid
    session = http.session
    session[SLID_KEY] = int(time.time()) - SLIDE_SECONDS
    session.save()
    before = expires()
    assert http.get(caseload).status_code == 200
    assert expires() > before  # slid forward again: the idle timeout counts from this view
