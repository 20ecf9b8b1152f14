"""Two-factor sign-in: enrolment confirmed by a code, the code step after the password (TOTP or
a single-use recovery code), replay and rate limits, the clinic policy by role, the admin's
reset within their own clinic, the /admin/ login path, the tablet lock, and the audit trail."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from alliance.web.accounts.models import RecoveryCode, TotpDevice, User
from alliance.web.accounts.two_factor import is_enrolled
from alliance.web.audit.models import AuditEvent

from .web_fixtures import PASSWORD, World

LOGIN = reverse("accounts:login")
CODE = reverse("accounts:login_code")
ENROL = reverse("accounts:two_factor_enrol")
SECURITY = reverse("accounts:two_factor")
POLICY = reverse("accounts:security_policy")
CASELOAD = reverse("dashboard:caseload")


def fresh_step() -> None:
    """Stay clear of a 30-second boundary, so a code computed here is still current (or the
    neighbour the server accepts) when the server checks it."""
    if time.time() % 30 > 26:
        time.sleep(30 - time.time() % 30 + 0.2)


def code(secret: str, offset: int = 0) -> str:
    """The code for this time step (or a neighbouring one, as a phone whose clock is off)."""
    return pyotp.TOTP(secret).at(time.time(), counter_offset=offset)


def password_step(http: HttpClient, username: str, path: str = LOGIN) -> str:
    response = http.post(path, {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:2000]
    return str(response.url)


def enrol(http: HttpClient) -> tuple[str, list[str]]:
    """Enrol the signed-in user with the code of the previous step, leaving the current and the
    next step for logins. Returns the secret and the recovery codes."""
    page = http.get(ENROL).content.decode()
    match = re.search(r"<code[^>]*data-secret>([A-Z2-7 ]+)</code>", page)
    assert match, page
    secret = match.group(1).replace(" ", "")
    fresh_step()
    done = http.post(ENROL, {"code": code(secret, -1)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.content.decode())
    return secret, codes


def enrolled(user: User) -> tuple[str, list[str]]:
    http = HttpClient()
    password_step(http, user.username)
    return enrol(http)


def sign_in(user: User, answer: str) -> tuple[HttpClient, int, str]:
    """Password, then ``answer`` at the code step: the client, the status and where it leads."""
    http = HttpClient()
    assert password_step(http, user.username) == CODE
    response = http.post(CODE, {"code": answer})
    return http, response.status_code, str(getattr(response, "url", ""))


@pytest.fixture
def required(world: World) -> World:
    """The clinic's default policy: admins and supervisors must use two-factor."""
    for clinic in (world.clinic, world.other_clinic):
        clinic.two_factor_roles = "admin,supervisor"
        clinic.save()
    return world


def test_enrolment_shows_a_qr_code_and_the_key_and_needs_a_code(world: World) -> None:
    http = HttpClient()
    password_step(http, "couns_a")
    page = http.get(ENROL).content.decode()
    assert 'src="data:image/svg+xml' in page and "data-secret" in page
    secret = re.search(r"data-secret>([A-Z2-7 ]+)<", page).group(1).replace(" ", "")  # type: ignore[union-attr]
    assert http.get(ENROL).content.decode().count(secret[:4]) >= 1  # a reload keeps the same key
    wrong = http.post(ENROL, {"code": "000000" if code(secret) != "000000" else "111111"})
    assert wrong.status_code == 400 and b"does not match" in wrong.content
    assert not is_enrolled(world.counselor)
    fresh_step()
    done = http.post(ENROL, {"code": code(secret)})
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert is_enrolled(world.counselor)
    assert AuditEvent.objects.filter(action="two_factor_enrol", outcome="ok").count() == 1
    assert AuditEvent.objects.filter(action="two_factor_enrol", outcome="failed").count() == 1


