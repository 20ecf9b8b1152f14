"""One waiting (pending or expired) administration per session and instrument.

Links created at the same moment could each add a pending request for the same measure. Before
the constraint is added, such duplicates in an existing database are merged into the newest row
(pending if any of them was, due by the latest date); waiting rows hold no answers, so nothing a
client gave is lost.
"""

from typing import Any

from django.db import migrations, models
from django.db.models import Count

WAITING = ["pending", "expired"]


def merge_duplicate_requests(apps: Any, schema_editor: Any) -> None:
    administration = apps.get_model("clinic", "Administration")
    waiting = administration.objects.filter(status__in=WAITING)
    groups = (
        waiting.order_by()
        .values("session_id", "instrument")
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
    )
    for group in groups:
        rows = list(
            waiting.filter(session_id=group["session_id"], instrument=group["instrument"])
            .order_by("-created_at", "-id")
        )
        keep = rows[0]
        keep.due_by = max((r.due_by for r in rows if r.due_by is not None), default=None)
        keep.status = "pending" if any(r.status == "pending" for r in rows) else "expired"
        keep.save(update_fields=["due_by", "status"])
        administration.objects.filter(pk__in=[r.pk for r in rows[1:]]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_one_open_episode"),
    ]

    operations = [
        migrations.RunPython(merge_duplicate_requests, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="administration",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["pending", "expired"])),
                fields=("session", "instrument"),
                name="one_waiting_per_session_instrument",
            ),
        ),
    ]
