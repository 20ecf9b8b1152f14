"""Where the web app keeps its data and keys.

Keys come from the environment in production. For the demo and development they are generated
once and kept in 0600 files in the data dir, so nothing secret ever lands in the repository.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from alliance.core.licensed_text import default_data_dir
from alliance.web.env import envstr


def web_data_dir() -> Path:
    """``$ALLIANCE_WEB_DIR``, else the site data dir."""
    explicit = envstr("ALLIANCE_WEB_DIR", "")
    path = Path(explicit) if explicit else default_data_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _private_file(path: Path, make: str) -> str:
    """Read ``path``, creating it with ``make`` and mode 0600 first if it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(make)
    return make


def secret_key(data_dir: Path) -> str:
    return envstr("ALLIANCE_SECRET_KEY", "") or _private_file(
        data_dir / "secret_key", secrets.token_urlsafe(50)
    )


def field_keys(data_dir: Path) -> list[str]:
    """Fernet keys for encrypted fields; the first encrypts, all decrypt (rotation)."""
    raw = envstr("ALLIANCE_FIELD_KEYS", "") or _private_file(
        data_dir / "field_keys", Fernet.generate_key().decode()
    )
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                "ALLIANCE_FIELD_KEYS must be Fernet keys (32 url-safe base64-encoded bytes), "
                "comma-separated"
            ) from None
    if not keys:
        raise ImproperlyConfigured("ALLIANCE_FIELD_KEYS is empty")
    return keys