def test_secrets_are_encrypted_and_recovery_codes_hashed_at_rest(world: World) -> None:
    secret, codes = enrolled(world.counselor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_totpdevice")
        (stored,) = cursor.fetchone()
        cursor.execute("SELECT code_hash FROM accounts_recoverycode")
        hashes = [row[0] for row in cursor.fetchall()]
    assert secret not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert len(hashes) == 10 and not {c.replace("-", "") for c in codes} & set(hashes)


def test_login_asks_for_the_code_after_the_password(world: World) -> None:
    secret, _ = enrolled(world.counselor)
    http = HttpClient()
    assert password_step(http, "couns_a") == CODE
    assert http.get(CASELOAD).status_code == 302  # not signed in yet
    response = http.post(CODE, {"code": code(secret)})
    assert response.status_code == 302 and response.url == CASELOAD
    assert http.get(CASELOAD).status_code == 200
    ok = AuditEvent.objects.filter(action="login", outcome="ok", username="couns_a")
    assert ok.exists() and AuditEvent.objects.filter(action="login_password").exists()


def test_the_code_step_keeps_next(world: World) -> None:
    secret, _ = enrolled(world.counselor)
    http = HttpClient()
    target = reverse("dashboard:client", args=[world.own.pk])
    response = http.post(f"{LOGIN}?next={target}", {"username": "couns_a", "password": PASSWORD})
    assert response.url == CODE
    assert http.post(CODE, {"code": code(secret)}).url == target


def test_a_wrong_code_is_refused_and_audited(world: World) -> None:
    secret, _ = enrolled(world.counselor)
    wrong = "123456" if code(secret) != "123456" else "654321"
    http, status, _ = sign_in(world.counselor, wrong)
    assert status == 400 and http.get(CASELOAD).status_code == 302
    event = AuditEvent.objects.get(action="login_code", outcome="failed")
    assert event.object_id == str(world.counselor.pk) and event.clinic_id_ref == world.clinic.pk


def test_a_code_cannot_be_used_twice(world: World) -> None:
    secret, _ = enrolled(world.counselor)
    now = code(secret)
    _, first, _ = sign_in(world.counselor, now)
    _, again, _ = sign_in(world.counselor, now)
    assert (first, again) == (302, 400)
    # nor can the code of a step before the last one used
    _, older, _ = sign_in(world.counselor, code(secret, -1))
    assert older == 400


def test_a_recovery_code_signs_in_once(world: World) -> None:
    _, codes = enrolled(world.counselor)
    http, status, url = sign_in(world.counselor, codes[0].upper())  # case and dashes do not matter
    assert status == 302 and url == SECURITY
    page = http.get(SECURITY).content.decode()
    assert "You signed in with a recovery code. 9 unused codes left" in page
    _, again, _ = sign_in(world.counselor, codes[0])
    assert again == 400
    assert AuditEvent.objects.filter(action="recovery_code_used").count() == 1
    assert RecoveryCode.objects.filter(used_at__isnull=True).count() == 9


def test_code_attempts_are_rate_limited(world: World) -> None:
    secret, _ = enrolled(world.counselor)
    wrong = "000000" if code(secret) != "000000" else "111111"
    http = HttpClient()
    password_step(http, "couns_a")
    for _ in range(settings.ALLIANCE_LOGIN_MAX_FAILURES):
        assert http.post(CODE, {"code": wrong}).status_code == 400
    locked = http.post(CODE, {"code": code(secret)})
    assert locked.status_code == 400 and b"Too many failed attempts" in locked.content
    assert http.get(CASELOAD).status_code == 302
    assert AuditEvent.objects.filter(action="login_code", outcome="locked").count() == 1


def test_the_code_step_needs_a_fresh_password_step(world: World) -> None:
    enrolled(world.counselor)
    response = HttpClient().post(CODE, {"code": "123456"})
    assert response.status_code == 400 and b"Log in again" in response.content


def test_policy_forces_enrolment_for_required_roles_only(required: World) -> None:
    supervisor = HttpClient()
    password_step(supervisor, "super_north")
    forced = supervisor.get(CASELOAD)
    assert forced.status_code == 302 and forced.url == f"{ENROL}?next=%2F"
    assert supervisor.get(reverse("dashboard:team")).url.startswith(ENROL)
    assert supervisor.get("/admin/").url.startswith(ENROL)
    enrol(supervisor)
    assert supervisor.get(CASELOAD).status_code == 200
    counselor = HttpClient()
    password_step(counselor, "couns_a")
    assert counselor.get(CASELOAD).status_code == 200  # counselors are not required by default


def test_a_session_of_an_enrolled_user_without_the_code_step_is_logged_out(world: World) -> None:
    """Any way in other than the code step (here force_login) reaches no staff page."""
    enrolled(world.counselor)
    http = HttpClient()
    http.force_login(world.counselor)
    response = http.get(CASELOAD)
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert http.get(CASELOAD).url.startswith(LOGIN)


def test_only_clinic_admins_edit_the_policy(required: World) -> None:
    counselor = HttpClient()
    password_step(counselor, "couns_a")
    assert counselor.get(POLICY).status_code == 403
    assert counselor.post(POLICY, {"roles": []}).status_code == 403
    assert AuditEvent.objects.filter(action="two_factor_policy", outcome="denied").count() == 2
    admin = HttpClient()
    password_step(admin, "admin_a")
    enrol(admin)
    page = admin.get(POLICY).content.decode()
    assert "couns_a" in page and "couns_x" not in page  # own clinic's staff only
    saved = admin.post(POLICY, {"roles": ["admin", "counselor"]})
    assert saved.status_code == 200 and b"Saved." in saved.content
    required.clinic.refresh_from_db()
    assert required.clinic.two_factor_roles == "admin,counselor"
    assert AuditEvent.objects.filter(action="two_factor_policy", outcome="changed").count() == 1
    assert counselor.get(CASELOAD).url.startswith(ENROL)  # now counselors must enrol too
    bad = admin.post(POLICY, {"roles": ["platform"]})
    assert bad.status_code == 400
    required.clinic.refresh_from_db()
    assert required.clinic.two_factor_roles == "admin,counselor"


def test_users_turn_it_off_only_with_their_password_and_when_policy_allows(
    required: World,
) -> None:
    enrolled(required.counselor)
    secret, _ = enrolled(required.supervisor)
    counselor, _, _ = sign_in(required.counselor, code(pyotp_secret(required.counselor)))
    wrong = counselor.post(SECURITY, {"action": "disable", "password": "not-it"})
    assert wrong.status_code == 400 and is_enrolled(required.counselor)
    assert counselor.post(SECURITY, {"action": "disable", "password": PASSWORD}).status_code == 302
    assert not is_enrolled(required.counselor)
    assert AuditEvent.objects.filter(action="two_factor_disable").count() == 1
    supervisor, _, _ = sign_in(required.supervisor, code(secret))
    refused = supervisor.post(SECURITY, {"action": "disable", "password": PASSWORD})
    assert refused.status_code == 400 and is_enrolled(required.supervisor)


def pyotp_secret(user: User) -> str:
    device = TotpDevice.objects.get(user=user, confirmed_at__isnull=False)
    return device.secret


def test_new_recovery_codes_replace_the_old_ones(world: World) -> None:
    secret, old = enrolled(world.counselor)
    http, _, _ = sign_in(world.counselor, code(secret))
    page = http.post(SECURITY, {"action": "codes", "password": PASSWORD}).content.decode()
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page)
    assert len(new) == 10 and not set(new) & set(old)
    assert sign_in(world.counselor, old[1])[1] == 400
    assert sign_in(world.counselor, new[1])[1] == 302
    assert AuditEvent.objects.filter(action="two_factor_codes").count() == 1


