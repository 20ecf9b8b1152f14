"""Guards that need no database: templates load nothing from outside and carry no inline code
(the CSP forbids it), and key settings fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from alliance.web.keys import field_keys

WEB = Path(__file__).resolve().parents[1] / "src" / "alliance" / "web"
TEMPLATES = sorted(WEB.glob("**/templates/**/*.html"))
#: HTML email bodies, never served as pages: mail programs drop style sheets, so these may style
#: inline (the pages' Content-Security-Policy does not apply to them); all else holds.
EMAIL_BODIES = {"messaging/templates/messaging/invitation.html"}


def test_there_are_templates() -> None:
    assert len(TEMPLATES) > 15
    assert {t.relative_to(WEB).as_posix() for t in TEMPLATES} >= EMAIL_BODIES


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_inline_code_or_external_assets(template: Path) -> None:
    text = template.read_text("utf-8")
    assert "<script" not in text
    if template.relative_to(WEB).as_posix() not in EMAIL_BODIES:
        assert " style=" not in text and "<style" not in text
    assert not re.search(r"<[^>]*\son[a-z]+=", text), "no inline event handlers"
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "no CDN or external assets"
    assert "javascript:" not in text


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_ask_the_user_for_role_properties(template: Path) -> None:
    """``user.is_clinic_admin`` and friends, never ``user.role == 'admin'``: one place says
    what a role means."""
    assert not re.search(r"\buser\.role\b", template.read_text("utf-8"))


def test_the_tablet_lock_session_key_is_spelled_once() -> None:
    spelled = [p for p in WEB.glob("**/*.py") if "tablet_lock" in p.read_text("utf-8")]
    assert [p.relative_to(WEB).as_posix() for p in spelled] == ["feedback/tablet.py"]


def test_bad_field_keys_fail_at_startup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLIANCE_FIELD_KEYS", "not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="Fernet keys"):
        field_keys(tmp_path)


def test_generated_field_key_is_private_and_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLIANCE_FIELD_KEYS")
    first = field_keys(tmp_path)
    assert field_keys(tmp_path) == first
    assert (tmp_path / "field_keys").stat().st_mode & 0o777 == 0o600
