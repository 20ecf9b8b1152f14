"""Make docs/images/invitation-email.png: the invitation email a client receives, as a phone
shows it.

The email is the app's own (``messaging.services.compose``) for a demo client of a demo clinic,
built in a throw-away SQLite database; Chromium renders its HTML part at 390 px (twice the pixels, for sharp text) and the
screenshot is reduced to a small palette PNG with Pillow when it is installed.

    .venv/bin/python scripts/invitation_email_image.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images" / "invitation-email.png"
CHROMIUM = "/usr/bin/chromium"
WIDTH = 390


def invitation_html() -> str:
    """The HTML part of a demo invitation, composed by the app (no real client)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from django.utils import timezone

    from alliance.web.accounts.models import Clinic, Role, User
    from alliance.web.clinic.services import create_client
    from alliance.web.messaging.models import Contact
    from alliance.web.messaging.services import absolute, compose

    clinic = Clinic.objects.create(name="Riverside Practice", two_factor_roles="")
    counselor = User.objects.create(username="demo", role=Role.COUNSELOR, clinic=clinic)
    client = create_client(clinic, counselor, "Demo Client")
    contact = Contact.objects.create(client=client, email="client@example.org", email_consent=True)
    url = absolute("/f/3q7ZkXb2mN8pR4tV6wY9aC1eG5hJ0kL/")
    return compose(contact, url, timezone.now() + timedelta(days=7)).html


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="invitation-image-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "alliance.web.settings",
            "ALLIANCE_DATA_DIR": str(home),
            "ALLIANCE_WEB_DIR": str(home),
            "DATABASE_URL": f"sqlite:///{home / 'image.sqlite3'}",
            "ALLIANCE_BASE_URL": "https://clinic.example.org",
        }
    )
    html = invitation_html()
    from playwright.sync_api import sync_playwright

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 100}, device_scale_factor=2)
        page.set_content(html)
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()
    try:
        from PIL import Image
    except ImportError:
        print("Pillow not installed: the screenshot is left as Chromium wrote it", file=sys.stderr)
    else:
        with Image.open(OUT) as shot:
            small = shot.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        small.save(OUT, optimize=True)
    print(f"{OUT.relative_to(REPO)}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