def test_a_new_phone_replaces_the_old_one_after_a_password_recheck(world: World) -> None:
    old, _ = enrolled(world.counselor)
    http, _, _ = sign_in(world.counselor, code(old))
    assert http.get(ENROL).url == SECURITY  # enrolled: re-enrolment starts on the security page
    assert http.post(SECURITY, {"action": "reenrol", "password": PASSWORD}).url == ENROL
    new, _ = enrol(http)
    assert new != old
    assert sign_in(world.counselor, code(old, 1))[1] == 400
    assert sign_in(world.counselor, code(new, 1))[1] == 302


def test_a_clinic_admin_resets_two_factor_in_their_own_clinic_only(required: World) -> None:
    enrolled(required.supervisor)
    enrolled(required.foreign_counselor)
    admin = HttpClient()
    password_step(admin, "admin_a")
    enrol(admin)
    url = reverse("accounts:two_factor_reset", args=[required.supervisor.pk])
    assert b"Reset two-factor for super_north" in admin.get(url).content
    done = admin.post(url)
    assert done.status_code == 302 and done.url == f"{POLICY}?reset={required.supervisor.pk}"
    assert not is_enrolled(required.supervisor)
    event = AuditEvent.objects.get(action="two_factor_reset", outcome="ok")
    assert event.object_id == str(required.supervisor.pk) and event.username == "admin_a"
    foreign = reverse("accounts:two_factor_reset", args=[required.foreign_counselor.pk])
    assert admin.post(foreign).status_code == 404
    assert is_enrolled(required.foreign_counselor)
    assert AuditEvent.objects.filter(action="two_factor_reset", outcome="denied").count() == 1
    # the supervisor signs in with the password alone, then must enrol again
    supervisor = HttpClient()
    assert password_step(supervisor, "super_north") == CASELOAD
    assert supervisor.get(CASELOAD).url.startswith(ENROL)


