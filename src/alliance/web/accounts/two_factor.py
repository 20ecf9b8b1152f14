"""Two-factor sign-in: TOTP (RFC 6238, via pyotp) with single-use recovery codes.

Secrets are encrypted at rest (``TotpDevice.secret``); recovery codes are stored as SHA-256
hashes (80 random bits each, so a fast hash is enough). Every check that consumes a code is one
conditional UPDATE, so two requests can never both spend the same code or the same time step.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from alliance.web.accounts.models import Clinic, RecoveryCode, TotpDevice, User

RECOVERY_CODES = 10
#: Set in the session when this login passed the second step (or enrolled in it).
VERIFIED_KEY = "two_factor_verified"
#: Set in the session between a correct password and a correct code.
PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 300
#: Set in the session after a login with a recovery code, so the security page says so once.
RECOVERY_USED_KEY = "two_factor_recovery_used"
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (i/l/1, o/0)


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the QR code and the same secret as text."""

    device: TotpDevice
    qr_data_uri: str
    secret_groups: str


def required_for(user: User) -> bool:
    """Whether the user must use a second factor: always for platform operators (they reach
    every clinic through Django admin), else as the user's clinic requires for their role."""
    if user.is_platform_operator:
        return True
    if user.clinic_id is None:
        return False
    roles = Clinic.objects.filter(pk=user.clinic_id).values_list("two_factor_roles", flat=True)
    return any(user.role in value.split(",") for value in roles)


def is_enrolled(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def start_enrolment(user: User) -> Enrolment:
    """A fresh secret waiting for its first code; any earlier unconfirmed one is dropped."""
    TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).delete()
    device = TotpDevice.objects.create(user=user, secret=pyotp.random_base32(32))
    return describe(device)


def pending_device(user: User) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).last()


def describe(device: TotpDevice) -> Enrolment:
    uri = pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.get_username(), issuer_name=settings.ALLIANCE_TWO_FACTOR_ISSUER
    )
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#1f2933", light="#ffffff")
    groups = " ".join(device.secret[i : i + 4] for i in range(0, len(device.secret), 4))
    return Enrolment(device=device, qr_data_uri=qr, secret_groups=groups)


def confirm_enrolment(device: TotpDevice, code: str) -> list[str] | None:
    """Activate ``device`` if ``code`` is right: it replaces any earlier device, and ten new
    recovery codes replace the old ones. Returns the codes (shown once) or None."""
    if not _spend_totp(device, code):
        return None
    with transaction.atomic():
        TotpDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
        TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
        return new_recovery_codes(device.user)


def verify(user: User, code: str) -> str | None:
    """Spend a code for ``user``: "totp" or "recovery" for which kind was accepted, else None."""
    code = "".join(code.split()).lower()
    if code.isdigit():
        device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
        return "totp" if device is not None and _spend_totp(device, code) else None
    return "recovery" if _spend_recovery(user, code) else None


def _spend_totp(device: TotpDevice, code: str) -> bool:
    """A 6-digit code of this time step or a neighbouring one (clock drift), at most once."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(device.secret)
    now = timezone.now()
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            step = totp.timecode(now) + offset
            fresh = Q(last_step__isnull=True) | Q(last_step__lt=step)
            return TotpDevice.objects.filter(fresh, pk=device.pk).update(last_step=step) == 1
    return False


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh recovery codes replace the user's old ones; only their hashes are kept."""
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=_hash(code)) for code in codes
        )
    return codes


def unused_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _hash(code: str) -> str:
    normalized = code.replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(normalized.encode("ascii", "replace")).hexdigest()


def _spend_recovery(user: User, code: str) -> bool:
    unused = RecoveryCode.objects.filter(user=user, code_hash=_hash(code), used_at__isnull=True)
    return unused.update(used_at=timezone.now()) >= 1


def remove(user: User) -> None:
    """Turn two-factor off for ``user``: devices and recovery codes are deleted."""
    with transaction.atomic():
        TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()


def mark_verified(request: HttpRequest) -> None:
    request.session[VERIFIED_KEY] = True


def session_verified(request: HttpRequest) -> bool:
    return bool(request.session.get(VERIFIED_KEY))