def test_only_clinic_admins_reset_two_factor(world: World) -> None:
    enrolled(world.counselor)
    supervisor = HttpClient()
    password_step(supervisor, "super_north")
    url = reverse("accounts:two_factor_reset", args=[world.counselor.pk])
    assert supervisor.post(url).status_code == 403
    assert is_enrolled(world.counselor)


def test_platform_operators_must_enrol_before_any_page(db: None) -> None:
    User.objects.create_superuser("ops", password=PASSWORD)
    http = HttpClient()
    assert http.post(LOGIN, {"username": "ops", "password": PASSWORD}).status_code == 302
    assert http.get("/admin/").url.startswith(ENROL)
    assert http.get(CASELOAD).url.startswith(ENROL)


def test_admin_login_goes_through_the_same_login_and_code(required: World) -> None:
    User.objects.create_superuser("admin_a_ops", password=PASSWORD)  # a platform operator
    first = HttpClient()
    password_step(first, "admin_a_ops")
    secret, _ = enrol(first)
    http = HttpClient()
    assert http.get("/admin/").url == "/admin/login/?next=/admin/"
    assert b'name="password"' in http.get("/admin/login/?next=/admin/").content
    response = http.post(
        "/admin/login/?next=/admin/",
        {"username": "admin_a_ops", "password": PASSWORD, "next": "/admin/"},
    )
    assert response.url == CODE
    assert http.get("/admin/").status_code == 302  # the password alone does not open admin
    assert http.post(CODE, {"code": code(secret)}).url == "/admin/"
    assert http.get("/admin/").status_code == 200
    assert http.get("/admin/login/").url == "/admin/"


def test_the_tablet_lock_still_holds_for_a_two_factor_session(world: World) -> None:
    secret, _ = enrolled(world.counselor)
    http, _, _ = sign_in(world.counselor, code(secret))
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    assert http.post(reverse("feedback:tablet", args=[session.pk])).status_code == 302
    locked = reverse("feedback:locked")
    assert http.get(CASELOAD).url == locked
    assert http.get(SECURITY).url == locked
    assert http.get(POLICY).url == locked
    assert http.post(locked, {"password": PASSWORD}).status_code == 302
    assert http.get(CASELOAD).status_code == 200


def test_the_tablet_lock_pages_need_no_second_factor() -> None:
    """A locked tablet's pages (and the client's) open before the second step, or the tablet
    lock and the two-factor redirect would send each other round in a loop."""
    from alliance.web.accounts.middleware import OPEN_PATHS
    from alliance.web.middleware import TABLET_ALLOWED

    assert set(TABLET_ALLOWED) <= set(OPEN_PATHS)
